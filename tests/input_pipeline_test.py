import jax.numpy as jnp
import numpy as np
import pytest

from mexp import input_pipeline as pipeline
from mexp.preprocess import clip as clip_lib


def test_class_weights_inverse_frequency_mean_one():
  w = pipeline.class_weights(np.array([0, 0, 0, 1]), 3)
  assert w[2] == 0 and w[1] == pytest.approx(3 * w[0])
  assert w[:2].mean() == pytest.approx(1.0)


def test_batches_are_padded_and_masked():
  batches = list(pipeline.batch_indices(np.arange(5), 4))
  assert [m.tolist() for _, m in batches] == [[1, 1, 1, 1], [1, 0, 0, 0]]
  assert batches[1][0].tolist() == [4, 0, 0, 0]
  a = [i.tolist() for i, _ in pipeline.batch_indices(np.arange(8), 4, shuffle_seed=[0, 1])]
  b = [i.tolist() for i, _ in pipeline.batch_indices(np.arange(8), 4, shuffle_seed=[0, 1])]
  assert a == b and sorted(sum(a, [])) == list(range(8))


def test_decode_scales_raw_and_keeps_saliency_units():
  raw, sal = pipeline.decode(jnp.array([0, 51, 255], jnp.uint8),
                             jnp.array([-1.5, 0.0, 2.25], jnp.float16))
  np.testing.assert_allclose(raw, [0.0, 0.2, 1.0], rtol=1e-6)
  assert sal.dtype == jnp.float32
  np.testing.assert_array_equal(sal, [-1.5, 0.0, 2.25])  # flow stays signed, in pixels


def test_inputs_standardized_per_frame_mean_and_clip_deviation():
  rng = np.random.default_rng(0)
  raw = jnp.asarray(rng.integers(0, 255, (2, 4, 5, 5, 3)), jnp.uint8)
  sal = jnp.zeros((2, 4, 5, 5, 1), jnp.float16).at[1, 2, 2, 2].set(200)
  r, s = pipeline.to_float(raw, sal)
  np.testing.assert_allclose(r.mean(axis=(2, 3)), 0, atol=1e-5)  # every frame, every channel
  np.testing.assert_allclose(r.std(axis=(1, 2, 3)), 1, atol=1e-2)
  assert np.all(s[0] == 0)  # nothing moved: stays exactly zero
  # Frame 2 centred: 192 at the pixel, -8 on the 24 others; clip std sqrt(38400 / 100).
  assert float(s[1, 2, 2, 2, 0]) == pytest.approx(192 / (np.sqrt(384) + 1e-3), rel=1e-4)
  assert float(s[1, 2, 0, 0, 0]) == pytest.approx(-8 / (np.sqrt(384) + 1e-3), rel=1e-4)


def test_standardize_removes_a_per_frame_translation_of_flow():
  t, h, w = 4, 4, 4
  c = jnp.array([0.0, 1.0, 2.0, -3.0])  # the head's translation u at each frame
  bump = jnp.zeros((t, h, w)).at[2, 1, 1].set(16.0)  # the expression, in frame 2 only
  flow = jnp.stack([c[:, None, None] + bump, jnp.full((t, h, w), 0.5)], -1)[None]
  out = pipeline.standardize(flow)
  np.testing.assert_allclose(out[0, [0, 1, 3]], 0, atol=1e-6)  # only the translation: zero
  np.testing.assert_allclose(out[..., 1], 0, atol=1e-6)  # v: a constant offset, removed
  # Frame 2 centred: 15 at the bump, -1 elsewhere; std over T, H, W = sqrt(240 / 64).
  std = np.sqrt(240 / 64) + 1e-3
  assert float(out[0, 2, 1, 1, 0]) == pytest.approx(15 / std, rel=1e-5)
  assert float(out[0, 2, 3, 3, 0]) == pytest.approx(-1 / std, rel=1e-5)
  # The offset is removed entirely: the same as the bump alone.
  alone = pipeline.standardize(jnp.stack([bump, jnp.zeros((t, h, w))], -1)[None])
  np.testing.assert_allclose(out, alone, atol=1e-6)


@pytest.mark.parametrize("apex,expected", [(10, 0), (13, 0), (14, 1), (16, 1), (21, 2), (24, 2),
                                           (27, 3), (30, 3)])
def test_apex_index_even_sampling(apex, expected):
  spec = clip_lib.ClipSpec(4, 16, 16, 1, "flow")  # samples frames 10, 16.67, 23.33, 30
  assert pipeline.apex_index(10, apex, 30, spec) == expected


@pytest.mark.parametrize("frames", [4, 5, 16])
@pytest.mark.parametrize("apex", [11, 20, 29])
def test_apex_index_apex_centred_is_the_middle(frames, apex):
  spec = clip_lib.ClipSpec(frames, 16, 16, 1, "flow", apex_centred=True)
  assert pipeline.apex_index(10, apex, 30, spec) == frames // 2


def test_clips_take_keeps_apex_index():
  clips = pipeline.Clips(
      raw_NxTxHxWxC=np.zeros((3, 2, 1, 1, 1), np.uint8),
      saliency_NxTxHxWxS=np.zeros((3, 2, 1, 1, 2), np.float16),
      label_N=np.array([0, 1, 0], np.int32), subject_N=np.array(["a", "b", "c"]),
      clip_N=np.array(["x", "y", "z"]), classes=("p", "q"), dropped={}, saliency_kind="flow",
      apex_index_N=np.array([5, 6, 7], np.int32))
  part = clips.take(np.array([2, 0]))
  assert part.apex_index_N.tolist() == [7, 5] and part.clip_N.tolist() == ["z", "x"]
