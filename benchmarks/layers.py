"""One 3x3x3 convolution layer (+ max-pool where the model pools), per formulation, on this CPU.

Run: python benchmarks/layers.py [--reps N]

For each layer shape of the default model (experiments/two_stream.py, batch 8) and of the peer
model of benchmarks/train.py, prints the forward and forward + backward time (median ms) of
'chunked' (cache-sized patch-matrix steps), 'taps' (time taps folded into XLA's 2D convolution)
and 'xla' (XLA's 3D convolution), and which one 'auto' takes. The backward pass differentiates
the kernel, and the input too unless the layer is a first one (1 or 3 channels), as in training.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp

from mexp import conv3d

# (B, T, H, W, C) input, output channels, pool (None: no pool), what the layer is.
LAYERS = (
    ((8, 16, 32, 32, 1), 8, (1, 2, 2), "default: raw conv1"),
    ((8, 16, 32, 32, 3), 8, (1, 2, 2), "default: saliency conv1"),
    ((8, 16, 16, 16, 8), 16, (2, 2, 2), "default: stream conv2"),
    ((8, 8, 8, 8, 32), 32, None, "default: shared conv"),
    ((8, 8, 8, 8, 32), 32, (2, 2, 2), "default: last shared conv"),
    ((8, 16, 64, 64, 1), 32, (1, 2, 2), "peer 64x64: conv1"),
    ((8, 16, 32, 32, 32), 64, (2, 2, 2), "peer 64x64: conv2"),
    ((8, 8, 16, 16, 128), 128, (2, 2, 2), "peer 64x64: shared conv"),
    ((16, 8, 32, 32, 1), 32, (1, 2, 2), "peer 32x32: conv1"),
    ((16, 8, 16, 16, 32), 64, (2, 2, 2), "peer 32x32: conv2"),
)


def _median_ms(fn, *args, reps: int) -> float:
  jax.block_until_ready(fn(*args))
  times = []
  for _ in range(reps):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append((time.perf_counter() - start) * 1000)
  return statistics.median(times)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--reps", type=int, default=10)
  args = parser.parse_args()
  impls = ("chunked", "taps", "xla")
  print(f"{jax.default_backend()}, {jax.device_count()} device(s); median ms of {args.reps} reps")
  print(f"{'layer':28s} {'input -> out':24s} " + " ".join(f"{i + ' fwd/fwd+bwd':>22s}" for i in impls)
        + "  auto")
  for shape, out, pool, name in LAYERS:
    x = jax.random.normal(jax.random.key(0), shape)
    kernel = jax.random.normal(jax.random.key(1), (3, 3, 3, shape[-1], out)) * 0.1
    argnums = (1,) if shape[-1] <= 3 else (0, 1)
    cells = []
    for impl in impls:
      def conv(x, k, impl=impl):
        return conv3d.conv3d_pooled(x, k, pool, impl) if pool else conv3d.IMPLS[impl](x, k)
      grad = jax.jit(jax.grad(lambda x, k: jnp.sum(conv(x, k) ** 2), argnums=argnums))
      cells.append(f"{_median_ms(jax.jit(conv), x, kernel, reps=args.reps):9.1f} /"
                   f"{_median_ms(grad, x, kernel, reps=args.reps):9.1f}  ")
    auto = conv3d.pick_conv("auto", features=out)
    auto_name = next(k for k, v in conv3d.IMPLS.items() if v is auto)
    print(f"{name:28s} {str(shape[1:]) + f' -> {out}':24s} " + " ".join(cells) + f"  {auto_name}")


if __name__ == "__main__":
  main()
