"""One spotting core, used offline (predict) and online (stream): when does the face move?

Assumptions a real recording breaks are handled, and the generator breaks them on purpose
(mexp.synthetic.recording, mexp.synthetic.joined): the head trembles and drifts during an
expression, the lighting flickers, frames are compressed, the face after an expression need not
be the face before it, the head moves right up to an onset, the first frames may hold no face,
and an edited video cuts between shots.

- The face is stabilised onto a template (mexp.preprocess.stabilise: a similarity fit, refined
  from the previous frame's), so rigid head motion, tremor included, is removed before any energy
  is measured. A template the face has long stopped resembling is replaced, and a shot cut starts
  a new track: both restart the references below, never a movement.
- Evidence is relative to the whole face: the energy is the largest pooled |frame - reference|
  over the face (eyes and border masked, brightness matched) divided by the median one, so what a
  fit leaves over the whole face (registration residue, compression, noise, lighting) cancels,
  and in robust deviations (median, MAD) of the quiet frames' energies.
- Local in time: the reference is a running mean of the frames a lag earlier while quiet, frozen
  at an onset (the energy follows the movement up to the apex and back). A movement starts above
  `k_on` and ends either when the face is back (below `k_off` for `settle_seconds`: decided at
  once) or when it has rested, unchanged for `hold_seconds` (measured frame to frame, so slow
  changes and a face that settles elsewhere close it too): then the offset is the last frame that
  differs from the rest, and the rest becomes the reference. A rest may be an apex held still:
  when the face moves again within `correct_seconds`, or comes back to the face before the onset,
  a correction event replaces the decision.
- A splice is not a movement: at 100 fps or more, a face that changes within one frame and is
  steady again on the next (clips joined, frames dropped) becomes the reference at once, and
  nothing starts; a muscle keeps changing the face for 20 ms or more.
- Head moves are gated: while the tracked corners are further than `head_px` from where they were
  in the reference (tremor sways about it; a move goes somewhere), nothing starts and the
  reference follows the frames; the gate lifts when the head has stopped travelling.
- MEGC's rule: intervals of at most `max_micro_seconds` are micro-expressions, longer ones macro.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from typing import Iterable

import cv2
import numpy as np

from mexp.preprocess import face
from mexp.tracking import FaceTracker


@dataclasses.dataclass(frozen=True)
class SpotConfig:
  """Thresholds in robust deviations, durations in seconds (so 25-200 fps behave alike).

  k_on, hold_seconds, k_still and pad_seconds were set on training videos only
  (experiments/spotting_fit.py: seed 100's subjects, which no evaluation uses; 6 hard videos with
  the recording conditions and 3 joined from clips, 48 micro-expressions): micro F1 0.899 here
  and at six other points, 0.909 at one (k_on 12, k_still 5, pad 40 ms: one TP more, not a
  plateau), 0.854-0.876 at the rest; spotting_fit.choose took the plateau's middle. k_jump by
  the same replay afterwards: 10, 10, 11, 11 of the 12 joined micro-expressions at 15, 20, 25, 40.
  """
  k_on: float = 8.0  # a movement starts when the energy exceeds median + k_on * MAD
  k_off: float = 3.0  # and lasts while it stays above median + k_off * MAD
  settle_seconds: float = 0.015  # below k_off this long: the face is back, decide now
  hold_seconds: float = 0.1  # unchanged this long (and `still_seconds` more): a resting state
  still_seconds: float = 0.02
  k_still: float = 5.0  # unchanged: the change over `hold_seconds` below median + k_still * MAD
  pad_seconds: float = 0.02  # widens the onset (and the offset up to the decision, never later)
  lag_seconds: float = 0.1  # the quiet reference trails the frame (an onset is not absorbed)
  reference_seconds: float = 0.1  # time constant of the reference's running mean
  baseline_seconds: float = 3.0  # quiet energies kept for the median and MAD
  warmup_seconds: float = 0.5  # the first quiet stretch: baseline only, no events
  min_seconds: float = 0.04  # shorter movements are glitches
  max_micro_seconds: float = 0.5  # MEGC's rule: longer is a macro-expression
  max_seconds: float = 4.0  # longer: the face settled in a new state; re-reference
  correct_seconds: float = 0.2  # moving again this soon after a decision: the same movement
  head_px: float = 1.0  # the face's corners are further than this (template px) from where they
  # were in the reference: past the largest tremor (0.5 frame px, ~0.3 template px) and its drift
  pool: float = 0.07  # energy is pooled over squares of this fraction of the crop side
  blur: float = 1.0  # extra smoothing, pixels of the crop: resampling differences are fine-grained
  k_jump: float = 25.0  # the face changed above median + k_jump * MAD from one frame to the next,
  jump_seconds: float = 0.01  # and a frame is this short or shorter: a splice, not a muscle
  blip_seconds: float = 0.005  # a correction needs the energy above k_on for longer than this


@dataclasses.dataclass(frozen=True)
class Interval:
  onset: int  # frame index
  offset: int
  kind: str  # 'micro' or 'macro'
  peak: float  # energy in baseline deviations


@dataclasses.dataclass(frozen=True)
class Event:
  """A decision: `interval` was decided at frame `decided_at`; `corrects` is the index (in the
  order of events) of an earlier event that this one replaces, or None."""
  interval: Interval
  decided_at: int
  corrects: int | None = None


def energy(frame_HxW: np.ndarray, reference_HxW: np.ndarray, keep_HxW: np.ndarray,
           pool: int) -> float:
  """The largest mean |frame - reference| over pool x pool squares inside `keep`, divided by their
  median, after matching the frame's brightness to the reference's (flicker). A micro-expression
  is local, so the largest square; what is left over the whole face (registration residue of
  tremor, compression, noise, lighting) raises the median as much as the largest, so the ratio."""
  gain = reference_HxW[keep_HxW].mean() / max(float(frame_HxW[keep_HxW].mean()), 1e-6)
  diff = np.abs(frame_HxW * np.float32(gain) - reference_HxW) * keep_HxW
  squares = cv2.blur(diff, (pool, pool))[keep_HxW]
  # The squares overlap, so every 7th is as good a median and 7 times cheaper.
  return float(squares.max() / max(float(np.median(squares[::7])), 1e-3))


def head_motion(before_Px2: np.ndarray, after_Px2: np.ndarray) -> float:
  """Median distance the tracked corners moved: the head's motion (an expression moves fewer than
  half of them, so unlike the fitted similarity it leaves this alone)."""
  moved = np.linalg.norm(after_Px2 - before_Px2, axis=1)
  moved = moved[np.isfinite(moved)]
  return float(np.median(moved)) if moved.size else 0.0


def _robust_z(value: float, baseline) -> float:
  """value in robust deviations (median, MAD) of the baseline's values."""
  base = np.asarray(baseline)
  median = float(np.median(base))
  return (value - median) / (float(np.median(np.abs(base - median))) * 1.4826 + 1e-6)


def _interval(start: int, last: int, now: int, peak: float, fps: float,
              config: SpotConfig) -> Interval:
  """start..last widened by the pad (never past `now`, the deciding frame), with its kind."""
  pad = int(round(config.pad_seconds * fps))
  onset, offset = max(0, start - pad), min(now, last + pad)
  kind = "micro" if (offset - onset + 1) / fps <= config.max_micro_seconds else "macro"
  return Interval(onset, offset, kind, round(peak, 2))


class Spotter:
  """The core: aligned face crops (keep: tracking.energy_mask's pixels) in, decisions out, one
  frame at a time."""

  def __init__(self, fps: float, keep_HxW: np.ndarray, config: SpotConfig = SpotConfig()):
    frames = lambda seconds: max(1, int(round(seconds * fps)))  # noqa: E731
    self.fps, self.keep, self.config = fps, keep_HxW, config
    self.pool = max(3, int(round(config.pool * keep_HxW.shape[0])) | 1)
    self.lag, self.settle = frames(config.lag_seconds), frames(config.settle_seconds)
    self.hold, self.still_for = frames(config.hold_seconds), frames(config.still_seconds)
    self.flicker = max(1, int(round(0.01 * fps)))
    self.alpha = np.float32(1.0 / frames(config.reference_seconds))
    self.warmup, self.correct = frames(config.warmup_seconds), frames(config.correct_seconds)
    self.quiet = collections.deque(maxlen=max(self.warmup, frames(config.baseline_seconds)))
    self.quiet_step = collections.deque(maxlen=self.quiet.maxlen)  # the same for the step energy
    self.quiet_jump = collections.deque(maxlen=self.quiet.maxlen)  # and for frame to frame
    self.jumps = int(round(fps * config.jump_seconds))  # 0: frames too long to tell a splice
    self.jump_run, self.jump_at = 0, -1  # frames the face has changed above k_jump, since when
    self.blip = int(round(config.blip_seconds * fps))
    self.recent = collections.deque(maxlen=max(self.lag, self.hold + self.still_for) + 1)
    self.poses = collections.deque(maxlen=self.lag + 1)  # where the face's corners were
    self.gated = False  # the head is moving: nothing starts
    self.ref_pose = None  # where they were in the reference (a running mean, as the reference)
    self.reference = None
    self.t = -1
    self.run = None  # first frame of the current run above k_off
    self.start = self.last = None  # the open movement
    self.peak, self.trigger = 0.0, -1  # its highest z, and the frame it crossed k_on
    self.rise = []  # (frame, z) of the open movement: it lasts at least until near its peak
    self.still = None  # first frame of the current still run inside the open movement
    self.origin = None  # the reference before a movement decided on a rest, while correctable
    self.moving = 0  # consecutive frames of change
    self.over = 0  # consecutive quiet frames above k_on
    self.decided = None  # (event index, frame, start, peak) of the last decision, while correctable
    self.events = 0

  def cut(self, same_face: bool = False) -> list[Event]:
    """The face track restarted (new template coordinates): close what is open, re-reference;
    unless it is the same face under a new template, start the baselines anew too (another
    face, or a face after a shot cut, has its own energies)."""
    out = self._close() if self.start is not None else []
    if not same_face:
      self.quiet.clear()
      self.quiet_step.clear()
      self.quiet_jump.clear()
    self.recent.clear()
    self.poses.clear()
    self.reference, self.run, self.decided, self.origin = None, None, None, None
    self.ref_pose, self.gated = None, False
    return out

  def update(self, t: int, aligned_HxW: np.ndarray, pose_Px2: np.ndarray | None = None,
             rebased: bool = False) -> list[Event]:
    """Feeds frame t; returns the decisions it brings.

    Args:
      t: frame index (increasing; gaps allowed).
      aligned_HxW: the face in template pixels, float32.
      pose_Px2: where the tracked corners of the face are in the frame, in template pixels
        (stabilise.Track.where_Nx2, NaN where lost); None: no head-motion gate.
      rebased: the crop box moved on this frame. The fit undoes it, but a resampling at a new
        phase differs in the last hundredth of a pixel: re-reference, as for a head move.
    """
    self.t = t
    self.z = math.nan  # this frame's energy in baseline deviations (NaN: none measured)
    if self.config.blur > 0:
      aligned_HxW = cv2.GaussianBlur(aligned_HxW, (0, 0), self.config.blur)
    self.recent.append(aligned_HxW)
    if pose_Px2 is not None:
      self.poses.append(pose_Px2)
    if self.reference is None:
      self.reference, self.ref_pose = aligned_HxW.astype(np.float32).copy(), pose_Px2
      return []
    if pose_Px2 is not None and self.ref_pose is not None:
      # In when the head is further than head_px from the reference's pose (tremor sways about
      # it); out once it moved less than half that within the lag.
      self.gated = head_motion(self.ref_pose, pose_Px2) > self.config.head_px or (
          self.gated and len(self.poses) > self.lag
          and head_motion(self.poses[-1 - self.lag], pose_Px2) > 0.5 * self.config.head_px)
    if rebased or self.gated:
      return self._head_moving(aligned_HxW)
    value = energy(aligned_HxW, self.reference, self.keep, self.pool)
    step = (energy(aligned_HxW, self.recent[-1 - self.hold], self.keep, self.pool)
            if len(self.recent) > self.hold else None)
    jump = (energy(aligned_HxW, self.recent[-2], self.keep, self.pool)
            if self.jumps and len(self.recent) > 1 else None)
    if len(self.quiet) < self.warmup:
      self._quiet(value, step, jump)
      self._follow()
      return []
    if jump is not None and len(self.quiet_jump) >= self.warmup and self._splice(
        _robust_z(jump, self.quiet_jump)):
      return self._jumped(aligned_HxW, pose_Px2)
    z = self.z = _robust_z(value, self.quiet)
    above = z > self.config.k_off
    if self.start is None:  # quiet, or just decided
      self.run = (self.run if self.run is not None else t) if above else None
      if self.decided is not None and t - self.decided[1] > self.correct:
        self.decided = self.origin = None
      self.over = self.over + 1 if z > self.config.k_on else 0
      # A movement, or the last one going on (it will be corrected; not for a blip).
      if self.over > (0 if self.decided is None else self.blip):
        self.start = self.decided[2] if self.decided is not None else self.run
        self.peak = max(z, self.decided[3]) if self.decided is not None else z
        self.rise = [(t, z)]
        self.last, self.trigger, self.still = t, t, None
        return []
      if not above:
        self._quiet(value, step, jump)
      if self.decided is None:  # frozen while a decision may be corrected
        self._follow()
      return []
    back_home = False
    if self.origin is not None:  # after a decision on a rest: back at the face before it?
      home = _robust_z(energy(aligned_HxW, self.origin, self.keep, self.pool), self.quiet)
      back_home, z = home <= z, min(z, home)
      above = z > self.config.k_off
    moving = step is None or not self.quiet_step or \
        _robust_z(step, self.quiet_step) > self.config.k_still
    self.moving = self.moving + 1 if moving else 0
    if self.moving > self.flicker:  # a single frame's blip does not end a still run
      self.still = None
    elif not moving and self.still is None:
      self.still = t
    if above:
      self.last, self.peak = t, max(self.peak, z)
    self.rise.append((t, z))
    if not above and t - self.last >= self.settle:  # back where it started
      if back_home:
        self.reference = self.origin
      self.origin = None
      return self._close()
    if self.still is not None and t - self.still + 1 >= self.still_for and t > self.trigger:
      return self._settled(aligned_HxW)
    if (t - self.start) / self.fps > self.config.max_seconds:  # a new resting state
      out = self._close()
      self.reference, self.decided = aligned_HxW.astype(np.float32).copy(), None
      self.ref_pose = self.poses[-1] if self.poses else self.ref_pose
      return out
    return []

  def _settled(self, aligned_HxW: np.ndarray) -> list[Event]:
    """The face has not changed for `hold` frames but is not back where it started: a real face
    may relax elsewhere, the head turn a little, or this is an apex held still. Decide it now
    (the face moving again soon corrects it), ending on the last frame that differs from the
    rest, and re-reference on the rest."""
    frames = list(self.recent)[:-1]
    rest = len(frames)
    for back in range(1, min(len(frames), self.t - self.start) + 1):
      z = _robust_z(energy(aligned_HxW, frames[-back], self.keep, self.pool), self.quiet_step)
      if z > self.config.k_still:
        rest = back - 1
        break
    near_peak = next(f for f, z in self.rise if z >= 0.8 * max(z for _, z in self.rise))
    out = self._close(offset=max(near_peak, self.t - rest - 1))
    if self.origin is None:
      self.origin = self.reference  # the face before the onset, while the decision is open
    self.reference = np.mean(frames[len(frames) - rest:] + [aligned_HxW], axis=0)
    self.ref_pose = self.poses[-1] if self.poses else self.ref_pose
    return out

  def _quiet(self, value: float, step: float | None, jump: float | None):
    """Quiet frames' energies: the baselines of the three tests."""
    self.quiet.append(value)
    if step is not None:
      self.quiet_step.append(step)
    if jump is not None:
      self.quiet_jump.append(jump)

  def _splice(self, jump_z: float) -> bool:
    """Whether the face changed from one frame to the next for at most `jumps` frames and is
    steady again on this one (a movement keeps changing for longer), and nothing but that change
    has started since."""
    if jump_z > self.config.k_jump:
      self.jump_run += 1
      self.jump_at = self.t if self.jump_run == 1 else self.jump_at
      return False
    run, self.jump_run = self.jump_run, 0
    return (0 < run <= self.jumps and jump_z <= self.config.k_still
            and (self.start is None or self.trigger >= self.jump_at))

  def _jumped(self, aligned_HxW: np.ndarray, pose_Px2: np.ndarray | None) -> list[Event]:
    """The face changed from one frame to the next, and a frame is at most `jump_seconds`: no
    muscle moves a face that fast, a splice or a stretch of dropped frames does. Nothing starts;
    this frame is the reference at once, so a movement right after the jump is measured from it."""
    self.start = self.last = self.run = None
    self.reference = aligned_HxW.astype(np.float32).copy()
    self.ref_pose = pose_Px2 if pose_Px2 is not None else self.ref_pose
    self.recent.clear()
    self.recent.append(aligned_HxW)
    self.decided = self.origin = None
    return []

  def finish(self) -> list[Event]:
    """The video ended: decide what is open."""
    return self._close() if self.start is not None else []

  def _head_moving(self, aligned_HxW: np.ndarray) -> list[Event]:
    """The head moves: resampling at a new pose would read as motion against any older reference,
    so nothing starts and the reference follows the current frames closely; a movement under way
    ends (one that set off within twice the lag is the head's own and is dropped)."""
    out = []
    if self.start is not None:
      out = self._close() if self.t - self.trigger > 2 * self.lag else []
      self.start = self.last = None
    self.reference += np.float32(0.5) * (aligned_HxW - self.reference)
    if self.poses:
      self.ref_pose = self.poses[-1] if self.ref_pose is None else \
          self.ref_pose + np.float32(0.5) * (self.poses[-1] - self.ref_pose)
    self.recent.clear()  # the slow reference takes in only frames after the move
    self.recent.append(aligned_HxW)
    self.run = self.decided = self.origin = None
    return out

  def _follow(self):
    """The reference takes in the frame `lag` back (quiet: it predates any onset not yet seen)."""
    if len(self.recent) > self.lag:
      self.reference += self.alpha * (self.recent[-1 - self.lag] - self.reference)
      if len(self.poses) > self.lag and self.ref_pose is not None:
        self.ref_pose = self.ref_pose + self.alpha * (self.poses[0] - self.ref_pose)

  def _close(self, offset: int | None = None) -> list[Event]:
    """Decides the open movement now, ending at `offset` (default: its last frame above k_off):
    an Event (a correction if the last decision is still open)."""
    start, last = self.start, (self.last if offset is None else max(offset, self.start))
    self.start = self.last = self.run = None
    if (last - start + 1) / self.fps < self.config.min_seconds:
      return []
    interval = _interval(start, last, self.t, self.peak, self.fps, self.config)
    event = Event(interval, self.t,
                  self.decided[0] if self.decided is not None else None)
    self.decided = (self.events, event.decided_at, start, self.peak)
    self.events += 1
    return [event]


def resolve(events: Iterable[Event]) -> list[Interval]:
  """The final intervals: each correction replaces the event it corrects."""
  final = {}
  for i, e in enumerate(events):
    final.pop(e.corrects, None)
    final[i] = e.interval
  return sorted(final.values(), key=lambda i: i.onset)


class FaceSpotter:
  """FaceTracker + Spotter, one grey frame at a time: the path of predict and stream."""

  def __init__(self, fps: float, config: SpotConfig = SpotConfig()):
    self.fps, self.config = fps, config
    self.tracker, self.spotter = FaceTracker(fps), None

  @property
  def box(self) -> tuple[int, int, int, int] | None:
    """The tracked face's crop box in the frame (for classification), or None."""
    return self.tracker.box

  def update(self, grey_HxW: np.ndarray) -> list[Event]:
    """Feeds the next uint8 grey frame; returns the decisions it brings (frame indices)."""
    self.z = math.nan  # the frame's energy, for a timeline (NaN: no face, or not measured)
    aligned, lost = self.tracker.update(grey_HxW)
    if lost:
      return self.spotter.cut(same_face=self.tracker.same_face)
    if aligned is None:
      return []
    if self.spotter is None:
      self.spotter = Spotter(self.fps, self.tracker.keep, self.config)
    self.spotter.keep = self.tracker.keep  # a new track may have found the eyes elsewhere
    decisions = self.spotter.update(self.tracker.t, aligned, self.tracker.pose,
                                    self.tracker.track.rebased)
    self.z = self.spotter.z
    return decisions

  def finish(self) -> list[Event]:
    """The video ended: decide what is open."""
    return [] if self.spotter is None else self.spotter.finish()


def spot_frames(frames: Iterable[np.ndarray], fps: float,
                config: SpotConfig = SpotConfig()) -> list[Interval]:
  """Offline spotting: the online core run over every frame, corrections applied.

  Args:
    frames: uint8 RGB (H, W, 3) or grey (H, W) frames, in order.
    fps: frames per second.
    config: thresholds.

  Returns:
    Intervals in frame indices, sorted by onset. Frames before the first face found are skipped.

  Raises:
    face.NoFaceError: when no frame shows a face.
  """
  spotter, events, count = FaceSpotter(fps, config), [], 0
  for frame in frames:
    grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    events += spotter.update(grey)
    count += 1
  if spotter.spotter is None:
    raise face.NoFaceError(f"no face found in any of its {count} frames")
  return resolve(events + spotter.finish())
