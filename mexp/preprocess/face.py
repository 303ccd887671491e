"""Face detection on the onset frame, and the same crop applied to every frame of the clip."""

from __future__ import annotations

import threading

import cv2
import numpy as np


class NoFaceError(ValueError):
  """OpenCV's detector found no face in the frame."""


_local = threading.local()


def _cascade() -> cv2.CascadeClassifier:
  # One per thread: a CascadeClassifier shared by threads returns different faces from run to run
  # (the builder detects in a thread pool). The cascade ships inside opencv-python (< 5).
  cascade = getattr(_local, "cascade", None)
  if cascade is None:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    if cascade.empty():
      raise RuntimeError("OpenCV's bundled Haar face cascade did not load; is opencv-python < 5?")
    _local.cascade = cascade
  return cascade


def detect_face_box(frame_HxWx3: np.ndarray, *, margin: float = 0.1,
                    min_size: int = 40) -> tuple[int, int, int, int]:
  """The largest face as a square box, grown by `margin` per side and clipped to the frame.

  Args:
    frame_HxWx3: uint8 RGB (or HxW grey) frame, usually the onset frame.
    margin: fraction of the detected side added on each side.
    min_size: smallest face side in pixels to accept.

  Returns:
    (x, y, w, h) in pixels, with w == h unless the frame edge cuts the box.

  Raises:
    NoFaceError: when no face is found.
  """
  grey = frame_HxWx3 if frame_HxWx3.ndim == 2 else cv2.cvtColor(frame_HxWx3, cv2.COLOR_RGB2GRAY)
  faces = _cascade().detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5,
                                      minSize=(min_size, min_size))
  if len(faces) == 0:
    raise NoFaceError(f"no face found in a {grey.shape[1]}x{grey.shape[0]} frame")
  x, y, w, h = max(faces.tolist(), key=lambda b: b[2] * b[3])
  side = int(round(max(w, h) * (1 + 2 * margin)))
  cx, cy = x + w / 2, y + h / 2
  x0, y0 = max(0, int(round(cx - side / 2))), max(0, int(round(cy - side / 2)))
  x1, y1 = min(grey.shape[1], x0 + side), min(grey.shape[0], y0 + side)
  return x0, y0, x1 - x0, y1 - y0


def crop_clip(clip_TxHxWxC: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
  """Applies one (x, y, w, h) box to every frame."""
  x, y, w, h = box
  return clip_TxHxWxC[:, y:y + h, x:x + w]


def resize_clip(clip_TxHxWxC: np.ndarray, size: tuple[int, int]) -> np.ndarray:
  """Resizes every frame to (H, W) with area averaging (the right filter for shrinking)."""
  h, w = size
  return np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA).reshape(h, w, -1)
                   for f in clip_TxHxWxC])


def to_channels(clip_TxHxWx3: np.ndarray, channels: int) -> np.ndarray:
  """RGB -> grey (1 channel, ITU-R 601 luma) or unchanged (3 channels)."""
  if channels == 3:
    return clip_TxHxWx3
  if channels != 1:
    raise ValueError(f"channels must be 1 or 3, not {channels}")
  weights = np.array([0.299, 0.587, 0.114], np.float32)
  return (clip_TxHxWx3.astype(np.float32) @ weights)[..., None]
