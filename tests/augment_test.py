import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mexp import augment as augment_lib
from mexp import config as config_lib


def _aug(seed, raw, sal, kind="median", **kw):
  cfg = config_lib.AugmentConfig(**{"flip": True, "max_shift": 0, "max_time_shift": 0, **kw})
  return augment_lib.augment(jax.random.key(seed), raw, sal, cfg, kind)


def test_augment_same_transform_on_both_streams():
  x = jax.random.uniform(jax.random.key(0), (4, 6, 6, 1))
  for seed in range(6):
    r, s = _aug(seed, x, x, max_shift=2, max_time_shift=1)
    np.testing.assert_array_equal(r, s)


@pytest.mark.parametrize("kind,channels", [("flow", 2), ("ststnet", 3)])
def test_flip_mirrors_and_negates_flow_u(kind, channels):
  raw = jnp.arange(4.0).reshape(1, 1, 4, 1) * jnp.ones((2, 3, 4, 1))
  values = [0.5, 0.25, 0.125][:channels]
  flow = jnp.concatenate([jnp.full((2, 3, 4, 1), v) for v in values], -1)
  flipped = [k for k in range(20) if _aug(k, raw, flow, kind)[0][0, 0, 0, 0] == 3.0]
  kept = [k for k in range(20) if _aug(k, raw, flow, kind)[0][0, 0, 0, 0] == 0.0]
  assert flipped and kept  # both outcomes happen
  r, s = _aug(flipped[0], raw, flow, kind)
  np.testing.assert_array_equal(r[0, 0, :, 0], [3, 2, 1, 0])
  np.testing.assert_allclose(s[0, 0, 0], [-0.5] + values[1:])  # only u changes sign
  _, s = _aug(kept[0], raw, flow, kind)
  np.testing.assert_allclose(s[0, 0, 0], values)


@pytest.mark.parametrize("kind", ["median", "strain"])
def test_flip_keeps_the_sign_of_other_kinds(kind):
  raw = jnp.arange(4.0).reshape(1, 1, 4, 1) * jnp.ones((2, 3, 4, 1))
  sal = jnp.full((2, 3, 4, 1), 0.5)
  flipped = [k for k in range(20) if _aug(k, raw, sal, kind)[0][0, 0, 0, 0] == 3.0]
  assert flipped
  np.testing.assert_array_equal(_aug(flipped[0], raw, sal, kind)[1], sal)


def test_shift_pads_with_the_edge():
  x = jnp.arange(5.0).reshape(5, 1, 1, 1) * jnp.ones((5, 2, 2, 1))
  outs = {tuple(np.asarray(_aug(k, x, x, flip=False, max_time_shift=1)[0][:, 0, 0, 0]).tolist())
          for k in range(30)}
  assert outs == {(0, 1, 2, 3, 4), (0, 0, 1, 2, 3), (1, 2, 3, 4, 4)}
