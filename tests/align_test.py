import cv2
import numpy as np
import pytest

from mexp import synthetic
from mexp.preprocess import align, face
from mexp.preprocess import clip as clip_lib


def _face_image(seed=3):
  f = synthetic.random_face(np.random.default_rng(seed))
  return f, synthetic.render(f).astype(np.uint8)


def test_landmarks_find_the_synthetic_eyes():
  f, image = _face_image()
  points = align.landmarks_5(image)
  assert points.shape == (5, 2)
  right, left = points[0:2].mean(0), points[2:4].mean(0)  # by image position
  np.testing.assert_allclose(left, [f.cx - f.eye_dx, f.eye_y], atol=5)
  np.testing.assert_allclose(right, [f.cx + f.eye_dx, f.eye_y], atol=5)
  assert points[4, 1] > f.eye_y + 0.2 * f.fh  # the nose point lies below the eyes


def test_similarity_puts_eyes_on_the_template():
  points = np.array([[300, 210], [280, 212], [200, 230], [220, 228], [250, 280]], np.float32)
  m = align.similarity(points, (128, 96))
  left, right = points[2:4].mean(0), points[0:2].mean(0)
  np.testing.assert_allclose(m[:, :2] @ left + m[:, 2], [96 * (0.5 - align.EYE_DISTANCE / 2),
                                                         96 * align.EYE_HEIGHT], atol=1e-3)
  np.testing.assert_allclose(m[:, :2] @ right + m[:, 2], [96 * (0.5 + align.EYE_DISTANCE / 2),
                                                          96 * align.EYE_HEIGHT], atol=1e-3)


def test_a_rotated_face_comes_out_upright():
  f, image = _face_image()
  rotated = cv2.warpAffine(image, cv2.getRotationMatrix2D((320, 240), 8, 1), (640, 480),
                           borderMode=cv2.BORDER_REPLICATE)
  aligned = []
  for frame in (image, rotated):
    m = align.similarity(align.landmarks_5(frame), (128, 128))
    aligned.append(align.warp_clip(frame[None], m, (128, 128))[0].astype(np.float32))
  assert aligned[0].shape == (128, 128, 3)
  # The same face, straightened: far closer to the upright crop than the rotated frame is.
  plain = align.warp_clip(rotated[None], align.similarity(align.landmarks_5(image), (128, 128)),
                          (128, 128))[0].astype(np.float32)
  assert np.abs(aligned[1] - aligned[0]).mean() < 0.5 * np.abs(plain - aligned[0]).mean()


def test_process_clip_reports_its_alignment_path():
  _, image = _face_image()
  spec = clip_lib.ClipSpec(4, 16, 16, 1, "onset", analysis_size=32)
  clip = np.stack([image] * 4)
  out = clip_lib.process_clip(clip, np.arange(4), onset=0, apex=1, offset=3, spec=spec,
                              detect_face=True)
  assert out.alignment == "landmarks" and out.face_box is None
  out = clip_lib.process_clip(clip, np.arange(4), onset=0, apex=1, offset=3, spec=spec,
                              detect_face=False)
  assert out.alignment == "none"


def test_no_face_anywhere_is_a_clear_error():
  blank = np.full((4, 120, 160, 3), 128, np.uint8)
  assert align.landmarks_5(blank[0]) is None
  spec = clip_lib.ClipSpec(4, 16, 16, 1, "onset")
  with pytest.raises(face.NoFaceError, match="no face found"):
    clip_lib.process_clip(blank, np.arange(4), onset=0, apex=1, offset=3, spec=spec,
                          detect_face=True)


@pytest.mark.parametrize("seed", [3, 8])
def test_eye_mask_covers_a_blink_and_spares_the_brows_and_mouth(seed):
  f, image = _face_image(seed)
  closed = synthetic.render(f, eyes_closed=True).astype(np.uint8)
  m = align.similarity(align.landmarks_5(image), (32, 32))
  open_, shut = (align.warp_clip(x[None], m, (32, 32))[0].astype(np.float32).mean(-1)
                 for x in (image, closed))
  blink = np.abs(shut - open_)
  mask = align.eye_mask((32, 32))
  assert (blink * (1 - mask)).sum() > 0.9 * blink.sum()  # the blink is almost all masked
  assert 0.05 < (1 - mask).mean() < 0.15
  # The brows (AU 1/2/4), cheeks under the eyes (AU 6) and the mouth stay visible.
  for y in (f.brow_y, f.eye_y + 0.16 * f.fh, f.mouth_y):
    row = int(m[1, :2] @ [f.cx, y] + m[1, 2])
    assert mask[row].all(), (y, row)
