"""Face stabilisation for spotting: every frame warped onto one template by a tracked similarity.

The face is found once; its crop (analysis size) becomes the template. Each frame's crop is
tracked against that same template (pyramidal Lucas-Kanade on the template's corners, brightness
matched first, then a RANSAC similarity fit: rotation, scale, shift; once more on the frame warped
back, since translation-only windows under-read a rotation), so head motion is undone and nothing
drifts. The frame is then resampled once, from full resolution, into template pixels. When the
face nears the crop's edge the crop box follows it, and a box set anew is taken as it is: the warp
is re-expressed in the new box, so a new box never shows as motion. Expressions move a minority of
the corners, which RANSAC leaves out; the eyes' corners are never used (a blink drags them).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

SIZE = 160  # analysis side of the face crop: a 1 px movement of a 300 px face stays ~0.5 px
MIN_INLIERS = 6  # fewer: the face is lost (occluded, turned away, out of the box)
RANSAC_PX = 0.3  # corners further than this from the fit move on their own (an expression)


@dataclasses.dataclass(frozen=True)
class Track:
  """A tracked face: the template, the crop box in the frame, and template -> crop similarity."""
  template_HxW: np.ndarray  # float32, blurred, SIZE x SIZE
  points_Nx2: np.ndarray  # float32 corners in template pixels
  box: tuple[int, int, int, int]  # (x, y, w, h) in frame pixels; w == h
  warp_2x3: np.ndarray  # template pixels -> crop pixels
  eyes: tuple = ()  # (x, y, w, h) eye boxes in template pixels; () when not found
  steady_HxW: np.ndarray | None = None  # bool: the face without the eyes (blinks), for brightness
  where_Nx2: np.ndarray | None = None  # each corner in the frame, in template pixels; NaN: lost
  warp_box: tuple[int, int, int, int] | None = None  # the box warp_2x3 is measured in
  rebased: bool = False  # this frame's box moved (followed the face, or was set anew)
  inliers: int = 0


def crop(grey_HxW: np.ndarray, box: tuple[int, int, int, int], size: int = SIZE) -> np.ndarray:
  """The box's pixels (out-of-frame ones by edge replication), area-resized and blurred."""
  x, y, w, h = box
  pad = max(0, -x, -y, x + w - grey_HxW.shape[1], y + h - grey_HxW.shape[0])
  if pad:
    grey_HxW = cv2.copyMakeBorder(grey_HxW, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    x, y = x + pad, y + pad
  patch = cv2.resize(grey_HxW[y:y + h, x:x + w], (size, size), interpolation=cv2.INTER_AREA)
  return cv2.GaussianBlur(patch.astype(np.float32), (0, 0), 1.0)


def square(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
  """The square box of the same centre and the larger side (a frame edge may have cut it)."""
  x, y, w, h = box
  side = max(w, h)
  return int(round(x + w / 2 - side / 2)), int(round(y + h / 2 - side / 2)), side, side


def eye_mask(size: int, eyes, *, grow: float = 1.0) -> np.ndarray:
  """bool (size, size): True on the eyes (lids and eyeball, not the brows above), from eye boxes;
  without boxes, on the band of rows where a detected face's eyes lie."""
  if len(eyes) == 0:
    band = np.zeros((size, size), bool)
    band[int(0.34 * size):int(0.47 * size)] = True
    return band
  yy, xx = np.mgrid[:size, :size]
  inside = np.zeros((size, size), bool)
  for x, y, w, h in eyes:
    # The cascade's box holds the brow too: the eye sits a little below its centre.
    inside |= (((xx - x - w / 2) / (0.6 * grow * w)) ** 2
               + ((yy - y - 0.6 * h) / (0.32 * grow * h)) ** 2) <= 1
  return inside


def start(grey_HxW: np.ndarray, box: tuple[int, int, int, int], size: int = SIZE) -> Track:
  """A track whose template is this frame's face.

  Args:
    grey_HxW: uint8 grey frame.
    box: the detected face (x, y, w, h), e.g. face.detect_face_box's.
    size: analysis side of the crop.

  Returns:
    The Track, with the identity warp. Its corners avoid the eyes: a blink would drag the fit.
  """
  box = square(box)
  template = crop(grey_HxW, box, size)
  eyes = tuple(eye_boxes(grey_HxW, box, size))
  keep = np.zeros((size, size), np.uint8)
  border = size // 10
  keep[border:-border, border:-border] = 255
  keep[eye_mask(size, eyes, grow=1.3)] = 0
  points = cv2.goodFeaturesToTrack(np.clip(template, 0, 255).astype(np.uint8), 300, 0.005, 4,
                                   mask=keep, blockSize=5)
  points = np.zeros((0, 2), np.float32) if points is None else points.reshape(-1, 2)
  identity = np.float32([[1, 0, 0], [0, 1, 0]])
  return Track(template, points.astype(np.float32), box, identity, eyes=eyes, steady_HxW=keep > 0,
               inliers=len(points))


def _eye_cascade() -> cv2.CascadeClassifier:
  cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_eye.xml")
  if cascade.empty():
    raise RuntimeError("OpenCV's bundled Haar eye cascade did not load; is opencv-python < 5?")
  return cascade


def eye_boxes(grey_HxW: np.ndarray, box: tuple[int, int, int, int],
              size: int = SIZE) -> list[tuple[float, float, float, float]]:
  """The eyes (x, y, w, h) in the pixels of box's size x size crop, searched in the box's upper
  half; [] unless exactly two are found."""
  x, y, side, _ = box
  x0, y0 = max(0, x), max(0, y)
  patch = grey_HxW[y0:max(y0, y + side // 2), x0:max(x0, x + side)]
  if min(patch.shape) < 24:
    return []
  eyes = _eye_cascade().detectMultiScale(patch, 1.1, 5, minSize=(side // 12, side // 12),
                                         maxSize=(side // 3, side // 3))
  if len(eyes) != 2:
    return []
  scale = size / side
  return [((ex + x0 - x) * scale, (ey + y0 - y) * scale, ew * scale, eh * scale)
          for ex, ey, ew, eh in eyes.tolist()]


def _apply(warp_2x3: np.ndarray, points_Nx2: np.ndarray) -> np.ndarray:
  """The points moved by a 2x3 affine map."""
  return (points_Nx2 @ warp_2x3[:, :2].T + warp_2x3[:, 2]).astype(np.float32)


def _similarity_lsq(src_Nx2: np.ndarray, dst_Nx2: np.ndarray, weight_N: np.ndarray) -> np.ndarray:
  """The similarity (2x3: rotation, scale, shift) taking src to dst in weighted least squares."""
  w = weight_N[:, None] / weight_N.sum()
  mu_s, mu_d = (w * src_Nx2).sum(0), (w * dst_Nx2).sum(0)
  s, d = src_Nx2 - mu_s, dst_Nx2 - mu_d
  norm = max(float((w * s * s).sum()), 1e-9)
  a = float((w * s * d).sum()) / norm
  b = float((w[:, 0] * (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0])).sum()) / norm
  rotation = np.float64([[a, -b], [b, a]])
  return np.hstack([rotation, (mu_d - rotation @ mu_s)[:, None]]).astype(np.float32)


def _refine(src_Nx2: np.ndarray, dst_Nx2: np.ndarray, start_2x3: np.ndarray,
            reach: float = 0.4) -> tuple[np.ndarray, int]:
  """(similarity, inliers) by iteratively reweighted least squares (Tukey, `reach` px) from
  `start_2x3`: the fit stays in the basin of the previous frame's, where RANSAC's random samples
  may flip between two consensus sets of a few corners each and shake the aligned face."""
  fit = start_2x3
  for _ in range(4):
    r = np.linalg.norm(_apply(fit, src_Nx2) - dst_Nx2, axis=1) / reach
    weight = np.where(r < 1, (1 - r * r) ** 2, 0.0)
    if (weight > 0).sum() < MIN_INLIERS:
      return fit, 0
    fit = _similarity_lsq(src_Nx2, dst_Nx2, weight)
  inliers = int((np.linalg.norm(_apply(fit, src_Nx2) - dst_Nx2, axis=1) < RANSAC_PX).sum())
  return fit, inliers


def _fit(template_HxW: np.ndarray, image_HxW: np.ndarray, points_Nx2: np.ndarray,
         prior_2x3: np.ndarray) -> tuple[np.ndarray, int, np.ndarray] | None:
  """(similarity template -> image, inliers, each corner's track or NaN) from the corners'
  Lucas-Kanade tracks (started where `prior_2x3` puts them); refined from the prior (_refine),
  RANSAC only when the face jumped away from it; None: lost."""
  guess = _apply(prior_2x3, points_Nx2)
  moved, status, _ = cv2.calcOpticalFlowPyrLK(
      template_HxW, image_HxW, points_Nx2, guess.copy(), winSize=(15, 15), maxLevel=2,
      flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
      criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 0.01))
  found = status.ravel() == 1
  if found.sum() < MIN_INLIERS:
    return None
  fit, inliers = _refine(points_Nx2[found], moved[found], prior_2x3)
  if inliers < max(MIN_INLIERS, found.sum() // 3):
    ransac, mask = cv2.estimateAffinePartial2D(points_Nx2[found], moved[found], method=cv2.RANSAC,
                                               ransacReprojThreshold=RANSAC_PX, maxIters=500,
                                               refineIters=20)
    if ransac is not None and mask.sum() > inliers:
      fit, inliers = _refine(points_Nx2[found], moved[found], ransac.astype(np.float32))
  if inliers < MIN_INLIERS:
    return None
  moved[~found] = np.nan
  return fit.astype(np.float32), inliers, moved


def _rebox(warp_2x3: np.ndarray, old: tuple, new: tuple, size: int) -> np.ndarray:
  """The same template -> frame mapping, measured in the crop of box `new` instead of `old`."""
  k_old, k_new = old[2] / size, new[2] / size
  out = warp_2x3 * np.float32(k_old / k_new)
  out[:, 2] += (np.float32(old[:2]) - np.float32(new[:2])) / np.float32(k_new)
  return out.astype(np.float32)


def _compose(outer_2x3: np.ndarray, inner_2x3: np.ndarray) -> np.ndarray:
  """p -> outer(inner(p))."""
  return np.hstack([outer_2x3[:, :2] @ inner_2x3[:, :2],
                    outer_2x3[:, :2] @ inner_2x3[:, 2:] + outer_2x3[:, 2:]]).astype(np.float32)


def resample(grey_HxW: np.ndarray, box: tuple[int, int, int, int], warp_2x3: np.ndarray,
             size: int) -> np.ndarray:
  """The frame in template pixels, sampled once from full resolution after an anti-alias blur (a
  crop-then-warp would resample twice, and a half-pixel move would change the face's sharpness)."""
  x, y, side, _ = box
  k = side / size
  full = warp_2x3 * np.float32(k)
  full[:, 2] += (x, y)  # template pixels -> frame pixels
  corners = _apply(full, np.float32([[0, 0], [size, 0], [0, size], [size, size]]))
  x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int) - 4, 0)
  x1, y1 = np.ceil(corners.max(0)).astype(int) + 4
  region = grey_HxW[y0:y1, x0:x1].astype(np.float32)
  if region.size == 0:
    return np.zeros((size, size), np.float32)
  region = cv2.GaussianBlur(region, (0, 0), max(0.5, 0.5 * k))
  full[:, 2] -= (x0, y0)
  return cv2.warpAffine(region, full, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                        borderMode=cv2.BORDER_REPLICATE)


def follow(track: Track, grey_HxW: np.ndarray) -> tuple[Track, np.ndarray] | None:
  """The track moved onto this frame, and the frame's face in template pixels (SIZE x SIZE).

  Args:
    track: the previous frame's Track.
    grey_HxW: uint8 grey frame.

  Returns:
    (track, aligned_HxW float32), or None when the face is lost (fewer than MIN_INLIERS corners
    agree on one similarity): start a new track from a fresh detection.
  """
  size = track.template_HxW.shape[0]
  box, warp = track.box, track.warp_2x3
  rebased = track.warp_box is not None and track.warp_box != box  # set anew (re-detected)
  if rebased:
    warp = _rebox(warp, track.warp_box, box, size)
  shift = warp[:, 2] + (warp[:, :2] - np.eye(2)) @ np.float32([size / 2, size / 2])
  if np.abs(shift).max() > 0.06 * size:  # re-centre the box on the face: whole frame pixels
    step = np.round(shift * box[2] / size).astype(int)
    moved = (box[0] + int(step[0]), box[1] + int(step[1]), box[2], box[3])
    warp, box, rebased = _rebox(warp, box, moved, size), moved, True
  template = np.clip(np.rint(track.template_HxW), 0, 255).astype(np.uint8)
  image = crop(grey_HxW, box, size)
  steady = track.steady_HxW
  # Brightness constancy: a 0.3 % flicker moves a weakly textured corner by a pixel.
  gain = track.template_HxW[steady].mean() / max(float(image[steady].mean()), 1e-6)
  image = np.clip(np.rint(image * np.float32(gain)), 0, 255).astype(np.uint8)
  first = _fit(template, image, track.points_Nx2, warp)
  if first is None:
    return None
  # Once more on the frame warped back: translation-only windows under-read a rotation.
  back = cv2.warpAffine(image, first[0], (size, size),
                        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                        borderMode=cv2.BORDER_REPLICATE)
  second = _fit(template, back, track.points_Nx2, np.float32([[1, 0, 0], [0, 1, 0]]))
  if second is None:
    fit, inliers, moved = first
  else:
    fit, inliers, moved = _compose(first[0], second[0]), second[1], _apply(first[0], second[2])
  where = moved + np.float32(box[:2]) * np.float32(size / box[2])
  return (dataclasses.replace(track, box=box, warp_2x3=fit, inliers=inliers, where_Nx2=where,
                              warp_box=box, rebased=rebased),
          resample(grey_HxW, box, fit, size))
