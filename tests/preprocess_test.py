import cv2
import numpy as np
import pytest

from mexp import synthetic
from mexp.preprocess import clip as clip_lib
from mexp.preprocess import face, motion, temporal


def _textured_square(shift: int, size=64, seed=0):
  rng = np.random.default_rng(seed)
  texture = rng.integers(60, 200, (16, 16)).astype(np.float32)
  texture = cv2.GaussianBlur(texture, (0, 0), 1)
  frame = np.full((size, size), 100, np.float32)
  frame[16:32, 16 + shift:32 + shift] = texture
  return frame


def test_flow_square_moving_one_pixel_right():
  clip = np.stack([_textured_square(0), _textured_square(1), _textured_square(2)])
  flow = motion.optical_flow(clip)
  assert flow.shape == (3, 64, 64, 2)
  assert np.all(flow[0] == 0)
  inside = flow[:, 19:29, 19:29].reshape(3, -1, 2)
  assert np.allclose(np.median(inside[1], axis=0), [1, 0], atol=0.1)
  assert np.allclose(np.median(inside[2], axis=0), [2, 0], atol=0.15)
  assert np.abs(flow[:, 44:, 44:]).max() < 0.05  # far from the square: still


def test_strain_is_zero_for_translation_and_a_for_stretch():
  flow = np.zeros((1, 32, 32, 2), np.float32)
  flow[..., 0] = 1.5
  flow[..., 1] = -0.5
  assert np.allclose(motion.optical_strain(flow), 0)
  a = 0.05
  flow[..., 0] = a * np.arange(32)[None, None, :]
  flow[..., 1] = 0
  assert np.allclose(motion.optical_strain(flow), a, atol=1e-6)


@pytest.mark.parametrize("kind", motion.SALIENCY_KINDS)
def test_static_clip_has_zero_saliency(kind):
  rng = np.random.default_rng(1)
  frame = rng.uniform(0, 255, (1, 32, 32, 1)).astype(np.float32)
  clip = np.repeat(frame, 6, axis=0)
  sal = motion.saliency(kind, clip)
  assert sal.shape == (6, 32, 32, motion.saliency_channels(kind, 1))
  assert np.all(sal == 0)
  stored = motion.saliency_to_stored(sal)
  assert stored.dtype == np.float16 and np.all(stored == 0)  # 0 for every kind, flow included


def test_onset_and_median_difference_known_answers():
  clip = np.zeros((5, 4, 4, 1), np.float32)
  clip[2, 1, 1] = 10  # one pixel flashes in the middle frame
  clip[3:, 2, 2] = 20  # another changes for good at frame 3
  onset = motion.onset_difference(clip)
  assert onset[2, 1, 1, 0] == 0.5 and onset[3, 2, 2, 0] == 1 and onset[0].max() == 0
  median = motion.median_difference(clip)  # the median of pixel (2,2) is 0 (3 of 5 frames)
  assert median[2, 1, 1, 0] == 0.5 and median[4, 2, 2, 0] == 1 and median[0, 2, 2, 0] == 0


def test_stored_saliency_keeps_sign_and_units():
  flow = np.zeros((2, 2, 2, 2), np.float32)
  flow[1, 0, 0] = [2.0, -1.0]
  stored = motion.saliency_to_stored(flow)
  assert stored.dtype == np.float16
  assert stored[1, 0, 0].tolist() == [2.0, -1.0] and stored[0, 0, 0].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("kind", motion.FLOW_KINDS)
def test_resize_saliency_scales_flow_vectors_with_the_size(kind):
  sal = np.zeros((2, 4, 4, motion.saliency_channels(kind, 1)), np.float32)
  sal[1, ..., 0] = np.array([[0, 2, 4, 6], [2, 4, 6, 8], [0, 0, 0, 0], [0, 0, 0, 0]])
  sal[1, ..., 1] = -1.0
  sal[1, ..., 2:] = 0.25  # strain, in ststnet: a ratio of lengths, unchanged
  half = motion.resize_saliency(kind, sal, (2, 2))
  assert half.shape == (2, 2, 2, sal.shape[-1]) and half.dtype == np.float32
  assert np.all(half[0] == 0)
  # Area means of 2x2 blocks (2, 6; 0, 0), then halved: 1 px at 4 px is 0.5 px at 2 px.
  np.testing.assert_allclose(half[1, ..., 0], [[1, 3], [0, 0]])
  np.testing.assert_allclose(half[1, ..., 1], -0.5)
  np.testing.assert_allclose(half[1, ..., 2:], 0.25)
  # u follows the width, v the height.
  wide = motion.resize_saliency(kind, sal, (4, 2))
  np.testing.assert_allclose(wide[1, 0, :, 0], [0.5, 2.5])  # (1, 5) x 2 / 4
  np.testing.assert_allclose(wide[1, ..., 1], -1.0)
  np.testing.assert_array_equal(motion.resize_saliency(kind, sal, (4, 4)), sal)  # same size


@pytest.mark.parametrize("kind", ["strain", "median", "onset"])
def test_resize_saliency_keeps_the_values_of_other_kinds(kind):
  sal = np.full((1, 4, 4, 1), 0.3, np.float32)
  sal[0, :2, :2] = 0.7
  out = motion.resize_saliency(kind, sal, (2, 2))
  np.testing.assert_allclose(out[0, ..., 0], [[0.7, 0.3], [0.3, 0.3]], rtol=1e-6)


def test_ststnet_is_flow_and_raw_strain():
  clip = np.stack([_textured_square(0), _textured_square(1), _textured_square(2)])[..., None]
  flow = motion.saliency("flow", clip)
  strain = motion.saliency("strain", clip)
  np.testing.assert_array_equal(strain, motion.optical_strain(flow))  # not scaled to unit max
  assert 0 < strain.max() < 1
  ststnet = motion.saliency("ststnet", clip)
  assert ststnet.shape == (3, 64, 64, 3) and motion.saliency_channels("ststnet", 1) == 3
  np.testing.assert_array_equal(ststnet, np.concatenate([flow, strain], -1))


def test_linear_ramp_resamples_exactly_even_across_a_gap():
  numbers = np.array([10, 11, 12, 14, 15, 18, 20])  # 13, 16, 17, 19 missing
  clip = (3.0 * numbers + 7)[:, None, None, None] * np.ones((1, 2, 2, 1))
  times = temporal.sample_times(10, 20, 9)
  out = temporal.resample_clip(clip, numbers, times)
  assert out.dtype == np.float32
  assert np.allclose(out[:, 0, 0, 0], 3.0 * np.linspace(10, 20, 9) + 7, atol=1e-4)


def test_apex_centred_times_put_apex_in_the_middle():
  times = temporal.sample_times(10, 40, 8, apex=16)
  assert times[0] == 10 and times[4] == 16 and times[-1] == 40 and len(times) == 8
  assert np.all(np.diff(times) > 0)


def test_other_frame_rate_same_movement_same_result():
  # One ramp filmed at 200 fps (frames 0..40) and at 100 fps (0..20): same normalised clip.
  fast = np.linspace(0, 1, 41)[:, None, None, None] * np.ones((1, 2, 2, 1))
  slow = fast[::2]
  a = temporal.resample_clip(fast, np.arange(41), temporal.sample_times(0, 40, 5))
  b = temporal.resample_clip(slow, np.arange(21), temporal.sample_times(0, 20, 5))
  assert np.allclose(a, b)


def test_resample_rejects_times_outside_the_frames():
  with pytest.raises(ValueError, match="leave the frames on disk"):
    temporal.resample_clip(np.zeros((3, 1, 1, 1)), [1, 2, 3], [0.5, 2])


def test_estimate_apex_is_peak_motion():
  energy = np.array([0, 1, 3, 6, 9, 7, 2, 0], np.float32)
  clip = energy[:, None, None, None] * np.ones((1, 4, 4, 1))
  assert motion.estimate_apex(clip, np.arange(100, 108)) == 104


def test_face_found_on_a_synthetic_face_and_not_on_a_blank_frame():
  rng = np.random.default_rng(3)
  f = synthetic.random_face(rng)
  image = synthetic.render(f).astype(np.uint8)
  x, y, w, h = face.detect_face_box(image)
  assert x < f.cx < x + w and y < f.cy < y + h and abs(w - h) <= 1
  with pytest.raises(face.NoFaceError, match="no face found"):
    face.detect_face_box(np.full((120, 160, 3), 128, np.uint8))


def test_crop_resize_channels():
  clip = np.arange(2 * 8 * 10 * 3, dtype=np.uint8).reshape(2, 8, 10, 3)
  assert face.crop_clip(clip, (2, 1, 4, 5)).shape == (2, 5, 4, 3)
  assert face.resize_clip(clip, (4, 5)).shape == (2, 4, 5, 3)
  grey = face.to_channels(np.full((1, 2, 2, 3), 100, np.uint8), 1)
  assert grey.shape == (1, 2, 2, 1) and np.allclose(grey, 100)


def test_process_clip_shapes_and_apex_estimation():
  numbers = np.arange(30, 42)
  energy = np.concatenate([np.linspace(0, 50, 8), np.linspace(40, 10, 4)])
  frames = (100 + energy)[:, None, None, None] * np.ones((1, 40, 40, 3))
  spec = clip_lib.ClipSpec(frames=4, height=16, width=16, channels=1, saliency="onset")
  out = clip_lib.process_clip(frames.astype(np.uint8), numbers, onset=30, apex=None, offset=41,
                              spec=spec, detect_face=False)
  assert out.raw_TxHxWxC.shape == (4, 16, 16, 1) and out.saliency_TxHxWxS.shape == (4, 16, 16, 1)
  assert out.raw_TxHxWxC.dtype == np.uint8 and out.saliency_TxHxWxS.dtype == np.float16
  assert out.apex == 37 and out.apex_estimated and out.face_box is None
  assert out.saliency_TxHxWxS[0].max() == 0 and out.saliency_TxHxWxS.max() == 1.0
  assert out.saliency_TxHxWxS.min() >= 0


def test_clip_spec_analysis_shape_and_name():
  spec = clip_lib.ClipSpec(4, 32, 32, 1, "flow", analysis_size=128)
  assert spec.name == "t4_32x32_grey_flow_a128" and spec.analysis_shape == (128, 128)
  assert clip_lib.ClipSpec(4, 32, 48, 1, "flow", analysis_size=64).analysis_shape == (64, 96)
  for size in (0, 16, 32):  # at or below the stored size: measured at the stored size
    same = clip_lib.ClipSpec(4, 32, 32, 1, "flow", analysis_size=size)
    assert same.name == "t4_32x32_grey_flow" and same.analysis_shape == (32, 32)
  apex = clip_lib.ClipSpec(16, 64, 64, 1, "ststnet", apex_centred=True, analysis_size=128)
  assert apex.name == "t16_64x64_grey_ststnet_apex_a128" and apex.saliency_channels == 3


def _shifted_texture_clip(seed=0, size=256, pad=16):
  """A smooth texture, then 3 frames of it shifted 1 px right (with a little noise), RGB uint8."""
  rng = np.random.default_rng(seed)
  big = cv2.GaussianBlur(rng.uniform(0, 1, (size + 2 * pad,) * 2).astype(np.float32), (0, 0), 2)
  big = 128 + 40 * (big - big.mean()) / big.std()
  moved = cv2.warpAffine(big, np.float32([[1, 0, 1], [0, 1, 0]]), big.shape[::-1],
                         borderMode=cv2.BORDER_REFLECT)
  frames = [big] + [moved + rng.normal(0, 1, big.shape) for _ in range(3)]
  frames = np.stack([f[pad:pad + size, pad:pad + size] for f in frames])
  return np.repeat(np.clip(np.rint(frames), 0, 255).astype(np.uint8)[..., None], 3, -1)


def _process(frames, kind, analysis_size):
  spec = clip_lib.ClipSpec(4, 32, 32, 1, kind, analysis_size=analysis_size)
  return clip_lib.process_clip(frames, np.arange(4), onset=0, apex=2, offset=3, spec=spec,
                               detect_face=False).saliency_TxHxWxS


def test_flow_measured_at_analysis_size_is_accurate_in_stored_pixels():
  frames = _shifted_texture_clip()
  fine = _process(frames, "flow", 128)
  assert fine.shape == (4, 32, 32, 2) and fine.dtype == np.float16
  assert np.all(fine[0] == 0)
  last = fine[-1, 4:-4, 4:-4].astype(np.float32)  # 1 px at 256 px is 1/8 px at 32 px
  assert abs(last[..., 0].mean() - 1 / 8) < 0.015 and np.abs(last[..., 1]).mean() < 0.01
  coarse = _process(frames, "flow", 0)[-1, 4:-4, 4:-4].astype(np.float32)  # at 32 px, as the seed
  rms = lambda f: np.sqrt(np.mean((f[..., 0] - 1 / 8) ** 2 + f[..., 1] ** 2))  # noqa: E731
  assert rms(coarse) >= 4 * rms(last), (rms(coarse), rms(last))


def test_ststnet_is_flow_plus_near_zero_strain_for_a_translation():
  frames = _shifted_texture_clip()
  flow = _process(frames, "flow", 128)
  ststnet = _process(frames, "ststnet", 128)
  assert ststnet.shape == (4, 32, 32, 3) and ststnet.dtype == np.float16
  np.testing.assert_array_equal(ststnet[..., :2], flow)
  strain = ststnet[:, 4:-4, 4:-4, 2].astype(np.float32)
  assert np.all(ststnet[0] == 0) and strain.mean() < 0.01 and strain.max() < 0.05
