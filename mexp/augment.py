"""On-device augmentation, one sample at a time (vmapped over the batch inside the train step)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from mexp import config as config_lib
from mexp.preprocess.motion import FLOW_KINDS


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
  for x, is_flow in ((raw_TxHxWxC, False), (saliency_TxHxWxS, saliency_kind in FLOW_KINDS)):
    flipped = jnp.flip(x, axis=2)
    if is_flow:
      flipped = flipped.at[..., 0].multiply(-1.0)
    x = jnp.where(flip, flipped, x)
    x = shift(x, 0, dt, cfg.max_time_shift)
    x = shift(shift(x, 1, dy, cfg.max_shift), 2, dx, cfg.max_shift)
    out.append(x)
  return tuple(out)
