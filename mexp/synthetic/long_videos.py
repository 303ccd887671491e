"""Long videos for spotting: a neutral face with micro- and macro-expressions, blinks and drift."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import cv2
import numpy as np

from mexp.synthetic.casme2 import EMOTION_AUS, EMOTIONS
from mexp.synthetic.clips import atomic_dir, intensity_profile
from mexp.synthetic.faces import H, W, Face, au_field, random_face, render


@dataclasses.dataclass(frozen=True)
class LongEvent:
  onset: int  # frame index in the video
  offset: int
  kind: str  # 'micro' or 'macro'
  emotion: str
  aus: tuple[int, ...]


def plan_long_video(rng: np.random.Generator, frames: int, fps: float,
                    micro: int = 3) -> tuple[list[LongEvent], list[int]]:
  """Non-overlapping events (micro-expressions and one macro-expression) and blink starts."""
  lengths = [("micro", int(rng.uniform(0.2, 0.4) * fps)) for _ in range(micro)]
  lengths.insert(int(rng.integers(len(lengths) + 1)), ("macro", int(rng.uniform(0.9, 1.3) * fps)))
  gap = int(0.5 * fps)
  free = frames - sum(n for _, n in lengths) - gap * (len(lengths) + 1)
  if free < 0:
    raise ValueError(f"{frames} frames cannot hold {micro} micro- and one macro-expression")
  cuts = np.sort(rng.integers(0, free + 1, len(lengths)))
  events, start = [], gap
  for (kind, n), extra in zip(lengths, np.diff(np.concatenate([[0], cuts]))):
    start += int(extra)
    emotion = str(rng.choice([e for e in EMOTIONS if e != "others"]))
    aus = EMOTION_AUS[emotion][rng.integers(len(EMOTION_AUS[emotion]))]
    events.append(LongEvent(start, start + n - 1, kind, emotion, aus))
    start += n + gap
  busy = np.zeros(frames, bool)
  for e in events:
    busy[max(0, e.onset - 5):e.offset + 5] = True
  blinks = [int(t) for t in rng.permutation(np.flatnonzero(~busy))[:2]]
  return events, sorted(blinks)


def render_long_video(face: Face, rng: np.random.Generator, events: list[LongEvent],
                      blinks: list[int], frames: int, fps: float):
  """Yields uint8 RGB frames: neutral face, the events, blinks, slow head motion and noise."""
  base, closed = render(face), render(face, eyes_closed=True)
  fields = [au_field(face, e.aus, rng.uniform(1.0, 3.0) if e.kind == "micro"
                     else rng.uniform(5.0, 8.0)) for e in events]
  profiles = [np.zeros(frames, np.float32) for _ in events]
  for p, e in zip(profiles, events):
    n = e.offset - e.onset + 1
    p[e.onset:e.offset + 1] = intensity_profile(n, int(n * rng.uniform(0.35, 0.65)))
  blink = np.zeros(frames, np.float32)
  close = max(2, int(0.04 * fps))
  for b in blinks:
    k = np.arange(frames) - b
    blink = np.maximum(blink, np.clip(np.where(k < close, k / close, 1 - (k - close) / (2 * close)),
                                      0, 1))
  t = np.arange(frames) / fps
  drift = np.cumsum(rng.normal(0, 0.02, (frames, 2)), axis=0) \
      + 0.5 * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t[:, None] + rng.uniform(0, 6, 2))
  yy, xx = np.mgrid[:H, :W].astype(np.float32)
  for i in range(frames):
    image = base if blink[i] == 0 else base * (1 - blink[i]) + closed * blink[i]
    dx = sum((p[i] * f[..., 0] for p, f in zip(profiles, fields) if p[i] > 0), np.float32(0))
    dy = sum((p[i] * f[..., 1] for p, f in zip(profiles, fields) if p[i] > 0), np.float32(0))
    warped = cv2.remap(image, xx - dx - np.float32(drift[i, 0]), yy - dy - np.float32(drift[i, 1]),
                       cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    noisy = warped * np.float32(1 + 0.003 * rng.standard_normal()) \
        + rng.standard_normal((H, W, 3), dtype=np.float32) * 2.0
    yield np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def write_long_videos(out_dir: str | os.PathLike, *, videos: int = 4, seed: int = 0,
                      seconds: float = 6.0, fps: float = 100.0, micro: int = 3) -> Path:
  """Writes videoNN.avi (MJPG) and ground_truth.json into out_dir, atomically.

  Each video: a neutral face with `micro` micro-expressions and one macro-expression, 2 blinks,
  slow head motion and noise. ground_truth.json lists every event's frames, kind and emotion.
  """
  rng = np.random.default_rng([seed, 1])
  frames = int(seconds * fps)
  truth = {"fps": fps, "frames": frames, "videos": []}
  with atomic_dir(out_dir) as tmp:
    for v in range(videos):
      face = random_face(rng)
      events, blinks = plan_long_video(rng, frames, fps, micro)
      name = f"video{v + 1:02d}.avi"
      writer = cv2.VideoWriter(str(tmp / name), cv2.VideoWriter_fourcc(*"MJPG"), fps, (W, H))
      for frame in render_long_video(face, rng, events, blinks, frames, fps):
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
      writer.release()
      truth["videos"].append({"file": name, "blinks": blinks,
                              "events": [dataclasses.asdict(e) for e in events]})
    (tmp / "ground_truth.json").write_text(json.dumps(truth, indent=1))
  return Path(out_dir)

