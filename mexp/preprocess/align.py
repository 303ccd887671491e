"""Face alignment by 5 landmarks (dlib), as MEB and HTNet align: one similarity for the clip.

The onset frame's eye centres are mapped to fixed places in the crop, and the same transform is
applied to every frame, so the movement inside the clip is kept and the face's pose, size and
in-plane rotation are the same from clip to clip. dlib's 5-point model ships inside the
face_recognition_models package (public domain / CC0), so nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import cv2
import numpy as np

# Where the eye centres land, as fractions of the crop's width: 0.35 apart, 0.32 down, which
# keeps the brows (AU1/2/4) and the chin (AU17) inside.
EYE_DISTANCE = 0.35
EYE_HEIGHT = 0.32

# The eyes and lids around each eye centre, in eye distances: what a blink moves.
EYE_MASK_HALF_WIDTH = 0.36
EYE_MASK_ABOVE, EYE_MASK_BELOW = 0.23, 0.14

_local = threading.local()


def _models():
  # One detector and predictor per thread (dlib's objects are not documented as thread-safe).
  models = getattr(_local, "models", None)
  if models is None:
    import dlib
    models = _local.models = (dlib.get_frontal_face_detector(), dlib.shape_predictor(model_path()))
  return models


def model_path() -> str:
  """The 5-point model inside face_recognition_models, found without importing the package
  (its __init__ needs pkg_resources, which new setuptools no longer ship)."""
  spec = importlib.util.find_spec("face_recognition_models")
  if spec is None or not spec.submodule_search_locations:
    raise RuntimeError("face_recognition_models is not installed (pip install -e .)")
  return str(Path(spec.submodule_search_locations[0]) / "models" /
             "shape_predictor_5_face_landmarks.dat")


def landmarks_5(frame_HxWx3: np.ndarray) -> np.ndarray | None:
  """dlib's 5 points (x, y) of the largest face, or None when its detector finds none.

  Order, by image position: outer and inner corner of the eye on the image's right, outer and
  inner corner of the eye on the image's left, below the nose.
  """
  detector, predictor = _models()
  rgb = np.ascontiguousarray(frame_HxWx3 if frame_HxWx3.ndim == 3 else
                             cv2.cvtColor(frame_HxWx3, cv2.COLOR_GRAY2RGB), np.uint8)
  faces = detector(rgb, 0)
  if len(faces) == 0:
    faces = detector(rgb, 1)  # upsampled once: faces down to ~40 px
  if len(faces) == 0:
    return None
  box = max(faces, key=lambda r: r.width() * r.height())
  shape = predictor(rgb, box)
  return np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], np.float32)


def similarity(points_5x2: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
  """The 2x3 similarity that puts the eye centres at their template places in an (H, W) crop."""
  h, w = size_hw
  right_eye = points_5x2[0:2].mean(axis=0)  # the eye on the image's right
  left_eye = points_5x2[2:4].mean(axis=0)
  src = np.stack([left_eye, right_eye])
  dst = np.array([[w * (0.5 - EYE_DISTANCE / 2), w * EYE_HEIGHT],
                  [w * (0.5 + EYE_DISTANCE / 2), w * EYE_HEIGHT]], np.float32)
  d_src, d_dst = src[1] - src[0], dst[1] - dst[0]
  scale = np.linalg.norm(d_dst) / max(np.linalg.norm(d_src), 1e-6)
  angle = np.arctan2(d_dst[1], d_dst[0]) - np.arctan2(d_src[1], d_src[0])
  a, b = scale * np.cos(angle), scale * np.sin(angle)
  rotate = np.array([[a, -b], [b, a]], np.float32)
  return np.concatenate([rotate, (dst[0] - rotate @ src[0])[:, None]], axis=1)


def eye_mask(size_hw: tuple[int, int]) -> np.ndarray:
  """float32 (H, W): 0 on the eyes and lids of a landmark-aligned crop of that size, 1 elsewhere."""
  h, w = size_hw
  d = EYE_DISTANCE * w
  y = (np.arange(h) + 0.5)[:, None]
  x = (np.arange(w) + 0.5)[None, :]
  cy = EYE_HEIGHT * w
  rows = (y >= cy - EYE_MASK_ABOVE * d) & (y <= cy + EYE_MASK_BELOW * d)
  mask = np.ones((h, w), np.float32)
  for cx in (w * (0.5 - EYE_DISTANCE / 2), w * (0.5 + EYE_DISTANCE / 2)):
    mask[rows & (np.abs(x - cx) <= EYE_MASK_HALF_WIDTH * d)] = 0
  return mask


def warp_clip(clip_TxHxWxC: np.ndarray, matrix_2x3: np.ndarray,
              size_hw: tuple[int, int]) -> np.ndarray:
  """Applies one similarity to every frame; shrinks through an intermediate of the source's
  scale and an area resize, so a 250 px face reaching 128 px is filtered, not aliased."""
  h, w = size_hw
  scale = float(np.hypot(*matrix_2x3[:, 0]))
  up = max(1.0, 1.0 / max(scale, 1e-6))
  big = (int(round(w * up)), int(round(h * up)))
  m = matrix_2x3 * np.array([[up], [up]], np.float32)
  out = []
  for frame in clip_TxHxWxC:
    warped = cv2.warpAffine(frame, m, big, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if big != (w, h):
      warped = cv2.resize(warped, (w, h), interpolation=cv2.INTER_AREA)
    out.append(warped.reshape(h, w, -1))
  return np.stack(out)
