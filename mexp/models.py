"""Flax Linen two-stream 3D CNN (raw frames + saliency), and its single-stream ablations."""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from mexp import config as config_lib
from mexp.conv3d import conv3d_pooled, max_pool3d, pick_conv
from mexp.preprocess import align


class Conv3D(nn.Module):
  """3x3x3 SAME convolution with nn.Conv's parameters ('kernel' DHWIO, 'bias'), fast on CPU too.

  With `pool`, the output is max-pooled before the bias is added: the same values as pooling
  after it (the bias is per channel), with 4-8x fewer elements to add to and to rectify.
  """
  features: int
  impl: str = "auto"
  pool: tuple[int, int, int] | None = None

  @nn.compact
  def __call__(self, x_BxTxHxWxC: jax.Array) -> jax.Array:
    c = x_BxTxHxWxC.shape[-1]
    kernel = self.param("kernel", nn.initializers.lecun_normal(), (3, 3, 3, c, self.features))
    bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
    if self.pool:
      return conv3d_pooled(x_BxTxHxWxC, kernel, self.pool, self.impl) + bias
    return pick_conv(self.impl, features=self.features)(x_BxTxHxWxC, kernel) + bias


def _width(width: int, factor: float) -> int:
  return max(4, int(round(width * factor)))


class Stream3D(nn.Module):
  """Conv3D -> ReLU -> 3D max-pool, once per (width, pool)."""
  widths: Sequence[int]
  pools: Sequence[tuple[int, int, int]]
  conv: str = "auto"

  @nn.compact
  def __call__(self, x_BxTxHxWxC: jax.Array) -> jax.Array:
    x = x_BxTxHxWxC
    for width, pool in zip(self.widths, self.pools):
      # Max-pool commutes with ReLU and the bias: the convolution pools first.
      x = nn.relu(Conv3D(width, self.conv, pool=pool)(x))
    return x


def _pool_head(x_BxTxHxWxC: jax.Array, head_pool: str) -> jax.Array:
  """'mean': global average pooling; 'time': mean over time, the face layout kept (flattened):
  where on the face a movement happens is the label's cue. config.validate checks the name."""
  if head_pool == "mean":
    return jnp.mean(x_BxTxHxWxC, axis=(1, 2, 3))
  return jnp.mean(x_BxTxHxWxC, axis=1).reshape(x_BxTxHxWxC.shape[0], -1)


def changes(x_BxTxHxWxC: jax.Array) -> jax.Array:
  """Each pixel's mean over the clip removed, then unit deviation per clip and channel: what
  changes in the clip, with the face's static appearance (who the subject is) taken out."""
  centred = x_BxTxHxWxC - jnp.mean(x_BxTxHxWxC, axis=1, keepdims=True)
  return centred / (jnp.std(centred, axis=(1, 2, 3), keepdims=True) + 1e-3)


class TwoStream3DCNN(nn.Module):
  """Per-stream 3D CNNs, concatenated, shared 3D convs, global pooling and a dense head.

  With one stream in `config.streams` it is the single-stream ablation of the same network.
  With `fusion='late'`, one such single-stream network per stream, and logits (B, S, K).
  """
  config: config_lib.ModelConfig
  num_classes: int

  @nn.compact
  def __call__(self, raw_BxTxHxWxC: jax.Array, saliency_BxTxHxWxS: jax.Array, *,
               train: bool) -> jax.Array:
    cfg = self.config
    if cfg.fusion == "late" and len(cfg.streams) > 1:
      nets = [TwoStream3DCNN(single_stream(cfg, s), self.num_classes, name=f"{s}_net")
              for s in cfg.streams]
      return jnp.stack([net(raw_BxTxHxWxC, saliency_BxTxHxWxS, train=train) for net in nets],
                       axis=1)
    if cfg.mask_eyes:  # before `changes`, so a blink does not reach its normalisation either
      raw_BxTxHxWxC, saliency_BxTxHxWxS = mask_eyes(raw_BxTxHxWxC), mask_eyes(saliency_BxTxHxWxS)
    if cfg.raw_input == "changes":
      raw_BxTxHxWxC = changes(raw_BxTxHxWxC)
    inputs = {"raw": raw_BxTxHxWxC, "saliency": saliency_BxTxHxWxS}
    if cfg.space_to_depth > 1:
      inputs = {k: space_to_depth(v, cfg.space_to_depth) for k, v in inputs.items()}
    widths = [_width(w, cfg.width_factor) for w in cfg.stream_widths]
    features = [Stream3D(widths, cfg.stream_pools, cfg.conv, name=f"{s}_stream")(inputs[s])
                for s in cfg.streams]
    x = jnp.concatenate(features, axis=-1)
    # The last shared conv pools before its bias and ReLU, as in Stream3D.
    fuse_pool = len(cfg.shared_widths) > 0
    for i, width in enumerate(cfg.shared_widths):
      last = i == len(cfg.shared_widths) - 1
      conv = Conv3D(_width(width, cfg.width_factor), cfg.conv,
                    pool=cfg.shared_pool if last else None, name=f"shared_conv{i}")
      x = nn.relu(conv(x))
    x = _pool_head(x if fuse_pool else max_pool3d(x, cfg.shared_pool), cfg.head_pool)
    for i, width in enumerate(cfg.dense):
      x = nn.relu(nn.Dense(width, name=f"dense{i}")(x))
      x = nn.Dropout(cfg.dropout, deterministic=not train)(x)
    logits = nn.Dense(self.num_classes, name="head")(x)
    if cfg.motion_path_grid:  # config.validate: only beside a saliency stream
      pooled = area_pool(motion_path_view(saliency_BxTxHxWxS, cfg.motion_path_input),
                         cfg.motion_path_grid)
      logits = logits + nn.Dense(self.num_classes, name="motion_path")(
          pooled.reshape(pooled.shape[0], -1))
    return logits


def reads_centre_frame(cfg: config_lib.ModelConfig) -> bool:
  """Whether the model reads only a clip's centre (apex) frame: the published baselines. They
  are then given that frame alone, in training and in predict (input_pipeline.centre_frame)."""
  return cfg.arch != "two_stream"


def build(cfg: config_lib.ModelConfig, num_classes: int) -> nn.Module:
  """The network a config names: the two-stream 3D CNN, or a published baseline."""
  from mexp import published
  if cfg.arch == "ststnet":
    return published.STSTNet(num_classes, cfg.dropout)
  if cfg.arch == "off_apexnet":
    return published.OffApexNet(num_classes, cfg.dropout)
  return TwoStream3DCNN(cfg, num_classes)


def single_stream(cfg: config_lib.ModelConfig, stream: str) -> config_lib.ModelConfig:
  """One stream's own network for late fusion: the single-stream ablation's (the motion path
  only beside the saliency stream)."""
  return dataclasses.replace(
      cfg, streams=(stream,), fusion="concat",
      motion_path_grid=cfg.motion_path_grid if stream == "saliency" else 0)


def space_to_depth(x_BxTxHxWxC: jax.Array, k: int) -> jax.Array:
  """(B, T, H, W, C) -> (B, T, H / k, W / k, k * k * C): each k x k block of pixels as channels."""
  b, t, h, w, c = x_BxTxHxWxC.shape
  if h % k or w % k:
    raise ValueError(f"space_to_depth {k} needs H and W divisible by it, not {h}x{w}")
  x = x_BxTxHxWxC.reshape(b, t, h // k, k, w // k, k, c).transpose(0, 1, 2, 4, 3, 5, 6)
  return x.reshape(b, t, h // k, w // k, k * k * c)


def mask_eyes(x_BxTxHxWxC: jax.Array) -> jax.Array:
  """x zeroed on the eyes and lids of a landmark-aligned crop (align.eye_mask)."""
  mask_HxW = align.eye_mask(x_BxTxHxWxC.shape[2:4])
  return x_BxTxHxWxC * jnp.asarray(mask_HxW, x_BxTxHxWxC.dtype)[:, :, None]


def probabilities(logits: jax.Array, average: str = "probs",
                  weights: tuple[float, ...] = ()) -> jax.Array:
  """Class probabilities (B, K) from logits (B, K), or from (B, S, K) per stream: the mean of
  their probabilities ('probs') or the renormalised mean of their log-probabilities
  ('log_probs'), weighted by `weights` (one per stream, normalised; () = equal)."""
  if logits.ndim == 2:
    return jax.nn.softmax(logits, axis=-1)
  w_S = jnp.full(logits.shape[1], 1.0) if not weights else jnp.asarray(weights, jnp.float32)
  w_1xSx1 = (w_S / jnp.sum(w_S))[None, :, None]
  if average == "probs":
    return jnp.sum(w_1xSx1 * jax.nn.softmax(logits, axis=-1), axis=1)
  # 'log_probs' (config.validate checks the name)
  return jax.nn.softmax(jnp.sum(w_1xSx1 * jax.nn.log_softmax(logits, axis=-1), axis=1), axis=-1)


def fused_probabilities(cfg: config_lib.ModelConfig):
  """logits -> class probabilities (B, K) under cfg's late_average and late_weights."""
  return functools.partial(probabilities, average=cfg.late_average, weights=cfg.late_weights)


def motion_path_view(saliency_BxTxHxWxS: jax.Array, kind: str) -> jax.Array:
  """What the motion path reads, (B, H, W, C): 'mean', the clip's mean over time (every channel);
  'apex_uv', the centre frame's u and v (the onset -> apex flow of apex-centred flow clips)."""
  if kind == "mean":
    return jnp.mean(saliency_BxTxHxWxS, axis=1)
  return saliency_BxTxHxWxS[:, saliency_BxTxHxWxS.shape[1] // 2, :, :, :2]  # 'apex_uv'


def area_pool(x_BxHxWxC: jax.Array, grid: int) -> jax.Array:
  """Means over a grid x grid tiling of (H, W) (remainders dropped): (B, grid, grid, C)."""
  b, h, w, c = x_BxHxWxC.shape
  if grid > min(h, w):
    raise ValueError(f"motion_path_grid {grid} exceeds the {h}x{w} input")
  x = x_BxHxWxC[:, :h // grid * grid, :w // grid * grid]
  return x.reshape(b, grid, h // grid, grid, w // grid, c).mean(axis=(2, 4))


def parameter_count(params) -> int:
  return sum(math.prod(p.shape) for p in jax.tree_util.tree_leaves(params))


def forward_gflops(model: nn.Module, variables, raw_1xTxHxWxC, saliency_1xTxHxWxS) -> float:
  """Forward GFLOPs for one clip, from XLA's cost analysis of the lowered forward pass over the
  model's variables (arrays or jax.ShapeDtypeStructs: nothing is compiled)."""
  fn = jax.jit(lambda v, r, s: model.apply(v, r, s, train=False))
  cost = fn.lower(variables, raw_1xTxHxWxC, saliency_1xTxHxWxS).cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  return float(cost.get("flops", 0.0)) / 1e9
