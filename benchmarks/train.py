"""Training and evaluation speed.  Run: python benchmarks/train.py

Prints, per model/input size and 3D-convolution formulation: compile time, train and eval
clips/s, forward GFLOPs per clip (XLA's cost analysis), and achieved GFLOP/s of the train step
(taken as 3x forward) against this machine's float32 matmul peak measured in the same run.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from mexp import config as config_lib
from mexp import input_pipeline as pipeline
from mexp import models, train


def matmul_peak_gflops(n: int = 4096, repeats: int = 5) -> float:
  a = jnp.ones((n, n), jnp.float32)
  f = jax.jit(lambda x: x @ x)
  f(a).block_until_ready()
  start = time.perf_counter()
  for _ in range(repeats):
    f(a).block_until_ready()
  return 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9


def bench(shape_TxHxW, width_factor: float, conv: str, batch: int = 16, repeats: int = 5) -> dict:
  t, h, w = shape_TxHxW
  config = config_lib.Config(model=config_lib.ModelConfig(width_factor=width_factor, conv=conv),
                             optim=config_lib.OptimConfig(batch_size=batch))
  rng = np.random.default_rng(0)
  clips = pipeline.Clips(
      raw_NxTxHxWxC=rng.integers(0, 255, (batch, t, h, w, 1), dtype=np.uint8),
      saliency_NxTxHxWxS=rng.random((batch, t, h, w, 1)).astype(np.float16),
      label_N=(np.arange(batch) % 6).astype(np.int32), subject_N=np.array(["s"] * batch),
      clip_N=np.array(["c"] * batch), classes=tuple("abcdef"), dropped={}, saliency_kind="median",
      apex_index_N=np.zeros(batch, np.int32))
  mesh = pipeline.data_mesh()
  state = train.create_state(config, 6, clips, np.ones(6, np.float32), 10, jax.random.key(0))
  model = models.TwoStream3DCNN(config.model, 6)
  raw, sal = pipeline.to_float(clips.raw_NxTxHxWxC[:1], clips.saliency_NxTxHxWxS[:1])
  gflops = models.forward_gflops(model, state.params, raw, sal)
  params = models.parameter_count(state.params)
  # Committed to the replicated sharding first, as fit() does: an uncommitted state would compile
  # the step a second time on the second call.
  state = jax.device_put(state, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec()))
  step, evaluate = train.compile_steps(mesh, config, "median")
  batch_arrays = pipeline.shard_batch(clips, np.arange(batch), np.ones(batch, np.float32), mesh)
  start = time.perf_counter()
  state, m = step(state, batch_arrays, jax.random.key(0))
  jax.block_until_ready(m)
  compile_s = time.perf_counter() - start
  start = time.perf_counter()
  for i in range(repeats):
    state, m = step(state, batch_arrays, jax.random.key(i))
  jax.block_until_ready(m)
  train_s = (time.perf_counter() - start) / repeats
  evaluate(state, batch_arrays).block_until_ready()
  start = time.perf_counter()
  for _ in range(repeats):
    evaluate(state, batch_arrays).block_until_ready()
  eval_s = (time.perf_counter() - start) / repeats
  return {"params": params, "gflops": gflops, "compile_s": compile_s,
          "train_clips_s": batch / train_s, "eval_clips_s": batch / eval_s,
          "train_gflop_s": 3 * gflops * batch / train_s}


def main() -> None:
  peak = matmul_peak_gflops()
  print(f"{jax.device_count()} {jax.default_backend()} device(s); float32 4096^2 matmul peak "
        f"{peak:.0f} GFLOP/s (jit, same run)")
  print(f"{'input TxHxW':>12} {'width':>6} {'conv':>6} {'params':>9} {'fwd GF/clip':>11} "
        f"{'compile s':>9} {'train clips/s':>13} {'eval clips/s':>12} {'train GFLOP/s':>13} "
        f"{'% peak':>6}")
  for shape, width in (((16, 32, 32), 1 / 16), ((16, 64, 64), 1 / 16), ((16, 64, 64), 1 / 4)):
    for conv in ("xla", "auto"):
      r = bench(shape, width, conv)
      print(f"{'x'.join(map(str, shape)):>12} {width:>6.3f} {conv:>6} {r['params']:>9,} "
            f"{r['gflops']:>11.3f} {r['compile_s']:>9.1f} {r['train_clips_s']:>13.1f} "
            f"{r['eval_clips_s']:>12.1f} {r['train_gflop_s']:>13.1f} "
            f"{100 * r['train_gflop_s'] / peak:>5.0f}%")


if __name__ == "__main__":
  main()
