"""Frame folders (numeric sort) and video files -> uint8 RGB arrays."""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import simplejpeg

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
_JPEG_MAGIC = b"\xff\xd8\xff"
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
  """Decodes one image file to uint8 RGB (H, W, 3), strictly: a damaged file raises FrameReadError.

  The format is read from the file's first bytes, not its suffix. JPEGs are decoded by
  libjpeg-turbo in strict mode, so corrupt entropy-coded data, which OpenCV only warns about and
  decodes to wrong pixels, stops the read with the file named.
  """
  path = Path(path)
  try:
    data = path.read_bytes()
  except OSError as e:
    raise FrameReadError(f"{path}: cannot read ({e.strerror})") from None
  if data[:3] == _JPEG_MAGIC:
    try:
      return simplejpeg.decode_jpeg(data, colorspace="RGB", strict=True)
    except ValueError as e:
      raise FrameReadError(f"{path}: corrupt JPEG ({e})") from None
  image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
  if image is None:
    kind = "empty file" if not data else f"starts with bytes {data[:4].hex()}"
    raise FrameReadError(f"{path}: not a decodable image ({kind})")
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
    (frames uint8 RGB (N, H, W, 3), frames per second; None when the file does not say, or says
    something implausible: see `video_fps`).

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
    fps = video_fps(path, capture.get(cv2.CAP_PROP_FPS))
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


def open_frames(path: str | os.PathLike) -> tuple[Iterator[tuple[int, np.ndarray]], float | None]:
  """A video file or frame folder read one frame at a time, never held whole.

  Args:
    path: a video file (OpenCV's FFmpeg backend) or a folder of numbered images.

  Returns:
    (an iterator of (frame number, uint8 RGB (H, W, 3)), the file's trustworthy rate or None;
    None for a folder). Video frames are numbered from 0.

  Raises:
    FrameReadError: at once when the input is missing, unreadable or a folder without frames; while
      iterating for a damaged image or a frame whose size differs from the first.
  """
  path = Path(path)
  if path.is_dir():
    listed = list_frames(path)
    if not listed:
      raise FrameReadError(f"{path}: no frames (expected images such as img46.jpg)")
    return _folder_frames(listed), None
  if not path.is_file():
    raise FrameReadError(f"{path}: no such video file")
  capture = cv2.VideoCapture(str(path))
  if not capture.isOpened():
    capture.release()
    raise FrameReadError(f"{path}: not a readable video")
  return _video_frames(path, capture), video_fps(path, capture.get(cv2.CAP_PROP_FPS))


def _folder_frames(listed) -> Iterator[tuple[int, np.ndarray]]:
  first = None
  for number, p in listed:
    frame = read_image(p)
    first = first if first is not None else (p, frame.shape)
    if frame.shape != first[1]:
      raise FrameReadError(f"{p}: size {frame.shape[1]}x{frame.shape[0]} differs from "
                           f"{first[0]} ({first[1][1]}x{first[1][0]})")
    yield number, frame


def _video_frames(path: Path, capture) -> Iterator[tuple[int, np.ndarray]]:
  try:
    n = 0
    while True:
      ok, bgr = capture.read()
      if not ok:
        break
      yield n, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
      n += 1
    if not n:
      raise FrameReadError(f"{path}: no decodable frames (empty or truncated video)")
  finally:
    capture.release()


PLAUSIBLE_FPS = (1.0, 2000.0)


def missing_runs(numbers: list[int]) -> list[tuple[int, int]]:
  """(first, last) of each run of frame numbers missing between sorted `numbers`."""
  return [(a + 1, b - 1) for a, b in zip(numbers, numbers[1:]) if b > a + 1]


def fps_error(fps: float, flag: str = "--fps") -> str | None:
  """Why `fps` given by a user cannot be a frame rate (NaN, zero, negative, implausible), or None."""
  if not (np.isfinite(fps) and PLAUSIBLE_FPS[0] <= fps <= PLAUSIBLE_FPS[1]):
    return (f"{flag} {fps:g}: a frame rate must be a number from {PLAUSIBLE_FPS[0]:g} to "
            f"{PLAUSIBLE_FPS[1]:g}")
  return None


def video_fps(path: str | os.PathLike, reported: float | None) -> float | None:
  """The frame rate OpenCV reports for a video file, or None where it cannot be trusted.

  FFmpeg reports 25 fps for a stream whose header gives a zero rate, so for AVI files (the
  usual container of lab recordings) the header's own rate is checked; any value outside
  PLAUSIBLE_FPS is also None.
  """
  fps = float(reported or 0.0)
  if not PLAUSIBLE_FPS[0] <= fps <= PLAUSIBLE_FPS[1]:
    return None
  if Path(path).suffix.lower() == ".avi" and _avi_rate(Path(path)) == 0.0:
    return None
  return fps


def _avi_rate(path: Path) -> float | None:
  """An AVI header's frame rate: the video stream's rate / scale, else the main header's
  microseconds per frame; 0.0 when both are zero, None when the header cannot be read."""
  with open(path, "rb") as f:
    head = f.read(1 << 16)
  main, at = head.find(b"avih"), head.find(b"strh")
  while at >= 0 and head[at + 8:at + 12] != b"vids":  # 'strh', size, fccType, ...
    at = head.find(b"strh", at + 4)
  if head[:4] != b"RIFF" or main < 0 or at < 0 or len(head) < at + 36:
    return None
  scale, rate = struct.unpack("<II", head[at + 28:at + 36])
  (us_per_frame,) = struct.unpack("<I", head[main + 8:main + 12])
  if scale and rate:
    return rate / scale
  return 1e6 / us_per_frame if us_per_frame else 0.0
