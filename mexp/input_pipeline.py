"""tfds.data_source -> task labels -> clips in memory -> batches sharded over 'data'."""

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
from mexp.datasets import build as build_lib
from mexp.preprocess import temporal


@dataclasses.dataclass(frozen=True)
class Clips:
  """A dataset in memory, restricted to a task's classes."""
  raw_NxTxHxWxC: np.ndarray  # uint8
  saliency_NxTxHxWxS: np.ndarray  # float16, in the saliency kind's own units
  label_N: np.ndarray  # int32, index into classes
  subject_N: np.ndarray  # str, e.g. 'casme2/sub01'
  clip_N: np.ndarray  # str
  classes: tuple[str, ...]
  dropped: dict[str, int]  # emotion -> clips the task leaves out
  saliency_kind: str
  apex_index_N: np.ndarray  # int32, the index of each clip's apex frame among its T frames
  # str, how each face was aligned: 'landmarks', 'haar' or 'none' (None: not recorded)
  alignment_N: np.ndarray | None = None

  def take(self, index) -> "Clips":
    return dataclasses.replace(
        self, raw_NxTxHxWxC=self.raw_NxTxHxWxC[index],
        saliency_NxTxHxWxS=self.saliency_NxTxHxWxS[index], label_N=self.label_N[index],
        subject_N=self.subject_N[index], clip_N=self.clip_N[index],
        apex_index_N=self.apex_index_N[index],
        alignment_N=None if self.alignment_N is None else self.alignment_N[index])

  def centre_frame(self) -> "Clips":
    """The clips cut to their centre frame (T = 1), for a model that reads only that frame."""
    return dataclasses.replace(
        self, raw_NxTxHxWxC=centre_frame(self.raw_NxTxHxWxC),
        saliency_NxTxHxWxS=centre_frame(self.saliency_NxTxHxWxS),
        apex_index_N=self.apex_index_N - self.saliency_NxTxHxWxS.shape[1] // 2)


def centre_frame(x_NxTx: np.ndarray) -> np.ndarray:
  """x cut to its centre frame along axis 1 (T -> 1); standardize then scales that frame on its
  own, as the papers of the published baselines normalise each flow image."""
  centre = x_NxTx.shape[1] // 2
  return x_NxTx[:, centre:centre + 1]


def apex_index(onset: int, apex: int, offset: int, spec) -> int:
  """The index of the sampled frame nearest the apex (T // 2 when sampling is apex-centred)."""
  times = temporal.sample_times(onset, offset, spec.frames,
                                apex=apex if spec.apex_centred else None)
  return int(np.argmin(np.abs(times - apex)))


def load(data: config_lib.DataConfig) -> Clips:
  """Reads the built datasets with tfds.data_source and maps their emotions to `data.task`.

  Args:
    data: names the dataset(s), builder config, data_dir and task.

  Returns:
    The task's clips of every database named (a union keeps subjects apart by their namespaced
    ids), sorted by subject and clip, and a count of every emotion the task drops (keyed
    'database/emotion' for a union).
  """
  names = config_lib.datasets_of(data)
  parts = [_load_one(data, name, prefix=f"{name}/" if len(names) > 1 else "") for name in names]
  keep = sorted((x for part, _, _ in parts for x in part),
                key=lambda xl: (xl[0]["subject"], xl[0]["clip"]))
  dropped = {k: v for _, counts, _ in parts for k, v in sorted(counts.items())}
  if not keep:
    raise ValueError(f"{data.dataset}/{data.builder_config}: no clip belongs to task "
                     f"{data.task!r} ({dropped} dropped)")
  spec = parts[0][2]
  classes = labels.task_classes(data.task)
  # Sorted by subject then clip, so every split is independent of TFDS's storage order.
  return Clips(
      raw_NxTxHxWxC=np.stack([x["raw"] for x, _ in keep]),
      saliency_NxTxHxWxS=np.stack([x["saliency"] for x, _ in keep]),
      label_N=np.array([label for _, label in keep], np.int32),
      subject_N=np.array([_text(x["subject"]) for x, _ in keep]),
      clip_N=np.array([_text(x["clip"]) for x, _ in keep]),
      classes=classes, dropped=dropped,
      saliency_kind=spec.saliency,
      apex_index_N=np.array([apex_index(int(x["onset"]), int(x["apex"]), int(x["offset"]), spec)
                             for x, _ in keep], np.int32),
      alignment_N=np.array([_text(x["alignment"]) for x, _ in keep]))


def _text(value) -> str:
  return value.decode() if isinstance(value, bytes) else str(value)


def _load_one(data: config_lib.DataConfig, dataset: str, prefix: str):
  """([(example, label)], {prefix + emotion: dropped count}, the ClipSpec) of one database."""
  import tensorflow_datasets as tfds
  import mexp.datasets  # noqa: F401  (registers the builders)

  name = f"{dataset}/{data.builder_config}"
  builder = tfds.builder(name, data_dir=build_lib.data_dir_of(data))
  names = builder.info.features["emotion"].names
  source = tfds.data_source(name, data_dir=build_lib.data_dir_of(data), split="train")
  keep, dropped = [], collections.Counter()
  for i in range(len(source)):
    x = source[i]
    emotion = names[x["emotion"]]
    label = labels.task_label(data.task, emotion, dataset)
    if label is None:
      dropped[prefix + emotion] += 1
    else:
      keep.append((x, label))
  return keep, dropped, builder.builder_config.spec


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


def fit_batch(batch_size: int, n: int, devices: int) -> int:
  """The batch for n clips: at most n rounded up to the device count, as a data loader gives the
  whole set in one batch when the batch is larger than the set."""
  return min(batch_size, -(-n // devices) * devices)


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


def decode(raw_BxTxHxWxC: jax.Array, saliency_BxTxHxWxS: jax.Array):
  """Stored -> float32: raw uint8 to [0, 1]; saliency (float16, in its own units) as it is."""
  return raw_BxTxHxWxC.astype(jnp.float32) / 255.0, saliency_BxTxHxWxS.astype(jnp.float32)


def standardize(x_BxTxHxWxC: jax.Array) -> jax.Array:
  """Each frame's mean removed per channel, then unit deviation per clip and channel.

  The per-frame mean of a flow map is the head's translation at that instant, and of a raw
  frame its illumination: neither is the expression. An all-constant map -> 0.
  """
  centred = x_BxTxHxWxC - jnp.mean(x_BxTxHxWxC, axis=(-3, -2), keepdims=True)
  return centred / (jnp.std(centred, axis=(-4, -3, -2), keepdims=True) + 1e-3)


def to_float(raw_BxTxHxWxC: jax.Array, saliency_BxTxHxWxS: jax.Array):
  """The model's inputs: decoded, then standardized per clip (removes brightness and contrast,
  and the per-clip scale of the stored saliency, so a 1 px movement is as loud as a 3 px one)."""
  raw, saliency = decode(raw_BxTxHxWxC, saliency_BxTxHxWxS)
  return standardize(raw), standardize(saliency)
