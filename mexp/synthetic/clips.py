"""One micro-expression clip: the movement profile, distractors, and writing frames to disk."""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from mexp import databases
from mexp.synthetic.faces import H, W, Face, au_field, render

FPS = databases.CASME2.fps  # CASME II's rate; the time axis of drift and flicker

@dataclasses.dataclass(frozen=True)
class SheetClip:
  """One clip of a twin whose sheet has a row per clip (SAMM, MMEW): name, label, timing."""
  subject: int  # the database's numbering: 6 -> SAMM '006', 1 -> MMEW 'S01'
  filename: str  # the sheet's Filename: '006_1_2', 'S01_happiness_01'
  emotion: str  # as the sheet spells it
  aus: tuple[int, ...]
  onset: int
  apex: int
  offset: int
  seed: int


def intensity_profile(n: int, apex: int) -> np.ndarray:
  """Onset -> apex -> offset intensity in [0, 1]: a raised cosine up, then down."""
  t = np.arange(n, dtype=np.float32)
  up = 0.5 - 0.5 * np.cos(np.pi * np.clip(t / max(apex, 1), 0, 1))
  down = 0.5 + 0.5 * np.cos(np.pi * np.clip((t - apex) / max(n - 1 - apex, 1), 0, 1))
  return np.where(t <= apex, up, down)


def render_clip(face: Face, aus, rng: np.random.Generator, n: int, apex: int,
                fps: float = FPS) -> np.ndarray:
  """A clip of n frames, uint8 RGB (n, H, W, 3), with its movement and distractors."""
  amplitude = rng.uniform(1.0, 3.0)
  base, closed = render(face), render(face, eyes_closed=True)
  field = au_field(face, aus, amplitude)
  profile = intensity_profile(n, apex)
  t = np.arange(n) / fps
  drift = rng.uniform(-1, 1, 2) * rng.uniform(0, 1.5) * t[:, None] / max(t[-1], 1e-9) \
      + 0.3 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t[:, None] + rng.uniform(0, 6, 2))
  blink = np.zeros(n, np.float32)
  if rng.random() < 0.3:  # a blink: ~40 ms closing, ~80 ms opening (at 200 fps)
    blink = blink_profile(n, rng.integers(-10, n), close=8).astype(np.float32)
  flicker = 1 + 0.01 * np.sin(2 * np.pi * rng.uniform(50, 100) * t + rng.uniform(0, 6)) \
      + rng.normal(0, 0.003, n)
  yy, xx = np.mgrid[:H, :W].astype(np.float32)
  frames = np.empty((n, H, W, 3), np.uint8)
  for i in range(n):
    frames[i] = compose_frame(base, closed, blink[i], xx - profile[i] * field[..., 0] - np.float32(
        drift[i, 0]), yy - profile[i] * field[..., 1] - np.float32(drift[i, 1]), flicker[i], 2.0,
                              rng)
  return frames


def blink_profile(n: int, start: int, close: int) -> np.ndarray:
  """Eyelid closure (n,) in [0, 1]: closing over `close` frames from `start`, reopening over 2x."""
  k = np.arange(n) - start
  return np.clip(np.where(k < close, k / close, 1 - (k - close) / (2 * close)), 0, 1)


def compose_frame(base, closed, blink: float, map_x, map_y, gain: float, noise: float,
                  rng: np.random.Generator) -> np.ndarray:
  """One rendered frame, uint8 (H, W, 3): the face blended with its closed-eye image by `blink`,
  warped by the sampling maps (movement, drift, head pose), scaled by `gain` (illumination), plus
  sensor noise of sigma `noise`. Clips and long videos both draw every frame through it."""
  image = base if blink == 0 else base * (1 - blink) + closed * blink
  warped = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
  noisy = warped * np.float32(gain) + rng.standard_normal((H, W, 3), dtype=np.float32) * \
      np.float32(noise)
  return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


@contextlib.contextmanager
def atomic_dir(out_dir: str | os.PathLike):
  """Yields a temporary sibling folder, renamed to out_dir only when the block completes."""
  out = Path(out_dir)
  if out.exists() and any(out.iterdir()):
    raise FileExistsError(f"{out}: exists and is not empty")
  out.parent.mkdir(parents=True, exist_ok=True)
  tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.incomplete-", dir=out.parent))
  try:
    yield tmp
    if out.exists():
      out.rmdir()
    tmp.rename(out)
  finally:
    if tmp.exists():
      shutil.rmtree(tmp)



def write_frames(folder: Path, frames_NxHxWx3: np.ndarray, names, *, grey: bool = False,
                 quality: int = 90) -> None:
  """Writes one image per frame; the suffix of each name picks the format (.jpg or .bmp)."""
  folder.mkdir(parents=True)
  for frame, name in zip(frames_NxHxWx3, names):
    image = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY if grey else cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if name.endswith(".jpg") else []
    ok, data = cv2.imencode(Path(name).suffix, image, params)
    (folder / name).write_bytes(data.tobytes())


def run_all(write, items, *, workers: int | None = None, progress: bool = False) -> None:
  """Calls write(item) for every item on a thread pool (cv2 releases the GIL)."""
  with concurrent.futures.ThreadPoolExecutor(workers or os.cpu_count()) as pool:
    jobs = [pool.submit(write, item) for item in items]
    if progress:
      from tqdm import tqdm
      jobs = tqdm(concurrent.futures.as_completed(jobs), total=len(jobs), desc="synthetic clips",
                  disable=None)  # None: no bar when not a terminal (logs, CI)
    for job in jobs:
      job.result()
