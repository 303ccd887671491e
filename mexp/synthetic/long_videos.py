"""Long videos for spotting: a neutral face with micro- and macro-expressions, blinks and drift.

Two styles: DEFAULT (100 fps in the CLI, a macro-expression, 0.5 s gaps, drift: fast, for tests)
and HARD (the spotting issue's case: micro-expressions only, 1.5 s of still face between them with
sensor noise sigma 1.5, and a slow head movement, 0.6 s of a few pixels and a fraction of a
degree, to the next neutral pose in each gap, sometimes right beside an event).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import cv2
import numpy as np

from mexp.synthetic import recording
from mexp.synthetic.casme2 import EMOTION_AUS, EMOTIONS
from mexp.synthetic.clips import atomic_dir, blink_profile, compose_frame, intensity_profile
from mexp.synthetic.faces import H, W, Face, au_field, random_face, render


@dataclasses.dataclass(frozen=True)
class LongEvent:
  onset: int  # frame index in the video
  offset: int
  kind: str  # 'micro' or 'macro'
  emotion: str
  aus: tuple[int, ...]
  apex: int | None = None  # frame index of the peak; None: drawn when rendering (35-65 %)


@dataclasses.dataclass(frozen=True)
class Style:
  """What a long video holds besides its events."""
  macro: int = 1  # held macro-expressions (0.9-1.3 s)
  gap_seconds: float = 0.5  # least neutral time between events (and before the first)
  noise: float = 2.0  # sensor noise sigma, grey levels
  drift: bool = True  # a slow random walk + sway of half a pixel
  head_moves: bool = False  # one slow move to a new neutral pose in each gap
  conditions: recording.Conditions = recording.Conditions()  # tremor, flicker, JPEG, turns, talk


DEFAULT = Style()
HARD = Style(macro=0, gap_seconds=1.5, noise=1.5, drift=False, head_moves=True)
HEAD_MOVE_SECONDS = 0.6


@dataclasses.dataclass(frozen=True)
class HeadMove:
  start: int  # frame index where the move begins; it lasts HEAD_MOVE_SECONDS
  stop: int
  pose: tuple[float, float, float, float]  # the new pose: dx, dy (px), rotation (deg), scale


def plan_long_video(rng: np.random.Generator, frames: int, fps: float, micro: int = 3, *,
                    macro: int = 1, gap_seconds: float = 0.5) -> tuple[list[LongEvent], list[int]]:
  """Non-overlapping events (micro- and macro-expressions) a gap apart, and blink starts."""
  lengths = [("micro", int(rng.uniform(0.2, 0.4) * fps)) for _ in range(micro)]
  for _ in range(macro):
    lengths.insert(int(rng.integers(len(lengths) + 1)), ("macro", int(rng.uniform(0.9, 1.3) * fps)))
  gap = int(gap_seconds * fps)
  lead = min(gap, int(fps))  # before the first event and after the last
  free = frames - sum(n for _, n in lengths) - gap * (len(lengths) - 1) - 2 * lead
  if free < 0:
    raise ValueError(f"{frames} frames cannot hold {micro} micro- and {macro} macro-expression(s) "
                     f"{gap_seconds:g} s apart")
  cuts = np.sort(rng.integers(0, free + 1, len(lengths)))
  events, start = [], lead
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


def plan_head_moves(rng: np.random.Generator, events: list[LongEvent], frames: int,
                    fps: float) -> list[HeadMove]:
  """One slow move per gap between events (or after the last), anywhere in it, to a new pose."""
  n = int(round(HEAD_MOVE_SECONDS * fps))
  margin = max(1, int(0.05 * fps))
  ends = [e.offset for e in events]
  starts = [e.onset for e in events[1:]] + [frames]
  moves = []
  for lo, hi in zip(ends, starts):
    lo, hi = lo + margin, hi - margin - n
    if hi <= lo:
      continue
    start = int(rng.integers(lo, hi + 1))
    pose = (rng.uniform(-4, 4), rng.uniform(-3, 3), rng.uniform(-1.5, 1.5),
            rng.uniform(0.985, 1.015))
    moves.append(HeadMove(start, start + n - 1, tuple(float(p) for p in pose)))
  return moves


def head_pose(moves: list[HeadMove], frames: int) -> np.ndarray:
  """Per-frame pose (frames, 4): dx, dy, degrees, scale; raised-cosine moves between poses."""
  pose = np.tile(np.float64([0, 0, 0, 1]), (frames, 1))
  current = pose[0].copy()
  for m in moves:
    target = np.float64(m.pose)
    w = intensity_profile(2 * (m.stop - m.start + 1), m.stop - m.start + 1)[:m.stop - m.start + 1]
    pose[m.start:m.stop + 1] = current + w[:, None] * (target - current)
    pose[m.stop + 1:] = target
    current = target
  return pose


def _pose_maps(face: Face, pose, xx: np.ndarray, yy: np.ndarray):
  """Where each output pixel samples the unmoved image, for a similarity about the face centre."""
  dx, dy, degrees, scale = pose
  c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
  u, v = (xx - face.cx - dx) / scale, (yy - face.cy - dy) / scale
  return (face.cx + c * u + s * v).astype(np.float32), (face.cy - s * u + c * v).astype(np.float32)


def render_long_video(face: Face, rng: np.random.Generator, events: list[LongEvent],
                      blinks: list[int], frames: int, fps: float, *, style: Style = DEFAULT,
                      head_moves: list[HeadMove] = (), conditions: recording.Plan | None = None):
  """Yields uint8 RGB frames: neutral face, the events, blinks, head motion, noise, and the
  recording conditions (recording.plan's from `rng` and style.conditions unless given)."""
  base, closed = render(face), render(face, eyes_closed=True)
  fields = [au_field(face, e.aus, rng.uniform(1.0, 3.0) if e.kind == "micro"
                     else rng.uniform(5.0, 8.0)) for e in events]
  profiles = [np.zeros(frames, np.float32) for _ in events]
  for p, e in zip(profiles, events):
    n = e.offset - e.onset + 1
    drawn = int(n * rng.uniform(0.35, 0.65))  # drawn even when given: the same stream either way
    p[e.onset:e.offset + 1] = intensity_profile(n, drawn if e.apex is None else e.apex - e.onset)
  blink = np.zeros(frames, np.float32)
  for b in blinks:
    blink = np.maximum(blink, blink_profile(frames, b, close=max(2, int(0.04 * fps))))
  t = np.arange(frames) / fps
  drift = np.zeros((frames, 2))
  if style.drift:
    drift = np.cumsum(rng.normal(0, 0.02, (frames, 2)), axis=0) \
        + 0.5 * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t[:, None] + rng.uniform(0, 6, 2))
  if conditions is None:
    conditions = recording.plan(rng, events, frames, fps, style.conditions)
  pose = head_pose(list(head_moves), frames)
  pose[:, :2] += recording.head_offsets(conditions, frames, fps)
  gain = recording.gains(conditions, frames, fps)
  turn = recording.turn_angles(conditions, frames)
  jaw = recording.talk_opening(conditions, frames, fps, rng)
  jaw_field = recording.jaw_field(face) if conditions.talks else None
  yy, xx = np.mgrid[:H, :W].astype(np.float32)
  maps, turned, zero = (xx, yy), None, np.zeros((H, W, 2), np.float32)
  for i in range(frames):
    if i == 0 or (pose[i] != pose[i - 1]).any():
      maps = _pose_maps(face, pose[i], xx, yy)
    if i == 0 or (turn[i] != turn[i - 1]).any():
      turned = zero if not turn[i].any() else recording.turn_field(face, *turn[i])
    move = sum((p[i] * f for p, f in zip(profiles, fields) if p[i] > 0), turned)
    if jaw[i] > 0:
      move = move + np.float32(jaw[i]) * jaw_field
    frame = compose_frame(base, closed, blink[i], maps[0] - move[..., 0] - np.float32(drift[i, 0]),
                          maps[1] - move[..., 1] - np.float32(drift[i, 1]),
                          (1 + 0.003 * rng.standard_normal()) * gain[i], style.noise, rng)
    yield recording.compress(frame, conditions.jpeg_quality)


def hard_seconds(micro: int) -> float:
  """A HARD video's length for `micro` events: 1 s lead, 1.5 s gaps, room to spare."""
  return round(1.0 + 1.9 * micro, 1)


def write_long_videos(out_dir: str | os.PathLike, *, videos: int = 4, seed: int = 0,
                      seconds: float | None = 6.0, fps: float = 100.0, micro: int = 3,
                      style: Style = DEFAULT) -> Path:
  """Writes videoNN.avi (MJPG) and ground_truth.json into out_dir, atomically.

  Args:
    out_dir: a new or empty folder.
    videos: how many videos, each of a new subject (face) drawn from `seed`.
    seed: the root seed; another seed gives other subjects.
    seconds: video length; None: hard_seconds(micro).
    fps: frame rate (the issue's hard case is 200).
    micro: micro-expressions per video.
    style: DEFAULT (a macro-expression, drift) or HARD (still gaps, slow head moves).

  Returns:
    out_dir. ground_truth.json lists each video's events (frames, kind, emotion), blinks and
    head moves.
  """
  rng = np.random.default_rng([seed, 1])
  frames = int((seconds if seconds is not None else hard_seconds(micro)) * fps)
  truth = {"fps": fps, "frames": frames, "seed": seed, "style": dataclasses.asdict(style),
           "videos": []}
  with atomic_dir(out_dir) as tmp:
    for v in range(videos):
      face = random_face(rng)
      events, blinks = plan_long_video(rng, frames, fps, micro, macro=style.macro,
                                       gap_seconds=style.gap_seconds)
      moves = plan_head_moves(rng, events, frames, fps) if style.head_moves else []
      conditions = recording.plan(rng, events, frames, fps, style.conditions)
      name = f"video{v + 1:02d}.avi"
      writer = cv2.VideoWriter(str(tmp / name), cv2.VideoWriter_fourcc(*"MJPG"), fps, (W, H))
      for frame in render_long_video(face, rng, events, blinks, frames, fps, style=style,
                                     head_moves=moves, conditions=conditions):
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
      writer.release()
      truth["videos"].append({"file": name, "blinks": blinks,
                              "head_moves": [[m.start, m.stop] for m in moves],
                              "conditions": conditions.to_json(),
                              "events": [dataclasses.asdict(e) for e in events]})
    (tmp / "ground_truth.json").write_text(json.dumps(truth, indent=1))
  return Path(out_dir)
