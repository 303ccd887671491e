"""What a real long recording adds around and inside its expressions, so that a spotter cannot
rely on a still face: head tremor and drift, lighting flicker and JPEG compression inside each
expression's clip, and, in some gaps, small out-of-plane head turns and a talking mouth.

The clip windows follow how the hardest long videos are made: each expression sits in a window
played "as recorded" (tremor of 0.15-0.5 px at 2.5-10 Hz starting at any phase, so the head may
jump a fraction of a pixel on the window's first frame; a drift of up to 0.4 px that stays after
it; flicker of up to +-2 %), between stretches of still face. Some windows hold no expression: the
tremor alone must never fire.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from mexp.synthetic.faces import H, W, Face


@dataclasses.dataclass(frozen=True)
class Conditions:
  """Which recording conditions a long video shows (each on by default)."""
  tremor: bool = True  # clip windows with tremor, drift and flicker around events (and alone)
  jpeg: bool = True  # every frame JPEG-compressed (quality 70-90), as a camera or codec would
  turns: bool = True  # in some gaps, the head turns out of plane by a few degrees and stays
  talking: bool = True  # in some gaps, the mouth talks for 0.5-1.2 s


NONE = Conditions(tremor=False, jpeg=False, turns=False, talking=False)


@dataclasses.dataclass(frozen=True)
class Window:
  """A stretch played as recorded: tremor (per axis amplitude px, Hz, phase), drift, flicker."""
  start: int
  stop: int
  amplitude: tuple[float, float]
  hz: tuple[float, float]
  phase: tuple[float, float]
  drift: tuple[float, float]  # px reached at `stop` and kept after it
  flicker: float  # relative amplitude of the lighting's oscillation
  flicker_hz: float


@dataclasses.dataclass(frozen=True)
class Turn:
  start: int  # the turn lasts `stop - start + 1` frames and its pose is kept after it
  stop: int
  yaw: float  # degrees, the new pose (absolute, not a step)
  pitch: float


@dataclasses.dataclass(frozen=True)
class Talk:
  start: int
  stop: int
  amplitude: float  # jaw opening in px at the widest syllable
  syllables_hz: float


@dataclasses.dataclass(frozen=True)
class Plan:
  windows: tuple[Window, ...] = ()
  turns: tuple[Turn, ...] = ()
  talks: tuple[Talk, ...] = ()
  jpeg_quality: int | None = None

  def to_json(self) -> dict:
    return {"windows": [[w.start, w.stop] for w in self.windows],
            "turns": [[t.start, t.stop, round(t.yaw, 2), round(t.pitch, 2)] for t in self.turns],
            "talking": [[t.start, t.stop] for t in self.talks], "jpeg_quality": self.jpeg_quality}


def random_window(rng: np.random.Generator, start: int, stop: int) -> Window:
  """A clip window start..stop with tremor, drift and flicker drawn in the documented ranges."""
  pair = lambda lo, hi: (float(rng.uniform(lo, hi)), float(rng.uniform(lo, hi)))  # noqa: E731
  angle, reach = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.4)
  return Window(start, stop, pair(0.15, 0.5), pair(2.5, 10.0), pair(0, 2 * np.pi),
                (float(reach * np.cos(angle)), float(reach * np.sin(angle))),
                float(rng.uniform(0.01, 0.02)), float(rng.uniform(3.0, 30.0)))


def _gaps(events, frames: int, margin: int) -> list[tuple[int, int]]:
  """The free stretches between (and around) events, `margin` frames from each."""
  edges = [(-margin - 1, -margin - 1)] + [(e.onset, e.offset) for e in events] + \
      [(frames + margin, frames + margin)]
  out = []
  for (_, a), (b, _) in zip(edges, edges[1:]):
    lo, hi = max(0, a + margin + 1), min(frames - 1, b - margin - 1)
    if hi > lo:
      out.append((lo, hi))
  return out


def plan(rng: np.random.Generator, events, frames: int, fps: float,
         conditions: Conditions = Conditions()) -> Plan:
  """Clip windows around every event (0-0.2 s either side), a lone window, turns and talking in
  some gaps, and a JPEG quality: whatever `conditions` turns on."""
  windows, turns, talks = [], [], []
  second = lambda s: int(round(s * fps))  # noqa: E731
  gaps = _gaps(events, frames, second(0.25))
  if conditions.tremor:
    for e in events:
      windows.append(random_window(rng, max(0, e.onset - second(rng.uniform(0, 0.2))),
                             min(frames - 1, e.offset + second(rng.uniform(0, 0.2)))))
    for lo, hi in gaps:  # some windows hold nothing: tremor alone
      n = second(rng.uniform(0.15, 0.4))
      if hi - lo > n and rng.random() < 0.5:
        start = int(rng.integers(lo, hi - n))
        windows.append(random_window(rng, start, start + n - 1))
  free = [g for g in gaps if g[1] - g[0] > second(1.3)]
  for lo, hi in free:
    if conditions.turns and rng.random() < 0.5:
      n = second(rng.uniform(0.3, 0.6))
      start = int(rng.integers(lo, hi - n))
      turns.append(Turn(start, start + n - 1, float(rng.uniform(-4, 4)), float(rng.uniform(-3, 3))))
    elif conditions.talking and rng.random() < 0.6:
      n = second(rng.uniform(0.5, 1.2))
      start = int(rng.integers(lo, hi - n))
      talks.append(Talk(start, start + n - 1, float(rng.uniform(2.0, 4.0)),
                        float(rng.uniform(3.0, 6.0))))
  quality = int(rng.integers(70, 91)) if conditions.jpeg else None
  return Plan(tuple(sorted(windows, key=lambda w: w.start)), tuple(turns), tuple(talks), quality)


def head_offsets(p: Plan, frames: int, fps: float) -> np.ndarray:
  """Per-frame head shift (frames, 2) in px: each window's tremor, and its drift (kept after)."""
  out = np.zeros((frames, 2))
  t = np.arange(frames) / fps
  for w in p.windows:
    inside = slice(w.start, w.stop + 1)
    ramp = np.clip((np.arange(frames) - w.start) / max(w.stop - w.start, 1), 0, 1)
    out += ramp[:, None] * np.float64(w.drift)
    for axis in range(2):
      out[inside, axis] += w.amplitude[axis] * np.sin(
          2 * np.pi * w.hz[axis] * t[inside] + w.phase[axis])
  return out


def gains(p: Plan, frames: int, fps: float) -> np.ndarray:
  """Per-frame lighting gain (frames,): 1, times each window's flicker inside it."""
  out = np.ones(frames)
  t = np.arange(frames) / fps
  for w in p.windows:
    out[w.start:w.stop + 1] *= 1 + w.flicker * np.sin(2 * np.pi * w.flicker_hz * t[w.start:w.stop + 1])
  return out


def turn_angles(p: Plan, frames: int) -> np.ndarray:
  """Per-frame (yaw, pitch) in degrees: raised-cosine moves to each turn's pose, then held."""
  out = np.zeros((frames, 2))
  current = np.zeros(2)
  for turn in p.turns:
    n = turn.stop - turn.start + 1
    w = 0.5 - 0.5 * np.cos(np.pi * np.arange(1, n + 1) / n)
    target = np.float64([turn.yaw, turn.pitch])
    out[turn.start:turn.stop + 1] = current + w[:, None] * (target - current)
    out[turn.stop + 1:] = target
    current = target
  return out


def talk_opening(p: Plan, frames: int, fps: float, rng: np.random.Generator) -> np.ndarray:
  """Per-frame jaw opening in px: syllables (half sines of random height) while talking."""
  out = np.zeros(frames)
  for talk in p.talks:
    n = talk.stop - talk.start + 1
    phase = np.cumsum(np.full(n, talk.syllables_hz / fps) * rng.uniform(0.7, 1.3, n))
    height = rng.uniform(0.4, 1.0, int(phase[-1]) + 2)[phase.astype(int)]
    out[talk.start:talk.stop + 1] = talk.amplitude * height * np.abs(np.sin(np.pi * phase))
  return out


def turn_field(face: Face, yaw_deg: float, pitch_deg: float) -> np.ndarray:
  """Displacement (H, W, 2) of a head (an ellipsoid over the face ellipse) turned out of plane by
  yaw and pitch: the face's middle moves further than its rim, which no similarity undoes."""
  yy, xx = np.mgrid[:H, :W].astype(np.float32)
  u, v = (xx - face.cx) / face.fw, (yy - face.cy) / face.fh
  depth = 0.8 * face.fw * np.sqrt(np.clip(1 - u * u - v * v, 0, 1))
  yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
  dx = (xx - face.cx) * (np.cos(yaw) - 1) + depth * np.sin(yaw)
  dy = (yy - face.cy) * (np.cos(pitch) - 1) + depth * np.sin(pitch)
  return np.stack([dx, dy], -1).astype(np.float32)


def jaw_field(face: Face) -> np.ndarray:
  """Displacement (H, W, 2) per px of jaw opening: the lower lip and chin move down."""
  yy, xx = np.mgrid[:H, :W].astype(np.float32)
  below = np.clip((yy - face.mouth_y) / (0.1 * face.fh), 0, 1)
  across = np.exp(-((xx - face.cx) / (1.3 * face.mouth_w)) ** 2)
  fade = np.exp(-np.clip(yy - face.mouth_y - 0.35 * face.fh, 0, None) ** 2 / (0.1 * face.fh) ** 2)
  return np.stack([np.zeros_like(yy), below * across * fade], -1).astype(np.float32)


def compress(frame_HxWx3: np.ndarray, quality: int | None) -> np.ndarray:
  """The frame after a JPEG round trip at `quality` (unchanged when None)."""
  if quality is None:
    return frame_HxWx3
  ok, data = cv2.imencode(".jpg", frame_HxWx3, [cv2.IMWRITE_JPEG_QUALITY, quality])
  return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
