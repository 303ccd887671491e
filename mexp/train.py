"""Pure train/eval steps, jit-compiled once over a ('data',) mesh, and a resumable fit loop."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct
from flax.training import train_state
from jax.sharding import NamedSharding, PartitionSpec as P

from mexp import augment as augment_lib
from mexp import checkpoints
from mexp import config as config_lib
from mexp import input_pipeline as pipeline
from mexp import distributed, metrics, models
from mexp.io import files

Batch = dict[str, jax.Array]  # raw_BxTxHxWxC, saliency_BxTxHxWxS (uint8), label_B, mask_B
Metrics = dict[str, jax.Array]


class TrainState(train_state.TrainState):
  class_weights_K: jax.Array = struct.field(pytree_node=True, default=None)
  ema_params: Any = struct.field(pytree_node=True, default=None)  # None: no weight averaging


class NormTrainState(TrainState):
  """A TrainState that also carries BatchNorm's running statistics (STSTNet, whose training call
  takes the batch's mask_B). A subclass, so that a model without BatchNorm keeps the state, and
  the checkpoints, it always had."""
  batch_stats: Any = struct.field(pytree_node=True, default=None)


def eval_params(state: TrainState):
  """The weights to predict with: the Polyak average when the state keeps one."""
  return state.params if state.ema_params is None else state.ema_params


def eval_variables(state: TrainState) -> dict:
  """The model's variables to predict with: eval_params, and BatchNorm's running statistics."""
  variables = {"params": eval_params(state)}
  if isinstance(state, NormTrainState):
    variables["batch_stats"] = state.batch_stats
  return variables


def update_ema(state: TrainState, decay: float) -> TrainState:
  """ema <- d ema + (1 - d) params, with d = min(decay, (1 + step) / (10 + step))."""
  d = jnp.minimum(decay, (1.0 + state.step) / (10.0 + state.step))
  ema = jax.tree.map(lambda e, p: d * e + (1 - d) * p, state.ema_params, state.params)
  return state.replace(ema_params=ema)


def weighted_xent(logits_BxK, label_B, weights_K, mask_B) -> jax.Array:
  """Class-weighted cross-entropy, averaged over the real (mask 1) samples; with per-stream
  logits (B, S, K) (late fusion), each stream's own, averaged over the streams."""
  w_B = weights_K[label_B] * mask_B
  logits_BxSxK = logits_BxK if logits_BxK.ndim == 3 else logits_BxK[:, None]
  label_BxS = jnp.broadcast_to(label_B[:, None], logits_BxSxK.shape[:2])
  xent_B = optax.softmax_cross_entropy_with_integer_labels(logits_BxSxK, label_BxS).mean(1)
  return jnp.sum(xent_B * w_B) / jnp.maximum(jnp.sum(w_B), 1e-8)


def make_schedule(optim: config_lib.OptimConfig, steps_per_epoch: int) -> optax.Schedule:
  """Linear warmup, then cosine decay to 1% of the peak; or the learning rate throughout."""
  if optim.schedule == "constant":
    return optax.constant_schedule(optim.learning_rate)
  total = max(1, optim.epochs * steps_per_epoch)
  warmup = min(optim.warmup_epochs * steps_per_epoch, total - 1)
  return optax.warmup_cosine_decay_schedule(0.0, optim.learning_rate, max(warmup, 0), total,
                                            end_value=optim.learning_rate * 0.01)


@functools.lru_cache(maxsize=None)
def make_optimizer(optim: config_lib.OptimConfig, steps_per_epoch: int):
  """AdamW on make_schedule, clipped; one object per (optim, steps_per_epoch), so that folds with
  as many steps per epoch share their compiled steps."""
  tx = optax.adamw(make_schedule(optim, steps_per_epoch), weight_decay=optim.weight_decay)
  return optax.chain(optax.clip_by_global_norm(optim.grad_clip), tx) if optim.grad_clip else tx


@functools.lru_cache(maxsize=None)
def _model(model_config: config_lib.ModelConfig, num_classes: int):
  # One module per config: its bound `apply` (a static part of the state) is then the same
  # object in every fold, so the jitted steps compile once, not once per fold.
  return models.build(model_config, num_classes)


@functools.lru_cache(maxsize=None)
def _init(model):
  # Jitted: one compilation, where eager init compiles each layer's initialiser and convolution.
  return jax.jit(lambda rng, raw, sal: model.init(rng, raw, sal, train=False))


def create_state(config: config_lib.Config, num_classes: int, sample: pipeline.Clips,
                 class_weights_K: np.ndarray, steps_per_epoch: int, rng: jax.Array) -> TrainState:
  model = _model(config.model, num_classes)
  raw, sal = pipeline.to_float(sample.raw_NxTxHxWxC[:1], sample.saliency_NxTxHxWxS[:1])
  variables = _init(model)(rng, raw, sal)
  params = variables["params"]
  ema = jax.tree.map(jnp.copy, params) if config.optim.ema_decay else None
  kwargs = dict(apply_fn=model.apply, params=params,
                tx=make_optimizer(config.optim, steps_per_epoch),
                class_weights_K=jnp.asarray(class_weights_K), ema_params=ema)
  if "batch_stats" in variables:
    return NormTrainState.create(**kwargs, batch_stats=variables["batch_stats"])
  return TrainState.create(**kwargs)


def train_step(state: TrainState, batch: Batch, rng: jax.Array, *,
               augment: config_lib.AugmentConfig, saliency_kind: str,
               ema_decay: float = 0.0,
               probabilities=models.probabilities) -> tuple[TrainState, Metrics]:
  """One optimiser step on a global batch sharded over the 'data' axis."""
  k_aug, k_drop = jax.random.split(rng)
  raw_BxTxHxWxC, sal_BxTxHxWxS = pipeline.to_float(batch["raw"], batch["saliency"])
  keys_B = jax.random.split(k_aug, raw_BxTxHxWxC.shape[0])
  raw_BxTxHxWxC, sal_BxTxHxWxS = jax.vmap(
      functools.partial(augment_lib.augment, cfg=augment, saliency_kind=saliency_kind))(
          keys_B, raw_BxTxHxWxC, sal_BxTxHxWxS)

  norm = isinstance(state, NormTrainState)  # BatchNorm: its running statistics are updated

  def loss_fn(params):
    variables = {"params": params, **({"batch_stats": state.batch_stats} if norm else {})}
    out = state.apply_fn(variables, raw_BxTxHxWxC, sal_BxTxHxWxS, train=True,
                         rngs={"dropout": k_drop}, mutable=["batch_stats"] if norm else False,
                         **({"mask_B": batch["mask"]} if norm else {}))  # padding: no statistic
    logits_BxK, updates = out if norm else (out, {})
    loss = weighted_xent(logits_BxK, batch["label"], state.class_weights_K, batch["mask"])
    return loss, (logits_BxK, updates)

  (loss, (logits_BxK, updates)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  count = jnp.sum(batch["mask"])
  probs_BxK = probabilities(logits_BxK)
  if logits_BxK.ndim == 3:  # late fusion: report the fused prediction's loss, as val_loss does
    loss = weighted_xent(jnp.log(probs_BxK + 1e-9), batch["label"], state.class_weights_K,
                         batch["mask"])
  correct = jnp.sum((jnp.argmax(probs_BxK, -1) == batch["label"]) * batch["mask"])
  # Summed over the epoch on the device and read once at its end (no per-step host sync).
  sums = jnp.stack([loss * count, correct, count, optax.tree.norm(grads) * count])
  state = state.apply_gradients(grads=grads)
  if updates:
    state = state.replace(batch_stats=updates["batch_stats"])
  return (update_ema(state, ema_decay) if ema_decay else state), {"sums": sums}


def eval_step(state: TrainState, batch: Batch,
              probabilities=models.probabilities) -> jax.Array:
  """Class probabilities (B, K), no augmentation, no dropout."""
  raw, sal = pipeline.to_float(batch["raw"], batch["saliency"])
  return probabilities(state.apply_fn(eval_variables(state), raw, sal, train=False))


def compile_steps(mesh, config: config_lib.Config, saliency_kind: str):
  """The jitted steps: state replicated (P()), batch sharded (P('data')), state donated."""
  replicated, sharded = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))
  fuse = models.fused_probabilities(config.model)
  train = jax.jit(functools.partial(train_step, augment=config.augment, saliency_kind=saliency_kind,
                                    ema_decay=config.optim.ema_decay, probabilities=fuse),
                  in_shardings=(replicated, sharded, replicated),
                  out_shardings=(replicated, replicated), donate_argnums=0)
  evaluate = jax.jit(functools.partial(eval_step, probabilities=fuse),
                     in_shardings=(replicated, sharded), out_shardings=replicated)
  return train, evaluate


def predict(evaluate, state, clips: pipeline.Clips, indices: np.ndarray, batch_size: int,
            mesh, name: str = "") -> np.ndarray:
  """Probabilities (len(indices), K) in the order of `indices`; NonFiniteLossError (naming
  `name`) when any is NaN or infinite, so that no such prediction is ever scored."""
  out = []
  for index_B, mask_B in pipeline.batch_indices(indices, batch_size):
    probs = np.asarray(evaluate(state, pipeline.shard_batch(clips, index_B, mask_B, mesh)))
    out.append(probs[mask_B > 0])
  probs = np.concatenate(out) if out else np.zeros((0, len(clips.classes)), np.float32)
  bad = int((~np.isfinite(probs)).any(axis=1).sum())
  if bad:
    raise NonFiniteLossError(
        f"{name + ': ' if name else ''}{bad} of {len(probs)} clips have non-finite probabilities "
        "(the parameters diverged); lower --config.optim.learning_rate (or check the data for "
        "NaN/inf)")
  return probs


def _write_jsonl(path: Path, records: list[dict]) -> None:
  files.write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in records))


class NonFiniteLossError(FloatingPointError):
  """Training diverged."""


SUMS = ("loss", "correct", "count", "grad_norm")  # what a train step sums for the epoch log


def _progress_bar(total: int, start: int, name: str):
  """A tqdm bar on a terminal; elsewhere (CI, nohup, a log file) None: one line per epoch."""
  import sys
  if not sys.stderr.isatty():
    return None
  from tqdm import tqdm
  return tqdm(total=total, initial=start, desc=f"fold {name}", unit="step", dynamic_ncols=True,
              leave=False, mininterval=1.0)


def epoch_record(epoch: int, step: int, sums_4: np.ndarray, learning_rate: float) -> dict:
  """The epoch's means from its summed (loss*n, correct, n, grad_norm*n)."""
  n = max(float(sums_4[2]), 1.0)
  return {"epoch": epoch, "step": step, "train_loss": float(sums_4[0]) / n,
          "train_accuracy": float(sums_4[1]) / n, "grad_norm": float(sums_4[3]) / n,
          "learning_rate": learning_rate}


def weighted_nll(probs_NxK: np.ndarray, label_N: np.ndarray, weights_K: np.ndarray) -> float:
  """The training loss's formula (class-weighted cross-entropy) on predicted probabilities."""
  w = weights_K[label_N]
  nll = -np.log(probs_NxK[np.arange(len(label_N)), label_N] + 1e-9)
  return float(np.sum(w * nll) / max(np.sum(w), 1e-8))


def fit(config: config_lib.Config, clips: pipeline.Clips, train_idx: np.ndarray,
        val_idx: np.ndarray, fold_dir: Path, fold_number: int, mesh, steps, *,
        progress: bool = True, stop_after_steps: int | None = None) -> tuple[TrainState, list]:
  """Trains one fold on a fixed schedule, resuming from its latest Orbax checkpoint.

  Args:
    config: the run's config.
    clips: all clips; train_idx / val_idx select this fold's training and validation clips.
    fold_dir: where this fold's checkpoints and metrics.jsonl live.
    fold_number: folded into the root key, so every fold has its own randomness.
    mesh: the ('data',) mesh.
    steps: (train, evaluate) from compile_steps, shared by every fold.
    progress: a progress bar on a terminal, one line per epoch otherwise.
    stop_after_steps: stop early (tests only), as if killed after a checkpoint.

  Returns:
    (the final state, the per-epoch history).

  Raises:
    NonFiniteLossError: when an epoch's training loss is NaN or infinite.
  """
  batch = pipeline.fit_batch(config.optim.batch_size, len(train_idx), mesh.size)
  epochs = config.optim.epochs
  spe = pipeline.steps_per_epoch(len(train_idx), batch)
  total = epochs * spe
  root = jax.random.fold_in(jax.random.key(config.seed), fold_number)
  k_init, k_steps = jax.random.split(root)
  weights = pipeline.class_weights(clips.label_N[train_idx], len(clips.classes)) \
      if config.optim.class_weighted else np.ones(len(clips.classes), np.float32)
  state = create_state(config, len(clips.classes), clips, weights, spe, k_init)
  schedule = make_schedule(config.optim, spe)
  zeros = jax.device_put(np.zeros(len(SUMS), np.float32), NamedSharding(mesh, P()))
  mngr = checkpoints.manager(fold_dir / "checkpoints")
  state, epoch_sums, start, history = _resume(mngr, state, zeros, fold_dir / "metrics.jsonl")
  train, evaluate = steps

  bar = _progress_bar(total, start, fold_dir.name) if progress else None
  step = start
  for epoch in range(start // spe, epochs):
    for k, (index_B, mask_B) in enumerate(pipeline.batch_indices(
        train_idx, batch, shuffle_seed=[config.seed, fold_number, epoch])):
      step = epoch * spe + k
      if step < start:
        continue
      state, m = train(state, pipeline.shard_batch(clips, index_B, mask_B, mesh),
                       jax.random.fold_in(k_steps, step))
      epoch_sums = epoch_sums + m["sums"]
      step += 1
      if bar:
        bar.update(1)
      if step % spe == 0:  # epoch end: the one host read of the epoch's sums
        record = epoch_record(epoch + 1, step, np.asarray(epoch_sums), float(schedule(step - 1)))
        if not np.isfinite(record["train_loss"]):
          mngr.close()
          raise NonFiniteLossError(
              f"{fold_dir.name}: training loss is {record['train_loss']} at epoch {epoch + 1}; "
              "lower --config.optim.learning_rate (or check the data for NaN/inf)")
        if len(val_idx):
          record.update(_validation(evaluate, state, clips, val_idx, batch, mesh, weights,
                                    fold_dir.name))
        history.append(record)
        epoch_sums = zeros
        if distributed.is_writer():  # one writer of the workdir's files
          _write_jsonl(fold_dir / "metrics.jsonl", history)
        _show(record, epochs, fold_dir.name, bar, progress)
      if step % config.checkpoint_every == 0 or step == total:
        _save(mngr, step, state, epoch_sums, fold_dir)
      if stop_after_steps is not None and step >= stop_after_steps:  # tests: as if killed
        _close(mngr, bar)
        return state, history
  if mngr.latest_step() != total:
    _save(mngr, total, state, epoch_sums, fold_dir)
  _close(mngr, bar)
  return state, history


def _close(mngr, bar) -> None:
  mngr.close()
  if bar:
    bar.close()


def _resume(mngr, state, zeros, log_path: Path):
  """(state, epoch sums, step, history) from the latest checkpoint, or the start."""
  restored, start = checkpoints.restore_latest(mngr, {"state": state, "epoch_sums": zeros})
  history = [json.loads(line) for line in log_path.read_text().splitlines()] \
      if log_path.exists() else []
  history = [h for h in history if h["step"] <= start]  # lines after the checkpoint are redone
  return restored["state"], restored["epoch_sums"], start, history


def _validation(evaluate, state, clips, val_idx, batch, mesh, weights, name: str) -> dict:
  """The validation subjects' accuracy, weighted loss and UF1 at an epoch's end."""
  probs = predict(evaluate, state, clips, val_idx, batch, mesh, name)
  labels = clips.label_N[val_idx]
  return {"val_accuracy": float(np.mean(np.argmax(probs, 1) == labels)),
          "val_loss": weighted_nll(probs, labels, weights),
          "val_uf1": metrics.uf1(labels, np.argmax(probs, 1), len(clips.classes))}


def _show(record: dict, epochs: int, name: str, bar, progress: bool) -> None:
  """An epoch's line: on the progress bar, or printed where there is no terminal."""
  if bar:
    bar.set_postfix(epoch=f"{record['epoch']}/{epochs}", loss=f"{record['train_loss']:.3f}")
  elif progress:
    print(f"fold {name} epoch {record['epoch']}/{epochs}: "
          + ", ".join(f"{k} {v:.4g}" for k, v in record.items() if k not in ("epoch", "step")),
          flush=True)


def _save(mngr, step: int, state, epoch_sums, fold_dir: Path) -> None:
  """A verified checkpoint of finite parameters."""
  _check_params(state, fold_dir, mngr, step)
  checkpoints.save(mngr, step, {"state": state, "epoch_sums": epoch_sums})


def _check_params(state, fold_dir: Path, mngr, step: int) -> None:
  """NonFiniteLossError before a checkpoint of non-finite parameters is written: the loss is
  measured before each step's update, so it does not see what the last update did."""
  if bad := checkpoints.non_finite(state.params):
    mngr.close()
    raise NonFiniteLossError(f"{fold_dir.name}: {bad} at step {step}; lower "
                             "--config.optim.learning_rate (or check the data for NaN/inf)")


def restore_state(config: config_lib.Config, clips: pipeline.Clips, checkpoint_dir: Path,
                  mesh) -> Any:
  """The latest state under `checkpoint_dir` (never an older one), restored into a fresh target."""
  weights = np.ones(len(clips.classes), np.float32)
  state = create_state(config, len(clips.classes), clips, weights, 1, jax.random.key(0))
  target = jax.device_put({"state": state, "epoch_sums": np.zeros(len(SUMS), np.float32)},
                          NamedSharding(mesh, P()))
  mngr = checkpoints.manager(checkpoint_dir)
  restored, step = checkpoints.restore_latest(mngr, target, fall_back=False)
  mngr.close()
  if step == 0:
    raise FileNotFoundError(f"{checkpoint_dir}: no checkpoint")
  return restored["state"]
