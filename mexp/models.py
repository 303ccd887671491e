"""Flax Linen two-stream 3D CNN (raw frames + saliency), and its single-stream ablations."""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from mexp import config as config_lib


def conv3d_xla(x_BxTxHxWxC: jax.Array, kernel_3x3x3xCxO: jax.Array) -> jax.Array:
  """XLA's native 3D convolution, SAME padding (cuDNN on GPU; slow on XLA:CPU)."""
  return lax.conv_general_dilated(x_BxTxHxWxC, kernel_3x3x3xCxO, (1, 1, 1), "SAME",
                                  dimension_numbers=("NDHWC", "DHWIO", "NDHWC"))


def conv3d_time_folded(x_BxTxHxWxC: jax.Array, kernel_3x3x3xCxO: jax.Array) -> jax.Array:
  """The 3 temporal taps folded into channels: one 2D convolution over B*T frames of 3C channels.

  XLA:CPU runs 2D convolutions through its fast GEMM path, which 3D ones do not take.
  """
  b, t, h, w, c = x_BxTxHxWxC.shape
  padded = jnp.pad(x_BxTxHxWxC, ((0, 0), (1, 1), (0, 0), (0, 0), (0, 0)))
  frames = jnp.concatenate([padded[:, k:k + t] for k in range(3)], axis=-1).reshape(b * t, h, w, 3 * c)
  kernel = jnp.transpose(kernel_3x3x3xCxO, (1, 2, 0, 3, 4)).reshape(3, 3, 3 * c, -1)
  out = lax.conv_general_dilated(frames, kernel, (1, 1), "SAME",
                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
  return out.reshape(b, t, h, w, -1)


def conv3d_im2col(x_BxTxHxWxC: jax.Array, kernel_3x3x3xCxO: jax.Array) -> jax.Array:
  """All 27 taps gathered into channels, then one matmul: best for few input channels."""
  b, t, h, w, c = x_BxTxHxWxC.shape
  padded = jnp.pad(x_BxTxHxWxC, ((0, 0), (1, 1), (1, 1), (1, 1), (0, 0)))
  patches = jnp.concatenate([padded[:, i:i + t, j:j + h, k:k + w]
                             for i in range(3) for j in range(3) for k in range(3)], axis=-1)
  return jnp.dot(patches.reshape(-1, 27 * c), kernel_3x3x3xCxO.reshape(27 * c, -1)).reshape(
      b, t, h, w, -1)


def pick_conv(impl: str, in_channels: int, backend: str | None = None):
  """'auto': XLA's conv on GPU/TPU; on CPU im2col for <= 4 input channels, else time-folded."""
  if impl == "auto":
    if (backend or jax.default_backend()) != "cpu":
      impl = "xla"
    else:
      impl = "im2col" if in_channels <= 4 else "taps"
  return {"xla": conv3d_xla, "taps": conv3d_time_folded, "im2col": conv3d_im2col}[impl]


def max_pool3d(x_BxTxHxWxC: jax.Array, pool: tuple[int, int, int]) -> jax.Array:
  """Non-overlapping 3D max-pooling (stride = window, remainder dropped, as nn.max_pool VALID).

  A reshape and a max: its gradient is ~3x faster on XLA:CPU than reduce_window's
  select-and-scatter.
  """
  b, t, h, w, c = x_BxTxHxWxC.shape
  pt, ph, pw = pool
  x = x_BxTxHxWxC[:, :t // pt * pt, :h // ph * ph, :w // pw * pw]
  return x.reshape(b, t // pt, pt, h // ph, ph, w // pw, pw, c).max(axis=(2, 4, 6))


class Conv3D(nn.Module):
  """3x3x3 SAME convolution with nn.Conv's parameters ('kernel' DHWIO, 'bias'), fast on CPU too."""
  features: int
  impl: str = "auto"

  @nn.compact
  def __call__(self, x_BxTxHxWxC: jax.Array) -> jax.Array:
    c = x_BxTxHxWxC.shape[-1]
    kernel = self.param("kernel", nn.initializers.lecun_normal(), (3, 3, 3, c, self.features))
    bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
    return pick_conv(self.impl, c)(x_BxTxHxWxC, kernel) + bias


def _norm(kind: str):
  if kind == "layer":
    return nn.LayerNorm()
  if kind == "group":
    return nn.GroupNorm(num_groups=None, group_size=8)
  if kind == "none":
    return lambda x: x
  raise ValueError(f"unknown norm {kind!r}; expected 'layer', 'group' or 'none'")


def _width(width: int, factor: float) -> int:
  return max(4, int(round(width * factor)))


class Stream3D(nn.Module):
  """Conv3D -> norm -> ReLU -> 3D max-pool, once per (width, pool)."""
  widths: Sequence[int]
  pools: Sequence[tuple[int, int, int]]
  norm: str = "none"
  conv: str = "auto"

  @nn.compact
  def __call__(self, x_BxTxHxWxC: jax.Array) -> jax.Array:
    x = x_BxTxHxWxC
    for width, pool in zip(self.widths, self.pools):
      x = nn.relu(_norm(self.norm)(Conv3D(width, self.conv)(x)))
      x = max_pool3d(x, pool)
    return x


def drop_streams(rng: jax.Array, features: list[jax.Array], rates: Sequence[float]) -> list:
  """Zeroes each example's features from stream i with probability rates[i] (never all streams)."""
  b = features[0].shape[0]
  drop_BxS = jax.random.uniform(rng, (b, len(features))) < jnp.asarray(rates)
  drop_BxS = drop_BxS & ~jnp.all(drop_BxS, axis=1, keepdims=True)
  return [jnp.where(drop_BxS[:, i, None, None, None, None], 0.0, f) for i, f in enumerate(features)]


class TwoStream3DCNN(nn.Module):
  """Per-stream 3D CNNs, concatenated, shared 3D convs, global pooling and a dense head.

  With one stream in `config.streams` it is the single-stream ablation of the same network.
  """
  config: config_lib.ModelConfig
  num_classes: int

  @nn.compact
  def __call__(self, raw_BxTxHxWxC: jax.Array, saliency_BxTxHxWxS: jax.Array, *,
               train: bool) -> jax.Array:
    cfg = self.config
    inputs = {"raw": raw_BxTxHxWxC, "saliency": saliency_BxTxHxWxS}
    if not cfg.streams or set(cfg.streams) - set(inputs):
      raise ValueError(f"streams must be a non-empty subset of {tuple(inputs)}, not {cfg.streams}")
    widths = [_width(w, cfg.width_factor) for w in cfg.stream_widths]
    features = [Stream3D(widths, cfg.stream_pools, cfg.norm, cfg.conv, name=f"{s}_stream")(inputs[s])
                for s in cfg.streams]
    if cfg.stream_dropout and len(cfg.stream_dropout) != len(cfg.streams):
      raise ValueError(f"stream_dropout {cfg.stream_dropout} needs one rate per stream {cfg.streams}")
    if train and any(cfg.stream_dropout):
      features = drop_streams(self.make_rng("dropout"), features, cfg.stream_dropout)
    x = jnp.concatenate(features, axis=-1)
    for i, width in enumerate(cfg.shared_widths):
      x = nn.relu(_norm(cfg.norm)(Conv3D(_width(width, cfg.width_factor), cfg.conv,
                                         name=f"shared_conv{i}")(x)))
    x = max_pool3d(x, cfg.shared_pool)
    if cfg.head_pool == "mean":
      x = jnp.mean(x, axis=(1, 2, 3))  # global average pooling
    elif cfg.head_pool == "time":  # where on the face a movement happens is the label's cue
      x = jnp.mean(x, axis=1).reshape(x.shape[0], -1)
    else:
      raise ValueError(f"unknown head_pool {cfg.head_pool!r}; expected 'mean' or 'time'")
    for i, width in enumerate(cfg.dense):
      x = nn.relu(nn.Dense(width, name=f"dense{i}")(x))
      x = nn.Dropout(cfg.dropout, deterministic=not train)(x)
    return nn.Dense(self.num_classes, name="head")(x)


def parameter_count(params) -> int:
  return sum(math.prod(p.shape) for p in jax.tree_util.tree_leaves(params))


def forward_gflops(model: TwoStream3DCNN, params, raw_1xTxHxWxC, saliency_1xTxHxWxS) -> float:
  """Forward GFLOPs for one clip, from XLA's cost analysis of the compiled forward pass."""
  fn = jax.jit(lambda p, r, s: model.apply({"params": p}, r, s, train=False))
  cost = fn.lower(params, raw_1xTxHxWxC, saliency_1xTxHxWxS).compile().cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  return float(cost.get("flops", 0.0)) / 1e9
