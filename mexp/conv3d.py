"""3x3x3 SAME convolutions and 3D max-pooling, fast on XLA:CPU forward and backward."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax import lax

# One loop step's patch matrix stays within this many bytes, so its matmul reads it from cache
# instead of streaming it through memory (benchmarks/train.py on a 2-core AMD EPYC: 4 MB took the
# 32x32 peer step from 164 to 151 ms against 2 MB, 166 at 3 MB and 164 at 1 MB; 64x64 unchanged).
CHUNK_BYTES = 4 << 20
# Up to this many input channels, patches are laid out taps-major (27 rows of one tap each copy
# in long runs, not a few floats per position).
FEW_CHANNELS = 4


def conv3d_xla(x_BxTxHxWxC: jax.Array, kernel_3x3x3xCxO: jax.Array) -> jax.Array:
  """XLA's native 3D convolution, SAME padding (cuDNN on GPU; slow on XLA:CPU)."""
  return lax.conv_general_dilated(x_BxTxHxWxC, kernel_3x3x3xCxO, (1, 1, 1), "SAME",
                                  dimension_numbers=("NDHWC", "DHWIO", "NDHWC"))


def conv3d_time_folded(x_BxTxHxWxC: jax.Array, kernel_3x3x3xCxO: jax.Array) -> jax.Array:
  """The 3 temporal taps folded into channels: one 2D convolution over B*T frames of 3C channels."""
  b, t, h, w, c = x_BxTxHxWxC.shape
  padded = jnp.pad(x_BxTxHxWxC, ((0, 0), (1, 1), (0, 0), (0, 0), (0, 0)))
  frames = jnp.concatenate([padded[:, k:k + t] for k in range(3)], axis=-1).reshape(b * t, h, w, 3 * c)
  kernel = jnp.transpose(kernel_3x3x3xCxO, (1, 2, 0, 3, 4)).reshape(3, 3, 3 * c, -1)
  out = lax.conv_general_dilated(frames, kernel, (1, 1), "SAME",
                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
  return out.reshape(b, t, h, w, -1)


def _gather_taps(x: jax.Array, axes: tuple[int, int, int], sizes: tuple[int, int, int],
                 first: bool) -> jax.Array:
  """The 3x3x3 taps of x's (T, H, W) `axes`, on 3 new axes (DHW): leading, or before the last."""
  # A tree of three-way concatenations, slices at its leaves: XLA:CPU fuses it into one kernel,
  # where it leaves a 27-operand concatenation and its slices as 28 (slower, and slow to compile).
  def taps(x, level):
    if level == 3:
      return x
    parts = [taps(lax.slice_in_dim(x, k, k + sizes[level], axis=axes[level]), level + 1)
             for k in range(3)]
    new_axis = 0 if first else level - 4  # outside the deeper levels' taps axes
    return jnp.concatenate([jnp.expand_dims(p, new_axis) for p in parts], axis=new_axis)
  return taps(x, 0)


def conv3d_im2col(x_BxTxHxWxC: jax.Array, kernel_3x3x3xCxO: jax.Array) -> jax.Array:
  """All 27 taps gathered into channels at once, then one matmul."""
  b, t, h, w, c = x_BxTxHxWxC.shape
  padded = jnp.pad(x_BxTxHxWxC, ((0, 0), (1, 1), (1, 1), (1, 1), (0, 0)))
  patches = _gather_taps(padded, (1, 2, 3), (t, h, w), False).reshape(-1, 27 * c)
  return jnp.dot(patches, kernel_3x3x3xCxO.reshape(27 * c, -1)).reshape(b, t, h, w, -1)


def _divisors(n: int) -> list[int]:
  return [d for d in range(1, n + 1) if n % d == 0]


def chunking(b: int, t: int, h: int, w: int, c: int, frames_multiple: int = 1) -> tuple[int, int]:
  """(clips, frames) per loop step, so that one step's patch matrix fits CHUNK_BYTES.

  Args:
    b, t, h, w, c: the input's shape.
    frames_multiple: the frames of a step are a multiple of this (a pooling window's).

  Returns:
    Whole clips, as many as fit, when one does; else (1, the largest fitting divisor of T that is
    a multiple of frames_multiple, or the smallest such divisor).
  """
  frame_bytes = h * w * 27 * c * 4
  if t * frame_bytes <= CHUNK_BYTES:
    return max(d for d in _divisors(b) if d * t * frame_bytes <= CHUNK_BYTES), t
  frames = [d for d in _divisors(t) if d % frames_multiple == 0]
  return 1, max([d for d in frames if d * frame_bytes <= CHUNK_BYTES], default=frames[0])


class _Steps:
  """A batch cut into loop steps of `clips` x `frames` (clip-major: stacked outputs are BxT)."""

  def __init__(self, x_BxTxHxWxC: jax.Array, frames_multiple: int = 1):
    b, t, h, w, c = self.shape = x_BxTxHxWxC.shape
    self.clips, self.frames = chunking(b, t, h, w, c, frames_multiple)
    self.per_clip = t // self.frames
    self.count = b // self.clips * self.per_clip
    self.taps_major = c <= FEW_CHANNELS
    padded = jnp.pad(x_BxTxHxWxC, ((0, 0), (1, 1), (1, 1), (1, 1), (0, 0)))
    self.padded = jnp.moveaxis(padded, -1, 0) if self.taps_major else padded  # CxBxTxHxW

  def patches(self, i: jax.Array) -> jax.Array:
    """Step i's patches: (rows, 27C), or (27C, rows) taps-major; DHWI order, as the kernel."""
    _, _, h, w, c = self.shape
    g = self.frames
    start = [i // self.per_clip * self.clips, i % self.per_clip * g, 0, 0]
    size = [self.clips, g + 2, h + 2, w + 2]
    if self.taps_major:  # taps on new leading axes: (3, 3, 3, C, clips, g, h, w)
      x = lax.dynamic_slice(self.padded, [0] + start, [c] + size)
      return _gather_taps(x, (2, 3, 4), (g, h, w), True).reshape(27 * c, -1)
    # taps on new axes before the channels: (clips, g, h, w, 3, 3, 3, C)
    x = lax.dynamic_slice(self.padded, start + [0], size + [c])
    return _gather_taps(x, (1, 2, 3), (g, h, w), False).reshape(-1, 27 * c)

  def conv(self, patches: jax.Array, kernel_3x3x3xCxO: jax.Array) -> jax.Array:
    """One step's convolution output, (rows, O)."""
    kernel = kernel_3x3x3xCxO.reshape(-1, kernel_3x3x3xCxO.shape[-1])
    if self.taps_major:
      return lax.dot_general(patches, kernel, (((0,), (0,)), ((), ())))
    return jnp.dot(patches, kernel)

  def kernel_grad(self, patches: jax.Array, dy_RxO: jax.Array) -> jax.Array:
    """One step's share of the kernel gradient: (27C, O) taps-major, else (O, 27C)."""
    if self.taps_major:
      return jnp.dot(patches, dy_RxO)
    # dy^T x patches, not patches^T x dy: XLA:CPU multiplies a row-contracting left operand ~30%
    # slower, and dy's transpose is O columns (fused into the unpooling that makes it), not 27C.
    return jnp.dot(dy_RxO.T, patches)

  def split(self, a_BxTxHxWxK: jax.Array) -> jax.Array:
    """An array in BxT order -> (steps, rows, K), cut as the input is."""
    return a_BxTxHxWxK.reshape(self.count, -1, a_BxTxHxWxK.shape[-1])


def _forward(x_BxTxHxWxC: jax.Array, kernel_3x3x3xCxO: jax.Array) -> jax.Array:
  b, t, h, w, _ = x_BxTxHxWxC.shape
  steps = _Steps(x_BxTxHxWxC)
  out = lax.map(lambda i: steps.conv(steps.patches(i), kernel_3x3x3xCxO), jnp.arange(steps.count))
  return out.reshape(b, t, h, w, -1)


def _kernel_grad(steps: _Steps, dy_rows, o: int, dtype) -> jax.Array:
  """The sum over steps of patches(i)^T x dy_rows(i), as a 3x3x3xCxO kernel."""
  c = steps.shape[-1]

  def add(i, acc):
    return acc + steps.kernel_grad(steps.patches(i), dy_rows(i))
  acc = lax.fori_loop(0, steps.count, add,
                      jnp.zeros((27 * c, o) if steps.taps_major else (o, 27 * c), dtype))
  return (acc if steps.taps_major else acc.T).reshape(3, 3, 3, c, o)


def _input_grad(dy_BxTxHxWxO: jax.Array, kernel_3x3x3xCxO: jax.Array) -> jax.Array:
  # The transpose of a SAME, stride-1 convolution: the same convolution with the kernel flipped
  # in time and space and its input and output channels swapped.
  flipped = jnp.swapaxes(kernel_3x3x3xCxO[::-1, ::-1, ::-1], 3, 4)
  return _forward(dy_BxTxHxWxO, flipped)


# XLA:CPU runs dots fast, but a 3D convolution, and the kernel gradient of a 2D one, far below
# matmul speed. So the clips are walked a few frames at a time: each step gathers the 27 taps of
# its frames into a patch matrix small enough to stay in cache and multiplies it by the kernel.
# The input gradient is the same convolution of the output gradient with the kernel flipped; the
# kernel gradient sums patches-transpose x output-gradient over the same steps.
@jax.custom_vjp
def _conv3d_chunked(x_BxTxHxWxC: jax.Array, kernel_3x3x3xCxO: jax.Array) -> jax.Array:
  return _forward(x_BxTxHxWxC, kernel_3x3x3xCxO)


def _chunked_fwd(x, kernel):
  return _forward(x, kernel), (x, kernel)


def _chunked_bwd(res, dy_BxTxHxWxO):
  x, kernel = res
  steps = _Steps(x)
  dy_SxRxO = steps.split(dy_BxTxHxWxO)
  return (_input_grad(dy_BxTxHxWxO, kernel),
          _kernel_grad(steps, lambda i: dy_SxRxO[i], dy_SxRxO.shape[-1], dy_SxRxO.dtype))


_conv3d_chunked.defvjp(_chunked_fwd, _chunked_bwd)


def _per_device(f, x_BxTxHxWxC: jax.Array, kernel: jax.Array) -> jax.Array:
  # The clips in jax.device_count() groups side by side (vmap): the loops then index clips within
  # a group, so a batch sharded over the devices is convolved where it lies, never gathered.
  b = x_BxTxHxWxC.shape[0]
  groups = math.gcd(b, jax.device_count())
  if groups == 1:
    return f(x_BxTxHxWxC, kernel)
  x_GxNxTxHxWxC = x_BxTxHxWxC.reshape((groups, -1) + x_BxTxHxWxC.shape[1:])
  y = jax.vmap(f, in_axes=(0, None))(x_GxNxTxHxWxC, kernel)
  return y.reshape((b,) + y.shape[2:])


@jax.jit  # also outside jit: one compile per shape, not one per loop per call
def conv3d_chunked(x_BxTxHxWxC: jax.Array, kernel_3x3x3xCxO: jax.Array) -> jax.Array:
  """conv3d_xla's result, by cache-sized im2col steps in the forward and backward pass (CPU).

  Args:
    x_BxTxHxWxC: the input clips.
    kernel_3x3x3xCxO: the kernel, DHWIO. CHUNK_BYTES and FEW_CHANNELS are read when traced.

  Returns:
    (B, T, H, W, O), SAME padding.
  """
  return _per_device(_conv3d_chunked, x_BxTxHxWxC, kernel_3x3x3xCxO)


def max_pool3d(x_BxTxHxWxC: jax.Array, pool: tuple[int, int, int]) -> jax.Array:
  """Non-overlapping 3D max-pooling (stride = window, remainder dropped, as nn.max_pool VALID).

  A reshape and a max: its gradient is ~3x faster on XLA:CPU than reduce_window's
  select-and-scatter.
  """
  b, t, h, w, c = x_BxTxHxWxC.shape
  pt, ph, pw = pool
  x = x_BxTxHxWxC[:, :t // pt * pt, :h // ph * ph, :w // pw * pw]
  return x.reshape(b, t // pt, pt, h // ph, ph, w // pw, pw, c).max(axis=(2, 4, 6))


def _window_bits(pool: tuple[int, int, int]) -> jax.Array:
  """Each position of a pooling window's own bit, shaped to broadcast over a windows array."""
  pt, ph, pw = pool
  return (jnp.arange(pt * ph * pw, dtype=jnp.uint32).reshape(pt, ph, pw)
          [None, None, :, None, :, None, :, None])


# The fused pooling keeps one bit per window position: windows of up to this many.
MAX_WINDOW = 32


def _fusable(t: int, pool: tuple[int, int, int]) -> bool:
  """Whether conv3d_max_pool takes T frames and this pool: T a multiple, <= MAX_WINDOW positions."""
  return t % pool[0] == 0 and math.prod(pool) <= MAX_WINDOW


def _mask_dtype(pool: tuple[int, int, int]):
  size = math.prod(pool)
  return jnp.uint8 if size <= 8 else jnp.uint16 if size <= 16 else jnp.uint32


def _windows(y_NxGxHxWxO: jax.Array, pool: tuple[int, int, int]) -> jax.Array:
  n, g, h, w, o = y_NxGxHxWxO.shape
  pt, ph, pw = pool
  hc, wc = h // ph * ph, w // pw * pw
  return y_NxGxHxWxO[:, :, :hc, :wc].reshape(n, g // pt, pt, hc // ph, ph, wc // pw, pw, o)


def _pool_and_hits(y_NxGxHxWxO: jax.Array, pool: tuple[int, int, int]):
  """max_pool3d(y, pool), and per pooled value a bit mask of its window's maxima."""
  windows = _windows(y_NxGxHxWxO, pool)
  pooled = windows.max(axis=(2, 4, 6))
  bits = jnp.where(windows == pooled[:, :, None, :, None, :, None], 1 << _window_bits(pool), 0)
  return pooled, bits.sum(axis=(2, 4, 6)).astype(_mask_dtype(pool))


def _unpool(hits: jax.Array, dpooled: jax.Array, shape_NxGxHxWxO: tuple[int, ...],
            pool: tuple[int, int, int]) -> jax.Array:
  """max_pool3d's input gradient: split equally among each window's maxima, as jnp.max's is."""
  n, g, h, w, o = shape_NxGxHxWxO
  pt, ph, pw = pool
  hc, wc = h // ph * ph, w // pw * pw
  share = dpooled / lax.population_count(hits).astype(dpooled.dtype)
  hit = (hits[:, :, None, :, None, :, None].astype(jnp.uint32) >> _window_bits(pool)) & 1
  dy = jnp.where(hit == 1, share[:, :, None, :, None, :, None], 0.0).reshape(n, g, hc, wc, o)
  return jnp.pad(dy, ((0, 0), (0, 0), (0, h - hc), (0, w - wc), (0, 0)))


def _pool_fwd(x, kernel, pool):
  b, t, h, w, _ = x.shape
  steps = _Steps(x, pool[0])

  def step(i):
    y_RxO = steps.conv(steps.patches(i), kernel)
    return _pool_and_hits(y_RxO.reshape(steps.clips, steps.frames, h, w, -1), pool)
  pooled, hits = lax.map(step, jnp.arange(steps.count))
  shape = (b, t // pool[0], h // pool[1], w // pool[2], kernel.shape[-1])
  return pooled.reshape(shape), (x, kernel, hits)


def _pool_bwd(pool, res, dpooled):
  x, kernel, hits = res
  b, t, h, w, _ = x.shape
  o = kernel.shape[-1]
  steps = _Steps(x, pool[0])
  shape = (steps.clips, steps.frames, h, w, o)
  dpooled_steps = dpooled.reshape((steps.count,) + hits.shape[1:])

  def dy_rows(i):
    return _unpool(hits[i], dpooled_steps[i], shape, pool).reshape(-1, o)

  dkernel = _kernel_grad(steps, dy_rows, o, dpooled.dtype)
  # Only computed when the input needs a gradient: for the first layer XLA drops it as dead code.
  # Unpooled whole, not in a loop: a loop's stacked output would be zero-filled first.
  dy = _unpool(hits.reshape(dpooled.shape), dpooled, (b, t, h, w, o), pool)
  return _input_grad(dy, kernel), dkernel


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _conv3d_max_pool(x_BxTxHxWxC: jax.Array, kernel_3x3x3xCxO: jax.Array,
                     pool: tuple[int, int, int]) -> jax.Array:
  return _pool_fwd(x_BxTxHxWxC, kernel_3x3x3xCxO, pool)[0]


_conv3d_max_pool.defvjp(_pool_fwd, _pool_bwd)


@functools.partial(jax.jit, static_argnums=2)
def conv3d_max_pool(x_BxTxHxWxC: jax.Array, kernel_3x3x3xCxO: jax.Array,
                    pool: tuple[int, int, int]) -> jax.Array:
  """max_pool3d(conv3d_chunked(x, kernel), pool), pooled inside each step, in cache.

  The full-resolution output is never written: for the backward pass each pooled value keeps a
  bit mask of its window's maxima (one byte for windows of up to 8).

  Args:
    x_BxTxHxWxC: the input clips; T a multiple of pool[0].
    kernel_3x3x3xCxO: the kernel, DHWIO.
    pool: the (T, H, W) window, also the stride, of at most MAX_WINDOW positions; H and W
      remainders are dropped.

  Returns:
    (B, T // pool[0], H // pool[1], W // pool[2], O).
  """
  if not _fusable(x_BxTxHxWxC.shape[1], pool):
    raise ValueError(f"conv3d_max_pool: pool {pool} needs at most {MAX_WINDOW} positions and T "
                     f"({x_BxTxHxWxC.shape[1]}) a multiple of its first size")
  return _per_device(lambda x, k: _conv3d_max_pool(x, k, pool), x_BxTxHxWxC,
                     kernel_3x3x3xCxO)


IMPLS = {"xla": conv3d_xla, "taps": conv3d_time_folded, "im2col": conv3d_im2col,
         "chunked": conv3d_chunked}


# Up to this many output channels, auto on CPU takes conv3d_time_folded: XLA's 2D convolution
# beats the patch-matrix steps there, whose skinny matmuls leave the cores idle (measured by
# benchmarks/layers.py: 3 -> 8 channels at 32x32, fwd+bwd 9 ms against 33 ms).
NARROW = 16


def pick_conv(impl: str, backend: str | None = None, features: int | None = None):
  """'auto': XLA's convolution on GPU/TPU; on CPU conv3d_time_folded up to NARROW output
  channels (`features`), else conv3d_chunked. Any other name: IMPLS[impl]."""
  if impl == "auto":
    if (backend or jax.default_backend()) != "cpu":
      impl = "xla"
    else:
      impl = "taps" if features is not None and features <= NARROW else "chunked"
  return IMPLS[impl]


def conv3d_pooled(x_BxTxHxWxC: jax.Array, kernel_3x3x3xCxO: jax.Array,
                  pool: tuple[int, int, int], impl: str = "auto") -> jax.Array:
  """max_pool3d(pick_conv(impl)(x, kernel), pool), fused (conv3d_max_pool) where it applies.

  Args:
    x_BxTxHxWxC: the input clips.
    kernel_3x3x3xCxO: the kernel, DHWIO.
    pool: the (T, H, W) pooling window, also its stride; remainders are dropped.
    impl: 'auto', or a key of IMPLS.

  Returns:
    (B, T // pool[0], H // pool[1], W // pool[2], O).
  """
  conv = pick_conv(impl, features=kernel_3x3x3xCxO.shape[-1])
  if conv is conv3d_chunked and _fusable(x_BxTxHxWxC.shape[1], pool):
    return conv3d_max_pool(x_BxTxHxWxC, kernel_3x3x3xCxO, tuple(pool))
  return max_pool3d(conv(x_BxTxHxWxC, kernel_3x3x3xCxO), pool)
