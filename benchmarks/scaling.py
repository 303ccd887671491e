"""Data-parallel training throughput on every device of every process.

Run: python benchmarks/scaling.py [--per_device_batch 8]
     [--coordinator_address H:P --num_processes N --process_id I | --distributed_auto]

Prints the devices, backend, processes, per-device and global batch, compile time, steps/s and
clips/s of the default two-stream model (experiments/two_stream.py) on the default input
(16x64x64 grey + 3 motion channels, folded to 32x32) and on a 128 px one (32x128x128 RGB + 3
motion channels).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent.parent / "experiments"))
from mexp import distributed  # noqa: E402

INPUTS = {"default 16x64x64": (16, 64, 64, 1), "128 px 32x128x128": (32, 128, 128, 3)}


def bench(input_TxHxWxC, per_device_batch: int, repeats: int) -> dict:
  import jax
  import two_stream
  from mexp import input_pipeline as pipeline
  from mexp import train
  mesh = pipeline.data_mesh()
  batch = per_device_batch * mesh.size
  config = two_stream.get_config()
  config = dataclasses.replace(config, optim=dataclasses.replace(config.optim, batch_size=batch))
  t, h, w, c = input_TxHxWxC
  rng = np.random.default_rng(0)
  clips = pipeline.Clips(
      raw_NxTxHxWxC=rng.integers(0, 255, (batch, t, h, w, c), dtype=np.uint8),
      saliency_NxTxHxWxS=rng.normal(0, 0.1, (batch, t, h, w, 3)).astype(np.float16),
      label_N=(np.arange(batch) % 6).astype(np.int32), subject_N=np.array(["s"] * batch),
      clip_N=np.array(["c"] * batch), classes=tuple("abcdef"), dropped={},
      saliency_kind="ststnet", apex_index_N=np.full(batch, t // 2, np.int32))
  state = train.create_state(config, 6, clips, np.ones(6, np.float32), 10, jax.random.key(0))
  state = jax.device_put(state, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec()))
  step, _ = train.compile_steps(mesh, config, "ststnet")
  arrays = pipeline.shard_batch(clips, np.arange(batch), np.ones(batch, np.float32), mesh)
  start = time.perf_counter()
  state, m = step(state, arrays, jax.random.key(0))
  jax.block_until_ready(m)
  compile_s = time.perf_counter() - start
  start = time.perf_counter()
  for i in range(repeats):
    state, m = step(state, arrays, jax.random.key(i))
  jax.block_until_ready(m)
  seconds = (time.perf_counter() - start) / repeats
  return {"batch": batch, "compile_s": compile_s, "steps_s": 1 / seconds, "clips_s": batch / seconds}


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--per_device_batch", type=int, default=8)
  parser.add_argument("--repeats", type=int, default=5)
  distributed.add_flags(parser)
  args = parser.parse_args(argv)
  distributed.initialize(distributed.launch_from(args))
  import jax
  writer = distributed.is_writer()
  if writer:
    kinds = sorted({d.device_kind for d in jax.devices()})
    print(f"backend {jax.default_backend()}; {jax.device_count()} device(s) ({', '.join(kinds)}) "
          f"in {jax.process_count()} process(es); per-device batch {args.per_device_batch}")
    print(f"{'input':>18} {'global batch':>12} {'compile s':>9} {'steps/s':>8} {'clips/s':>8}")
  for name, shape in INPUTS.items():
    r = bench(shape, args.per_device_batch, args.repeats)
    if writer:
      print(f"{name:>18} {r['batch']:>12} {r['compile_s']:>9.1f} {r['steps_s']:>8.2f} "
            f"{r['clips_s']:>8.1f}", flush=True)


if __name__ == "__main__":
  main()
