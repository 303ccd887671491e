"""Training and inference speed, against PyTorch eager on the same model when torch is installed.

Run: python benchmarks/train.py [--configs] [--profile DIR] [--no_native] [--steps N] [--reps N]

The peer table: the same two-stream model in JAX (Conv3D 'auto', and XLA's native 3D convolution
unless --no_native) and in PyTorch eager (`pip install -e '.[bench]'`; skipped without torch):
two streams of Conv3D 32 -> pool (1,2,2) -> Conv3D 64 -> pool (2,2,2), concatenated, Conv3D 128,
pool (2,2,2), global average pooling, Dense 128, Dense 6; fp32, Adam, cross-entropy. A train step
is forward + backward + Adam; inference is one forward pass. Each repetition round-robins single
steps over the runners in one process, so load from other processes hits all alike; the figures
are medians over every repetition's steps. Speed ratios are PyTorch ms / JAX ms (> 1: JAX is
faster). Share of peak: 3x (train) or 1x (inference) the forward FLOPs (XLA's cost analysis of
the native convolution) per second, over this machine's float32 matmul peak (jit, same run).

The GEMM floor: the matrix products alone that the CPU Conv3D runs in a train step (forward,
kernel gradient, and input gradient except for the 1-channel first layers), at the same sizes and
step counts, each in its fastest operand layout, operands resident in cache, nothing gathered,
pooled or added. A step that computes the direct convolution's products through XLA's GEMM, in
cache-sized steps, cannot take less.

--profile DIR writes a jax.profiler trace of the JAX train step per shape and prints its time per
kind of XLA:CPU operation (the executor's events; matrix products run partly on a worker pool
after their event ends, so the rows are a lower bound and do not sum to the step).

--configs adds the project's own configurations (train.train_step, augmentation included):
compile time, clips/s and GFLOP/s per 3D-convolution formulation.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import functools
import glob
import gzip
import json
import os
import re
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from mexp import config as config_lib
from mexp import conv3d
from mexp import input_pipeline as pipeline
from mexp import models, train

SHAPES = ((8, 16, 64, 64), (16, 8, 32, 32))  # (B, T, H, W); one channel per stream
PEER_MODEL = config_lib.ModelConfig(stream_widths=(32, 64), shared_widths=(128,), dense=(128,),
                                    dropout=0.0)
CLASSES = 6


def matmul_peak_gflops(n: int = 4096, repeats: int = 5) -> float:
  """Float32 n x n matmul GFLOP/s under jit: the best of `repeats`."""
  a = jnp.ones((n, n), jnp.float32)
  f = jax.jit(lambda x: x @ x)
  f(a).block_until_ready()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    f(a).block_until_ready()
    times.append(time.perf_counter() - start)
  return 2 * n ** 3 / min(times) / 1e9


def _inputs(shape_BxTxHxW) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  rng = np.random.default_rng(0)
  raw, sal = (rng.standard_normal(shape_BxTxHxW + (1,), np.float32) for _ in range(2))
  return raw, sal, (np.arange(shape_BxTxHxW[0]) % CLASSES).astype(np.int32)


def jax_runner(shape_BxTxHxW, conv: str):
  """(train_step, inference) closures that run one step each and block on its result."""
  model = models.TwoStream3DCNN(dataclasses.replace(PEER_MODEL, conv=conv), CLASSES)
  raw, sal, label = map(jnp.asarray, _inputs(shape_BxTxHxW))
  params = model.init(jax.random.key(0), raw[:1], sal[:1], train=False)["params"]
  tx = optax.adam(1e-3)

  @functools.partial(jax.jit, donate_argnums=(0, 1))
  def step(params, opt_state, raw_BxTxHxWx1, sal_BxTxHxWx1, label_B):
    def loss_fn(p):
      logits_BxK = model.apply({"params": p}, raw_BxTxHxWx1, sal_BxTxHxWx1, train=True)
      return optax.softmax_cross_entropy_with_integer_labels(logits_BxK, label_B).mean()
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  infer = jax.jit(lambda p, r, s: model.apply({"params": p}, r, s, train=False))
  state = {"params": params, "opt": tx.init(params)}

  def train_once():
    state["params"], state["opt"], loss = step(state["params"], state["opt"], raw, sal, label)
    loss.block_until_ready()

  return train_once, lambda: infer(state["params"], raw, sal).block_until_ready()


def torch_runner(shape_BxTxHxW):
  """The same model, optimiser and loss in PyTorch eager (NCDHW, float32)."""
  import torch
  from torch import nn
  from torch.nn import functional as F

  class Stream(nn.Module):
    def __init__(self):
      super().__init__()
      self.conv0, self.conv1 = nn.Conv3d(1, 32, 3, padding=1), nn.Conv3d(32, 64, 3, padding=1)

    def forward(self, x):
      x = F.max_pool3d(F.relu(self.conv0(x)), (1, 2, 2))
      return F.max_pool3d(F.relu(self.conv1(x)), (2, 2, 2))

  class TwoStream(nn.Module):
    def __init__(self):
      super().__init__()
      self.raw, self.saliency = Stream(), Stream()
      self.shared = nn.Conv3d(128, 128, 3, padding=1)
      self.dense, self.head = nn.Linear(128, 128), nn.Linear(128, CLASSES)

    def forward(self, raw, sal):
      x = torch.cat([self.raw(raw), self.saliency(sal)], dim=1)
      x = F.max_pool3d(F.relu(self.shared(x)), (2, 2, 2)).mean(dim=(2, 3, 4))
      return self.head(F.relu(self.dense(x)))

  torch.manual_seed(0)
  model = TwoStream()
  opt = torch.optim.Adam(model.parameters(), lr=1e-3)
  raw, sal, label = _inputs(shape_BxTxHxW)
  raw, sal = (torch.from_numpy(a).permute(0, 4, 1, 2, 3).contiguous() for a in (raw, sal))
  label = torch.from_numpy(label).long()

  def train_once():
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(raw, sal), label).backward()
    opt.step()

  def infer():
    with torch.inference_mode():
      model(raw, sal)

  return train_once, infer


def _peer_table(steps: int, reps: int, native: bool) -> None:
  try:
    import torch
  except ImportError:
    torch = None
    print("torch is not installed (pip install -e '.[bench]'): JAX only")
  names = (["xla"] if native else []) + ["auto"] + (["torch"] if torch else [])
  runners = {(shape, name): (torch_runner(shape) if name == "torch" else jax_runner(shape, name))
             for shape in SHAPES for name in names}
  for train_once, infer in runners.values():  # compile and warm up
    train_once(), infer()
  load_start = os.getloadavg()[0]  # other processes on the same cores slow the peer most
  times = {(key, kind): [] for key in runners for kind in ("train", "infer")}
  peaks = []
  for _ in range(reps):
    peaks.append(matmul_peak_gflops())
    for shape in SHAPES:
      for kind in ("train", "infer"):
        for _ in range(steps):  # round-robin: one step of each runner in turn
          for name in names:
            fn = runners[(shape, name)][0 if kind == "train" else 1]
            start = time.perf_counter()
            fn()
            times[((shape, name), kind)].append(time.perf_counter() - start)
  peak = max(peaks)  # the best of each repetition's: the least disturbed by other processes
  ms = {k: 1e3 * statistics.median(v) for k, v in times.items()}
  print(f"{jax.device_count()} {jax.default_backend()} device(s), jax {jax.__version__}"
        + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else "")
        + f"; float32 4096^2 matmul peak {peak:.0f} GFLOP/s (jit); {reps} interleaved repetitions"
        f" x {steps} steps, medians; load average {load_start:.1f} -> {os.getloadavg()[0]:.1f}")
  columns = {"xla": "JAX native conv3d", "auto": "JAX mexp Conv3D", "torch": "PyTorch eager"}
  header = "| input (B, T, H×W, C) | step | " + " | ".join(columns[n] for n in names)
  print(header + (" | JAX mexp / PyTorch |" if torch else " |"))
  print("|---" * (len(names) + 2 + bool(torch)) + "|")
  for shape in SHAPES:
    b, t, h, w = shape
    model = models.TwoStream3DCNN(dataclasses.replace(PEER_MODEL, conv="xla"), CLASSES)
    x = jnp.zeros((1, t, h, w, 1))
    gflops = b * models.forward_gflops(model, model.init(jax.random.key(0), x, x, train=False),
                                       x, x)
    for kind, factor in (("train", 3), ("infer", 1)):
      cells = [f"{ms[((shape, n), kind)]:.0f} ms "
               f"({factor * gflops / ms[((shape, n), kind)] * 1e3 / peak:.0%})" for n in names]
      speedup = ms[((shape, "torch"), kind)] / ms[((shape, "auto"), kind)] if torch else None
      ratio = f" | {speedup:.2f}×" if torch else ""
      label = "train step" if kind == "train" else "inference"
      print(f"| {b}, {t}, {h}², 1 | {label} | " + " | ".join(cells) + ratio + " |")
  print("(x%): share of the matmul peak")
  print("\n| input (B, T, H×W, C) | train step: GEMM floor | JAX mexp Conv3D"
        + (" | PyTorch eager | PyTorch / GEMM floor |" if torch else " |"))
  print("|---" * (5 if torch else 3) + "|")
  for shape in SHAPES:
    floor = gemm_floor_ms(shape)
    cells = [f"{floor:.0f} ms", f"{ms[((shape, 'auto'), 'train')]:.0f} ms"]
    if torch:
      peer = ms[((shape, "torch"), "train")]
      cells += [f"{peer:.0f} ms", f"{peer / floor:.2f}"]
    b, t, h, _ = shape
    print(f"| {b}, {t}, {h}², 1 | " + " | ".join(cells) + " |")
  print("GEMM floor: the Conv3D matrix products alone (XLA:CPU, conv3d's step sizes, fastest layout,"
        " in cache)")


def peer_layers(shape_BxTxHxW) -> list[tuple[tuple[int, ...], int, tuple[int, int, int], int]]:
  """PEER_MODEL's 3D convolutions: (input BxTxHxWxC, output channels, pool, how many)."""
  m = PEER_MODEL
  (b, t, h, w), c, layers = shape_BxTxHxW, 1, []
  for width, (pt, ph, pw) in zip(m.stream_widths, m.stream_pools):
    layers.append(((b, t, h, w, c), width, (pt, ph, pw), len(m.streams)))
    t, h, w, c = t // pt, h // ph, w // pw, width
  c *= len(m.streams)
  for i, width in enumerate(m.shared_widths):  # only the last one pools (models.TwoStream3DCNN)
    last = i == len(m.shared_widths) - 1
    layers.append(((b, t, h, w, c), width, m.shared_pool if last else (1, 1, 1), 1))
    c = width
  return layers


def _median_ms(fn, reps: int) -> float:
  """Median ms of fn() over `reps` calls, after one warm-up call."""
  fn()
  times = []
  for _ in range(reps):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return 1e3 * statistics.median(times)


def _gemm_loop_ms(lhs_shape, rhs_shape, contract_lhs: int, count: int, reps: int) -> float:
  """Median ms of `count` products lhs x rhs (contracting lhs axis `contract_lhs`), in cache."""
  lhs, rhs = jnp.ones(lhs_shape), jnp.ones(rhs_shape)
  dims = (((contract_lhs,), (0,)), ((), ()))

  @jax.jit
  def loop(lhs, rhs):
    def body(_, carry):  # the barrier keeps XLA from hoisting the loop-invariant product
      lhs, rhs, acc = lax.optimization_barrier(carry)
      return lhs, rhs, acc + lax.dot_general(lhs, rhs, dims)[0, 0]
    return lax.fori_loop(0, count, body, (lhs, rhs, jnp.zeros(())))[2]

  return _median_ms(lambda: loop(lhs, rhs).block_until_ready(), reps)


def gemm_floor_ms(shape_BxTxHxW, reps: int = 5) -> float:
  """The train step's Conv3D matrix products alone, at conv3d's step shapes and counts."""
  total = 0.0
  for (b, t, h, w, c), o, pool, copies in peer_layers(shape_BxTxHxW):
    clips, frames = conv3d.chunking(b, t, h, w, c, pool[0])
    rows, count = clips * frames * h * w, b * t // (clips * frames)
    ms = (_gemm_loop_ms((rows, 27 * c), (27 * c, o), 1, count, reps)  # forward
          + min(_gemm_loop_ms((rows, 27 * c), (rows, o), 0, count, reps),  # kernel gradient,
                _gemm_loop_ms((27 * c, rows), (rows, o), 1, count, reps),  # patches^T stored,
                _gemm_loop_ms((o, rows), (rows, 27 * c), 1, count, reps)))  # or dy^T x patches
    if c > 3:  # input gradient: the flipped kernel over the output gradient's own steps
      clips, frames = conv3d.chunking(b, t, h, w, o)
      rows = clips * frames * h * w
      ms += _gemm_loop_ms((rows, 27 * o), (27 * o, c), 1, b * t // (clips * frames), reps)
    total += copies * ms
  return total


def profile_step(shape_BxTxHxW, directory: str, steps: int = 3) -> dict[str, float]:
  """ms per kind of XLA:CPU operation in the JAX train step, from a jax.profiler trace."""
  train_once, _ = jax_runner(shape_BxTxHxW, "auto")
  train_once(), train_once()
  with jax.profiler.trace(directory):
    for _ in range(steps):
      train_once()
  trace = max(glob.glob(os.path.join(directory, "**", "*.trace.json.gz"), recursive=True),
              key=os.path.getmtime)
  kinds = collections.Counter()
  with gzip.open(trace) as f:
    events = json.load(f)["traceEvents"]
  for event in events:
    name = event.get("name", "")
    if event.get("ph") != "X":
      continue
    if name.startswith("ThunkExecutor::Execute (wait"):
      kinds["(step, executor wall)"] += event["dur"]
    elif not name.startswith(("ThunkExecutor", "$", "Slinky", "end:", "Pjit", "Common", "while")):
      kind = ("matrix products" if "ynn" in name or "dot" in name else
              "patch gathering" if "concatenate" in name else re.sub(r"[._]\d+$", "", name))
      kinds[kind] += event["dur"]
  return {k: v / steps / 1e3 for k, v in kinds.most_common()}


def bench_config(shape_TxHxW, width_factor: float, conv: str, batch: int = 16,
                 repeats: int = 5) -> dict:
  """The project's train.train_step and eval_step on one model/input size."""
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
  model = models.TwoStream3DCNN(dataclasses.replace(config.model, conv="xla"), 6)
  raw, sal = pipeline.to_float(clips.raw_NxTxHxWxC[:1], clips.saliency_NxTxHxWxS[:1])
  gflops = models.forward_gflops(model, {"params": state.params}, raw, sal)
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


def _configs_table(peak: float) -> None:
  print(f"{'input TxHxW':>12} {'width':>6} {'conv':>6} {'params':>9} {'fwd GF/clip':>11} "
        f"{'compile s':>9} {'train clips/s':>13} {'eval clips/s':>12} {'train GFLOP/s':>13} "
        f"{'% peak':>6}")
  for shape, width in (((16, 32, 32), 1 / 16), ((16, 64, 64), 1 / 16), ((16, 64, 64), 1 / 4)):
    for conv in ("xla", "auto"):
      r = bench_config(shape, width, conv)
      print(f"{'x'.join(map(str, shape)):>12} {width:>6.3f} {conv:>6} {r['params']:>9,} "
            f"{r['gflops']:>11.3f} {r['compile_s']:>9.1f} {r['train_clips_s']:>13.1f} "
            f"{r['eval_clips_s']:>12.1f} {r['train_gflop_s']:>13.1f} "
            f"{100 * r['train_gflop_s'] / peak:>5.0f}%")


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=3, help="steps per runner and repetition")
  parser.add_argument("--reps", type=int, default=2, help="interleaved repetitions")
  parser.add_argument("--no_native", action="store_true", help="skip XLA's native conv3d")
  parser.add_argument("--configs", action="store_true", help="also the project's configurations")
  parser.add_argument("--profile", metavar="DIR", help="trace the JAX train step per shape to DIR")
  args = parser.parse_args()
  _peer_table(args.steps, args.reps, not args.no_native)
  if args.profile:
    for shape in SHAPES:
      kinds = profile_step(shape, os.path.join(args.profile, "x".join(map(str, shape))))
      print(f"\nprofile, train step {shape} (ms per step):")
      small = {k: v for k, v in kinds.items() if v < 1.0}
      for kind, ms in kinds.items():
        if kind not in small:
          print(f"  {ms:8.1f}  {kind}")
      print(f"  {sum(small.values()):8.1f}  {len(small)} other kinds under 1 ms each")
  if args.configs:
    _configs_table(matmul_peak_gflops())


if __name__ == "__main__":
  main()
