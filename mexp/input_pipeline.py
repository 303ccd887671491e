"""tfds.data_source -> task labels -> subject folds -> sharded, augmented batches."""

from __future__ import annotations

import collections
import dataclasses
from typing import Iterator

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from mexp import config as config_lib
from mexp import labels


class LeakageError(AssertionError):
  """A subject on both sides of a fold."""


@dataclasses.dataclass(frozen=True)
class Clips:
  """A dataset in memory, restricted to a task's classes."""
  raw_NxTxHxWxC: np.ndarray  # uint8
  saliency_NxTxHxWxS: np.ndarray  # uint8
  label_N: np.ndarray  # int32, index into classes
  subject_N: np.ndarray  # str, e.g. 'casme2/sub01'
  clip_N: np.ndarray  # str
  classes: tuple[str, ...]
  dropped: dict[str, int]  # emotion -> clips the task leaves out
  saliency_kind: str

  def take(self, index) -> "Clips":
    return dataclasses.replace(self, raw_NxTxHxWxC=self.raw_NxTxHxWxC[index],
                               saliency_NxTxHxWxS=self.saliency_NxTxHxWxS[index],
                               label_N=self.label_N[index], subject_N=self.subject_N[index],
                               clip_N=self.clip_N[index])


def load(data: config_lib.DataConfig) -> Clips:
  """Reads a built dataset with tfds.data_source and maps its emotions to `data.task`.

  Args:
    data: names the dataset, builder config, data_dir and task.

  Returns:
    The task's clips, and a count of every emotion the task drops.
  """
  import tensorflow_datasets as tfds
  import mexp.datasets  # noqa: F401  (registers the builders)

  name = f"{data.dataset}/{data.builder_config}"
  builder = tfds.builder(name, data_dir=config_lib.data_dir_of(data))
  names = builder.info.features["emotion"].names
  source = tfds.data_source(name, data_dir=config_lib.data_dir_of(data), split="train")
  keep, dropped = [], collections.Counter()
  classes = labels.task_classes(data.task)
  for i in range(len(source)):
    x = source[i]
    emotion = names[x["emotion"]]
    label = labels.task_label(data.task, emotion, data.dataset)
    if label is None:
      dropped[emotion] += 1
    else:
      keep.append((x, label))
  if not keep:
    raise ValueError(f"{name}: no clip belongs to task {data.task!r} ({dict(dropped)} dropped)")
  # Sort by subject then clip, so every split is independent of TFDS's storage order.
  keep.sort(key=lambda xl: (xl[0]["subject"], xl[0]["clip"]))
  return Clips(
      raw_NxTxHxWxC=np.stack([x["raw"] for x, _ in keep]),
      saliency_NxTxHxWxS=np.stack([x["saliency"] for x, _ in keep]),
      label_N=np.array([label for _, label in keep], np.int32),
      subject_N=np.array([x["subject"].decode() for x, _ in keep]),
      clip_N=np.array([x["clip"].decode() for x, _ in keep]),
      classes=classes, dropped=dict(sorted(dropped.items())),
      saliency_kind=builder.builder_config.spec.saliency)


@dataclasses.dataclass(frozen=True)
class Fold:
  name: str
  train: np.ndarray  # indices
  val: np.ndarray
  test: np.ndarray


def check_no_leakage(fold: Fold, subject_N: np.ndarray) -> None:
  """Raises LeakageError when any subject sits on two sides of the fold."""
  sides = {k: set(subject_N[getattr(fold, k)]) for k in ("train", "val", "test")}
  for a, b in (("train", "test"), ("train", "val"), ("val", "test")):
    if sides[a] & sides[b]:
      raise LeakageError(f"fold {fold.name}: subjects {sorted(sides[a] & sides[b])} are in both "
                         f"{a} and {b}")


def make_folds(subject_N: np.ndarray, scheme: str, *, val_subjects: int = 0,
               seed: int = 0) -> list[Fold]:
  """Subject-wise folds: 'loso' (one test subject each), or k folds over subjects.

  Validation subjects, when asked for, come from each fold's training subjects only.

  Args:
    subject_N: the subject of every clip.
    scheme: 'loso' or a number k.
    val_subjects: how many training subjects each fold holds out for validation.
    seed: shuffles the subjects for k folds and picks the validation subjects.

  Returns:
    The folds, each checked for leakage.
  """
  subjects = sorted(set(subject_N))
  if scheme == "loso":
    groups = [[s] for s in subjects]
  else:
    k = int(scheme)
    if not 2 <= k <= len(subjects):
      raise ValueError(f"{k} folds need 2..{len(subjects)} subjects; have {len(subjects)}")
    order = np.random.default_rng(seed).permutation(len(subjects))
    groups = [[subjects[i] for i in sorted(part)] for part in np.array_split(order, k)]
  folds = []
  for i, test_subjects in enumerate(groups):
    rest = [s for s in subjects if s not in test_subjects]
    if len(rest) - val_subjects < 1:
      raise ValueError(f"{val_subjects} validation subjects leave none of {len(rest)} to train on")
    rng = np.random.default_rng([seed, i])
    val = set(rng.choice(rest, size=val_subjects, replace=False)) if val_subjects else set()
    fold = Fold(name="+".join(s.split("/")[-1] for s in test_subjects),
                train=np.flatnonzero([s not in val and s in rest for s in subject_N]),
                val=np.flatnonzero([s in val for s in subject_N]),
                test=np.flatnonzero(np.isin(subject_N, test_subjects)))
    check_no_leakage(fold, subject_N)
    folds.append(fold)
  return folds


def class_weights(label_N: np.ndarray, num_classes: int) -> np.ndarray:
  """Inverse-frequency weights with mean 1 over the classes present; absent classes get 0."""
  counts = np.bincount(label_N, minlength=num_classes).astype(np.float32)
  weights = np.where(counts > 0, 1.0 / np.maximum(counts, 1), 0.0)
  return (weights * (counts > 0).sum() / weights.sum()).astype(np.float32)


def batch_indices(indices: np.ndarray, batch_size: int, *, shuffle_seed=None) -> Iterator[tuple]:
  """(indices_B, mask_B) batches; the last is padded (mask 0) so every batch has one shape."""
  if shuffle_seed is not None:
    indices = np.random.default_rng(shuffle_seed).permutation(indices)
  for start in range(0, len(indices), batch_size):
    chunk = indices[start:start + batch_size]
    mask = np.zeros(batch_size, np.float32)
    mask[:len(chunk)] = 1
    yield np.concatenate([chunk, np.repeat(indices[:1], batch_size - len(chunk))]), mask


def steps_per_epoch(n: int, batch_size: int) -> int:
  return -(-n // batch_size)


def data_mesh() -> jax.sharding.Mesh:
  """A 1-D ('data',) mesh over every device of every host."""
  return jax.sharding.Mesh(np.array(jax.devices()), ("data",))


def shard_batch(clips: Clips, index_B: np.ndarray, mask_B: np.ndarray, mesh) -> dict:
  """The global batch as arrays sharded over 'data'; each host reads only its own rows."""
  sharding = NamedSharding(mesh, P("data"))
  local = np.array_split(np.arange(len(index_B)), jax.process_count())[jax.process_index()]
  rows = index_B[local]
  host = {"raw": clips.raw_NxTxHxWxC[rows], "saliency": clips.saliency_NxTxHxWxS[rows],
          "label": clips.label_N[rows], "mask": mask_B[local]}
  return {k: jax.make_array_from_process_local_data(sharding, v) for k, v in host.items()}


def decode(raw_BxTxHxWxC: jax.Array, saliency_BxTxHxWxS: jax.Array, saliency_kind: str):
  """uint8 -> float32: raw in [0, 1]; flow back to signed [-1, 1], other maps to [0, 1]."""
  raw = raw_BxTxHxWxC.astype(jnp.float32) / 255.0
  if saliency_kind == "flow":
    return raw, (saliency_BxTxHxWxS.astype(jnp.float32) - 128.0) / 127.0
  return raw, saliency_BxTxHxWxS.astype(jnp.float32) / 255.0


def standardize(x_BxTxHxWxC: jax.Array) -> jax.Array:
  """Zero mean, unit deviation per clip and channel over (T, H, W); an all-constant map -> 0."""
  axes = (-4, -3, -2)
  mean = jnp.mean(x_BxTxHxWxC, axis=axes, keepdims=True)
  return (x_BxTxHxWxC - mean) / (jnp.std(x_BxTxHxWxC, axis=axes, keepdims=True) + 1e-3)


def to_float(raw_BxTxHxWxC: jax.Array, saliency_BxTxHxWxS: jax.Array, saliency_kind: str):
  """The model's inputs: decoded, then standardized per clip (removes brightness and contrast,
  and the per-clip scale of the stored saliency, so a 1 px movement is as loud as a 3 px one)."""
  raw, saliency = decode(raw_BxTxHxWxC, saliency_BxTxHxWxS, saliency_kind)
  return standardize(raw), standardize(saliency)


def augment(rng: jax.Array, raw_TxHxWxC: jax.Array, saliency_TxHxWxS: jax.Array,
            cfg: config_lib.AugmentConfig, saliency_kind: str):
  """One sample: the same flip, spatial shift and temporal shift on both streams.

  Shifts pad with the edge value. A flipped flow map also has its u component negated.
  """
  k_flip, k_y, k_x, k_t = jax.random.split(rng, 4)

  def shift(x, axis, amount, limit):
    if limit == 0:
      return x
    pad = [(0, 0)] * x.ndim
    pad[axis] = (limit, limit)
    start = [0] * x.ndim
    start[axis] = limit - amount
    return jax.lax.dynamic_slice(jnp.pad(x, pad, mode="edge"), start, x.shape)

  dy = jax.random.randint(k_y, (), -cfg.max_shift, cfg.max_shift + 1)
  dx = jax.random.randint(k_x, (), -cfg.max_shift, cfg.max_shift + 1)
  dt = jax.random.randint(k_t, (), -cfg.max_time_shift, cfg.max_time_shift + 1)
  flip = cfg.flip & jax.random.bernoulli(k_flip)
  out = []
  for x, is_flow in ((raw_TxHxWxC, False), (saliency_TxHxWxS, saliency_kind == "flow")):
    flipped = jnp.flip(x, axis=2)
    if is_flow:
      flipped = flipped.at[..., 0].multiply(-1.0)
    x = jnp.where(flip, flipped, x)
    x = shift(x, 0, dt, cfg.max_time_shift)
    x = shift(shift(x, 1, dy, cfg.max_shift), 2, dx, cfg.max_shift)
    out.append(x)
  return tuple(out)
