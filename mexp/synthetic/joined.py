"""Long videos joined from recorded clips: another recipe for spotting videos than long_videos'.

Each micro-expression is a short clip as a CASME II-layout set holds it: the subject's face as on
that day (features shifted by up to `jitter` px), at the clip's own head pose, played as recorded,
with head tremor, drift and flicker inside it (recording.py's windows) and a blink in some. Clips
are joined by `hold_seconds` of the previous clip's last frame, held with fresh sensor noise, and
a smooth 0.6 s head move to the next clip's pose; every frame is JPEG-compressed. Nothing is
planned as long_videos plans it, so a spotter tuned there is tested here on other assumptions:
the face after a clip need not be the face before it.
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
from mexp.synthetic.faces import H, W, au_field, jitter_face, random_face, render
from mexp.synthetic.long_videos import _pose_maps

MOVE_SECONDS = 0.6


def render_joined(emit, rng: np.random.Generator, micro: int, fps: float = 200.0, *,
                  hold_seconds: float = 1.5, jitter: float = 1.0,
                  seconds: tuple[float, float] = (0.095, 0.3), quality: int = 80) -> list[dict]:
  """Renders one subject's video frame by frame into `emit`; returns its events as
  ground_truth.json lists them.

  Args:
    emit: called with each uint8 RGB frame, in order.
    rng: the video's generator.
    micro: clips (one micro-expression each).
    fps: frame rate.
    hold_seconds: held neutral face between clips (the move to the next pose is inside it).
    jitter: px the face's features differ between clips (0: one face throughout).
    seconds: range of the clips' lengths.
    quality: JPEG quality of every frame.
  """
  face = random_face(rng)
  events, count = [], [0]

  def out(frame):
    count[0] += 1
    emit(frame)

  hold, move = int(hold_seconds * fps), int(MOVE_SECONDS * fps)
  yy, xx = np.mgrid[:H, :W].astype(np.float32)
  pose = np.float64([0, 0, 0, 1])

  def still(image, pose_now, count, gain=1.0):
    maps = _pose_maps(face, pose_now, xx, yy)
    for _ in range(count):
      out(recording.compress(compose_frame(image, image, 0.0, *maps, gain, 1.5, rng),
                                    quality))

  previous = None
  for k in range(micro):
    # That day's face: its features (not its skin, whose texture is drawn in place) shifted.
    today = dataclasses.replace(jitter_face(face, rng, jitter), cx=face.cx, cy=face.cy)
    base, closed = render(today), render(today, eyes_closed=True)
    target = np.float64([rng.uniform(-4, 4), rng.uniform(-3, 3), rng.uniform(-1.5, 1.5),
                         rng.uniform(0.985, 1.015)])
    if previous is None:
      still(base, target, int(fps))  # the lead: the first clip's face, still
    else:
      still(previous, pose, hold - move)
      w = intensity_profile(2 * move, move)[:move]
      for i in range(move):
        still(previous, pose + w[i] * (target - pose), 1)
    pose = target
    n = int(round(rng.uniform(*seconds) * fps))
    apex = int(n * rng.uniform(0.35, 0.65))
    emotion = str(rng.choice([e for e in EMOTIONS if e != "others"]))
    aus = EMOTION_AUS[emotion][rng.integers(len(EMOTION_AUS[emotion]))]
    field = au_field(today, aus, rng.uniform(1.0, 3.0))
    margin = int(rng.integers(0, 7)), int(rng.integers(0, 7))  # clip frames around the movement
    length = margin[0] + n + margin[1]
    profile = np.zeros(length, np.float32)
    profile[margin[0]:margin[0] + n] = intensity_profile(n, apex)
    window = recording.random_window(rng, 0, length - 1)
    plan = recording.Plan(windows=(window,))
    shake = recording.head_offsets(plan, length, fps)
    gain = recording.gains(plan, length, fps)
    blink = (blink_profile(length, int(rng.integers(-10, length)), max(2, int(0.04 * fps)))
             if rng.random() < 0.3 else np.zeros(length))
    onset = count[0] + margin[0]
    events.append({"onset": onset, "offset": onset + n - 1, "apex": onset + apex, "kind": "micro",
                   "emotion": emotion, "aus": list(aus)})
    for i in range(length):
      mx, my = _pose_maps(today, pose + np.float64([*shake[i], 0, 0]), xx, yy)
      out(recording.compress(compose_frame(
          base, closed, float(blink[i]), mx - profile[i] * field[..., 0],
          my - profile[i] * field[..., 1], gain[i], 1.5, rng), quality))
    pose = pose + np.float64([*shake[-1], 0, 0])
    previous = base
  still(previous, pose, hold)
  return events


def write_joined_videos(out_dir: str | os.PathLike, *, videos: int = 2, seed: int = 0,
                        micro: int = 6, fps: float = 200.0, jitter: float = 1.0) -> Path:
  """Writes videoNN.avi (MJPG) and ground_truth.json (the synthetic layout) atomically.

  Args:
    out_dir: a new or empty folder.
    videos: how many, each a new subject drawn from `seed`.
    seed: the root seed.
    micro: clips per video.
    fps: frame rate.
    jitter: px the face's features differ between a subject's clips.

  Returns:
    out_dir.
  """
  rng = np.random.default_rng([seed, 7])
  truth = {"fps": fps, "seed": seed, "recipe": "joined clips", "jitter": jitter, "videos": []}
  lengths = []
  with atomic_dir(out_dir) as tmp:
    for v in range(videos):
      name, count = f"video{v + 1:02d}.avi", [0]
      writer = cv2.VideoWriter(str(tmp / name), cv2.VideoWriter_fourcc(*"MJPG"), fps, (W, H))

      def emit(frame):
        count[0] += 1
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
      events = render_joined(emit, rng, micro, fps, jitter=jitter,
                             quality=int(rng.integers(70, 91)))
      writer.release()
      lengths.append(count[0])
      truth["videos"].append({"file": name, "frames": count[0], "events": events})
    truth["frames"] = max(lengths)
    (tmp / "ground_truth.json").write_text(json.dumps(truth, indent=1))
  return Path(out_dir)
