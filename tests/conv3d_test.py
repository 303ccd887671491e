import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from mexp import conv3d


@pytest.fixture
def chunk_bytes(request, monkeypatch):
  """conv3d.CHUNK_BYTES set to the test's parameter (read when traced: jit caches are cleared)."""
  def clear():
    conv3d.conv3d_chunked.clear_cache()
    conv3d.conv3d_max_pool.clear_cache()
  monkeypatch.setattr(conv3d, "CHUNK_BYTES", request.param)
  clear()
  yield request.param
  monkeypatch.undo()
  clear()


def _reference(x, kernel):
  return lax.conv_general_dilated(x, kernel, (1, 1, 1), "SAME",
                                  dimension_numbers=("NDHWC", "DHWIO", "NDHWC"))


def _value_and_grads(f, x, kernel):
  """f(x, kernel) and the input and kernel gradients of sum(cos(f) * weights)."""
  y, vjp = jax.vjp(f, x, kernel)
  dy = jnp.cos(jnp.arange(y.size, dtype=y.dtype).reshape(y.shape))  # no two alike
  return (y, *vjp(dy))


def _assert_close(ours, expected):
  for a, b in zip(ours, expected):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * float(jnp.max(jnp.abs(b))))


# Odd sizes; batch 1; 1 channel (taps-major patches) and 6.
SHAPES = [(1, 5, 7, 3, 1), (1, 3, 5, 9, 6), (3, 4, 6, 5, 6), (2, 6, 7, 7, 1)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("chunk_bytes", [64, 10_000, conv3d.CHUNK_BYTES],  # frames, clips, all
                         indirect=True)
def test_chunked_matches_lax_conv_in_values_and_gradients(shape, chunk_bytes):
  x = jax.random.normal(jax.random.key(0), shape)
  kernel = jax.random.normal(jax.random.key(1), (3, 3, 3, shape[-1], 5))
  _assert_close(_value_and_grads(conv3d.conv3d_chunked, x, kernel),
                _value_and_grads(_reference, x, kernel))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("pool", [(1, 2, 2), (2, 2, 2), (2, 3, 2), (1, 4, 3)])  # 1-byte, 2-byte masks
@pytest.mark.parametrize("chunk_bytes", [64, conv3d.CHUNK_BYTES], indirect=True)
def test_fused_max_pool_matches_lax_conv_then_pool(shape, pool, chunk_bytes):
  x = jax.random.normal(jax.random.key(0), shape)
  kernel = jax.random.normal(jax.random.key(1), (3, 3, 3, shape[-1], 4))
  ours = lambda x, k: conv3d.conv3d_pooled(x, k, pool, "chunked")  # noqa: E731
  _assert_close(_value_and_grads(ours, x, kernel),
                _value_and_grads(lambda x, k: conv3d.max_pool3d(_reference(x, k), pool), x, kernel))


def test_fused_max_pool_splits_ties_as_jnp_max():
  # A constant clip: every window's maxima tie, and share its gradient equally.
  x, kernel = jnp.ones((1, 4, 6, 6, 1)), jnp.ones((3, 3, 3, 1, 2))
  grad = lambda f: jax.grad(lambda x, k: jnp.sum(f(x, k) ** 2), (0, 1))(x, kernel)  # noqa: E731
  _assert_close(grad(lambda x, k: conv3d.conv3d_max_pool(x, k, (2, 2, 2))),
                grad(lambda x, k: conv3d.max_pool3d(_reference(x, k), (2, 2, 2))))


def test_fused_max_pool_splits_ties_in_wide_windows_and_refuses_wider():
  x, kernel = jnp.ones((1, 4, 6, 8, 1)), jnp.ones((3, 3, 3, 1, 2))  # 3x4 interior ties
  for pool in [(2, 3, 4), (4, 2, 4)]:  # 24 positions: 4-byte masks; 32: the last bit used
    grad = lambda f: jax.grad(lambda x, k: jnp.sum(f(x, k) ** 2), (0, 1))(x, kernel)  # noqa: E731
    _assert_close(grad(lambda x, k: conv3d.conv3d_max_pool(x, k, pool)),
                  grad(lambda x, k: conv3d.max_pool3d(_reference(x, k), pool)))
  with pytest.raises(ValueError, match="at most 32 positions"):
    conv3d.conv3d_max_pool(x, kernel, (2, 3, 8))
  # conv3d_pooled pools such windows after the convolution instead.
  _assert_close([conv3d.conv3d_pooled(x, kernel, (2, 3, 8), "chunked")],
                [conv3d.max_pool3d(_reference(x, kernel), (2, 3, 8))])


@pytest.mark.parametrize("chunk_bytes", [2 << 20], indirect=True)
def test_chunking_keeps_patches_within_budget(chunk_bytes):
  # 64x64 frames of 1 channel: 442 kB each, 4 fit in 2 MiB; 16x16 of 128: 3.5 MB, 1 per step.
  assert conv3d.chunking(8, 16, 64, 64, 1) == (1, 4)
  assert conv3d.chunking(8, 8, 16, 16, 128) == (1, 1)
  assert conv3d.chunking(8, 8, 16, 16, 128, frames_multiple=2) == (1, 2)
  assert conv3d.chunking(16, 8, 16, 16, 1) == (8, 8)  # whole clips: 8 x 221 kB
  conv3d.CHUNK_BYTES *= 2
  assert conv3d.chunking(8, 16, 64, 64, 1) == (1, 8)
  assert conv3d.chunking(16, 8, 16, 16, 1) == (16, 8)


@pytest.mark.parametrize("pool", [(1, 2, 2), (2, 2, 2), (2, 3, 2)])
def test_max_pool3d_matches_nn_max_pool(pool):
  x = jax.random.normal(jax.random.key(0), (2, 5, 7, 6, 3))  # odd sizes: remainder dropped
  np.testing.assert_array_equal(conv3d.max_pool3d(x, pool), nn.max_pool(x, pool, strides=pool))
  grad = lambda f: jax.grad(lambda x: jnp.sum(f(x) ** 2))(x)  # noqa: E731
  np.testing.assert_allclose(grad(lambda x: conv3d.max_pool3d(x, pool)),
                             grad(lambda x: nn.max_pool(x, pool, strides=pool)), atol=1e-6)


def test_auto_picks_by_backend_and_width():
  assert conv3d.pick_conv("auto", "cpu") is conv3d.conv3d_chunked
  assert conv3d.pick_conv("auto", "cpu", features=conv3d.NARROW + 1) is conv3d.conv3d_chunked
  assert conv3d.pick_conv("auto", "cpu", features=conv3d.NARROW) is conv3d.conv3d_time_folded
  assert conv3d.pick_conv("auto", "gpu", features=8) is conv3d.conv3d_xla
  assert conv3d.pick_conv("auto", "tpu") is conv3d.conv3d_xla
  assert conv3d.pick_conv("taps", "cpu") is conv3d.conv3d_time_folded


def test_pooled_auto_matches_xla_at_narrow_and_wide_widths():
  x = jax.random.normal(jax.random.key(0), (2, 4, 6, 6, 3))
  for out in (conv3d.NARROW, conv3d.NARROW + 1):  # time-folded 2D conv, then the fused steps
    kernel = jax.random.normal(jax.random.key(1), (3, 3, 3, 3, out)) * 0.1
    def loss(conv, x, k):
      return jnp.sum(jnp.tanh(conv(x, k)))
    auto = lambda x, k: conv3d.conv3d_pooled(x, k, (2, 2, 2), "auto")  # noqa: E731
    xla = lambda x, k: conv3d.max_pool3d(conv3d.conv3d_xla(x, k), (2, 2, 2))  # noqa: E731
    np.testing.assert_allclose(auto(x, kernel), xla(x, kernel), rtol=1e-5, atol=1e-5)
    for a, b in zip(jax.grad(loss, argnums=(1, 2))(auto, x, kernel),
                    jax.grad(loss, argnums=(1, 2))(xla, x, kernel)):
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)

