"""Frame folders (numeric sort) and video files -> uint8 RGB arrays."""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
_NUMBER = re.compile(r"(\d+)(?!.*\d)")  # the last run of digits in the stem


class FrameReadError(ValueError):
  """A frame or video that cannot be decoded; the message names the file."""


def frame_number(path: str | os.PathLike) -> int:
  """The frame number in a file name: img46.jpg -> 46, reg_img100.jpg -> 100, EP01_5-12.jpg -> 12."""
  match = _NUMBER.search(Path(path).stem)
  if match is None:
    raise FrameReadError(f"{path}: no frame number in the file name")
  return int(match.group(1))


def list_frames(folder: str | os.PathLike) -> list[tuple[int, Path]]:
  """(frame number, path) of every image in `folder`, sorted numerically (img46 < img100).

  Args:
    folder: a clip folder.

  Returns:
    The frames in numeric order; empty when the folder holds no images.

  Raises:
    FileNotFoundError: when the folder does not exist.
    FrameReadError: when two files carry the same frame number.
  """
  folder = Path(folder)
  if not folder.is_dir():
    raise FileNotFoundError(f"{folder}: no such clip folder")
  frames = sorted((frame_number(p), p) for p in folder.iterdir()
                  if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
  for (a, pa), (b, pb) in zip(frames, frames[1:]):
    if a == b:
      raise FrameReadError(f"{pa} and {pb}: both are frame {a}")
  return frames


def read_image(path: str | os.PathLike) -> np.ndarray:
  """Decodes one image file to uint8 RGB (H, W, 3); truncated or corrupt files raise FrameReadError."""
  path = Path(path)
  try:
    data = path.read_bytes()
  except OSError as e:
    raise FrameReadError(f"{path}: cannot read ({e.strerror})") from None
  # OpenCV decodes a truncated JPEG with a warning and grey rows; the end-of-image marker tells.
  if path.suffix.lower() in (".jpg", ".jpeg") and not data.rstrip(b"\0").endswith(b"\xff\xd9"):
    raise FrameReadError(f"{path}: truncated or corrupt JPEG (no end-of-image marker)")
  image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
  if image is None:
    raise FrameReadError(f"{path}: not a decodable image")
  return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_frames(paths) -> np.ndarray:
  """Decodes image files of one size into uint8 RGB (N, H, W, 3)."""
  frames = [read_image(p) for p in paths]
  if not frames:
    raise FrameReadError("no frames to read")
  for p, f in zip(paths, frames):
    if f.shape != frames[0].shape:
      raise FrameReadError(f"{p}: size {f.shape[1]}x{f.shape[0]} differs from "
                           f"{paths[0]} ({frames[0].shape[1]}x{frames[0].shape[0]})")
  return np.stack(frames)


def read_video(path: str | os.PathLike) -> tuple[np.ndarray, float]:
  """Decodes a video file with OpenCV.

  Args:
    path: any container/codec OpenCV's FFmpeg backend reads.

  Returns:
    (frames uint8 RGB (N, H, W, 3), frames per second; 0.0 when the file does not say).

  Raises:
    FrameReadError: when the file is missing, unreadable, or holds no frames.
  """
  path = Path(path)
  if not path.is_file():
    raise FrameReadError(f"{path}: no such video file")
  capture = cv2.VideoCapture(str(path))
  try:
    if not capture.isOpened():
      raise FrameReadError(f"{path}: not a readable video")
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    frames = []
    while True:
      ok, frame = capture.read()
      if not ok:
        break
      frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
  finally:
    capture.release()
  if not frames:
    raise FrameReadError(f"{path}: no decodable frames (empty or truncated video)")
  return np.stack(frames), fps
