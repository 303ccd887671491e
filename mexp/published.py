"""The MEGC 2019 baselines as published, on the onset -> apex flow of the project's clips.

Both read the apex frame of an apex-centred `ststnet` (u, v, strain) or `flow` (u, v) saliency
clip, resized to the papers' 28x28; the raw frames are not used. Where the project's flow differs
from the papers' TV-L1 is in docs/results.md.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import linen as nn

SIZE = 28  # both papers' input side


def apex_flow(saliency_BxTxHxWxS: jax.Array, channels: tuple[int, ...]) -> jax.Array:
  """(B, 28, 28, len(channels)): the centre (apex) frame's chosen channels, area-resized."""
  apex = saliency_BxTxHxWxS[:, saliency_BxTxHxWxS.shape[1] // 2][..., list(channels)]
  return jax.image.resize(apex, (apex.shape[0], SIZE, SIZE, len(channels)), "linear",
                          antialias=True)


class STSTNet(nn.Module):
  """Liong et al., 2019, as the authors' released code builds it: optical strain, u and v as one
  3-channel 28x28 image; three parallel 3x3 convolutions (padding 2) of 3, 5 and 8 filters, each
  ReLU, BatchNorm, 3x3 max-pool with stride 3 (padding 1) and dropout; the 16 channels
  concatenated, 2x2 average pool, one dense layer (1,683 parameters at 3 classes, BatchNorm's
  running statistics aside). In training, mask_B (1: a real clip, 0: a batch's padding) keeps
  padding out of BatchNorm's statistics."""
  num_classes: int
  dropout: float = 0.5

  @nn.compact
  def __call__(self, raw_BxTxHxWxC: jax.Array, saliency_BxTxHxWxS: jax.Array, *,
               train: bool, mask_B: jax.Array | None = None) -> jax.Array:
    del raw_BxTxHxWxC
    x = apex_flow(saliency_BxTxHxWxS, (2, 0, 1))  # (strain, u, v), the paper's order
    branches = []
    for filters in (3, 5, 8):
      y = nn.relu(nn.Conv(filters, (3, 3), padding=2)(x))  # 28 -> 30
      mask = None if mask_B is None else jnp.broadcast_to(
          mask_B[:, None, None, None] > 0, y.shape)
      # momentum 0.9 is PyTorch's default 0.1 written the other way round
      y = nn.BatchNorm(use_running_average=not train, momentum=0.9)(y, mask=mask)
      y = nn.max_pool(y, (3, 3), strides=(3, 3), padding=((1, 1), (1, 1)))  # 30 -> 10
      branches.append(nn.Dropout(self.dropout, deterministic=not train)(y))
    x = nn.avg_pool(jnp.concatenate(branches, axis=-1), (2, 2), strides=(2, 2))  # 5x5x16
    return nn.Dense(self.num_classes)(x.reshape(x.shape[0], -1))


class OffApexNet(nn.Module):
  """Gan et al., 2019: u and v of the onset -> apex flow, each a 28x28 stream of conv 5x5 x6,
  max-pool 2, conv 5x5 x16, max-pool 2 (ReLU after each convolution); the two concatenated,
  then dense layers of 1024 and 1024 (ReLU, dropout) and the classes."""
  num_classes: int
  dropout: float = 0.5

  @nn.compact
  def __call__(self, raw_BxTxHxWxC: jax.Array, saliency_BxTxHxWxS: jax.Array, *,
               train: bool) -> jax.Array:
    del raw_BxTxHxWxC
    uv = apex_flow(saliency_BxTxHxWxS, (0, 1))
    features = []
    for i, name in enumerate(("u", "v")):
      y = uv[..., i:i + 1]
      for j, filters in enumerate((6, 16)):
        y = nn.relu(nn.Conv(filters, (5, 5), padding="SAME", name=f"{name}_conv{j}")(y))
        y = nn.max_pool(y, (2, 2), strides=(2, 2))  # 28 -> 14 -> 7
      features.append(y.reshape(y.shape[0], -1))
    x = jnp.concatenate(features, axis=-1)  # 2 x 7 x 7 x 16
    for width in (1024, 1024):
      x = nn.Dropout(self.dropout, deterministic=not train)(nn.relu(nn.Dense(width)(x)))
    return nn.Dense(self.num_classes)(x)
