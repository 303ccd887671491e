"""Live spotting + recognition on a video file or camera, one JSON line per event.

python -m mexp.stream --workdir DIR (--video FILE | --camera INDEX) [--show] [--fps F]

Frames are read as they come; the face is re-detected every second (and whenever it was not
found). Motion energy against the frame 0.1 s earlier (mexp.spotting.pair_energy) is compared
with a rolling baseline of the last 3 s of quiet frames; a movement that ends within 0.5 s is a
micro-expression and is classified from the ring buffer with the training preprocessing; longer
ones are reported as macro-expressions. Timing is by frame index and fps, so 25-200 fps work alike.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from mexp import predict, spotting
from mexp.io import frames as frames_io
from mexp.preprocess import face

CAMERA_FPS = 30.0  # assumed when a camera reports no rate


class OnlineSpotter:
  """spotting.spot, streaming: a rolling baseline of quiet frames instead of the whole video."""

  def __init__(self, fps: float, *, k: float = 4.0, baseline_seconds: float = 3.0,
               warmup_seconds: float = 0.5, max_seconds: float = 0.5, min_seconds: float = 0.04,
               merge_seconds: float = 0.3):
    self.fps, self.k, self.max_seconds, self.min_seconds = fps, k, max_seconds, min_seconds
    self.merge = max(1, int(round(merge_seconds * fps)))
    self.warmup = int(warmup_seconds * fps)
    self.quiet = collections.deque(maxlen=max(self.warmup, int(baseline_seconds * fps)))
    self.start = self.last = None

  def update(self, t: int, energy: float):
    """Feeds frame t's energy; returns a closed spotting.Interval, or None."""
    if len(self.quiet) < self.warmup:
      self.quiet.append(energy)
      return None
    base = np.asarray(self.quiet)
    median = float(np.median(base))
    mad = float(np.median(np.abs(base - median))) * 1.4826 + 1e-6
    z = (energy - median) / mad
    if z > self.k:
      self.start = t if self.start is None else self.start
      self.last = t
      return None
    if self.start is None:
      self.quiet.append(energy)
      return None
    if t - self.last <= self.merge:
      return None
    start, last = self.start, self.last
    self.start = self.last = None
    if (last - start + 1) / self.fps < self.min_seconds:
      return None
    pad = int(round(0.02 * self.fps))
    onset, offset = max(0, start - pad), last + pad
    kind = "micro" if (offset - onset + 1) / self.fps <= self.max_seconds else "macro"
    return spotting.Interval(onset, offset, kind, float(z))


def run(predictor, capture: cv2.VideoCapture, fps: float, *, show: bool = False,
        timings: dict | None = None):
  """Yields one event dict per spotted interval while reading `capture` to its end."""
  timings = timings if timings is not None else collections.defaultdict(float)
  lag = max(1, int(round(0.1 * fps)))
  ring = collections.deque(maxlen=int(1.5 * fps) + lag)  # (index, RGB frame)
  crops = collections.deque(maxlen=lag + 1)
  size = spotting.CROP
  keep = spotting.energy_mask(size)
  window = cv2.createHanningWindow((size, size), cv2.CV_32F)
  spotter = OnlineSpotter(fps)
  box, index, last_event = None, -1, ""
  while True:
    tick = time.perf_counter()
    ok, bgr = capture.read()
    if not ok:
      break
    index += 1
    frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    ring.append((index, frame))
    timings["decode"] += time.perf_counter() - tick
    tick = time.perf_counter()
    if box is None or index % max(1, int(fps)) == 0:
      try:
        box = face.detect_face_box(frame)
      except face.NoFaceError:
        pass  # keep the last box; none yet: wait for a face
    timings["face"] += time.perf_counter() - tick
    if box is None:
      continue
    timings["face_frames"] += 1
    tick = time.perf_counter()
    x, y, w, h = box
    grey = cv2.cvtColor(frame[y:y + h, x:x + w], cv2.COLOR_RGB2GRAY)
    crops.append(spotting.denoise(cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA)))
    interval = None
    if len(crops) > lag:
      interval = spotter.update(index, spotting.pair_energy(crops[0], crops[-1], keep, window))
    timings["spot"] += time.perf_counter() - tick
    if interval is not None:
      tick = time.perf_counter()
      event = {"start_s": round(interval.onset / fps, 3), "end_s": round(interval.offset / fps, 3),
               "onset_frame": interval.onset, "offset_frame": interval.offset,
               "kind": interval.kind, "decided_at_frame": index}
      if interval.kind == "micro":
        inside = [(i, f) for i, f in ring if interval.onset <= i <= interval.offset]
        numbers = np.array([i for i, _ in inside])
        frames = np.stack([f for _, f in inside])
        try:
          probs = predict.classify(predictor, frames, numbers, int(numbers[0]), int(numbers[-1]),
                                   box=box)
          best = int(np.argmax(probs))
          event.update(emotion=predictor.classes[best], probability=round(float(probs[best]), 4))
        except predict.PredictError as e:
          event["error"] = str(e)
      timings["classify"] += time.perf_counter() - tick
      # From the offset frame's arrival: the wait for the movement to settle, plus compute.
      event["latency_ms"] = round(1000 * (index - interval.offset) / fps
                                  + 1000 * (time.perf_counter() - tick), 1)
      event["compute_ms"] = round(1000 * (time.perf_counter() - tick), 1)
      last_event = f"{event['kind']} {event.get('emotion', '')} {event['start_s']:.2f}s"
      yield event
    if show:
      view = bgr.copy()
      cv2.rectangle(view, (x, y), (x + w, y + h), (0, 255, 0), 2)
      cv2.putText(view, last_event, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 255, 255), 2)
      cv2.imshow("mexp.stream", view)
      if cv2.waitKey(1) & 0xFF == ord("q"):
        break
  timings["frames"] = index + 1


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m mexp.stream", description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", required=True)
  source = parser.add_mutually_exclusive_group(required=True)
  source.add_argument("--video")
  source.add_argument("--camera", type=int)
  parser.add_argument("--fps", type=float, default=None, help="override the source's frame rate")
  parser.add_argument("--show", action="store_true", help="draw an overlay window")
  args = parser.parse_args(argv)
  try:
    predictor = predict.load(args.workdir)
  except predict.PredictError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  name = args.video if args.video is not None else f"camera {args.camera}"
  if args.video is not None and not Path(args.video).is_file():
    print(f"error: {args.video}: no such video file", file=sys.stderr)
    return 2
  capture = cv2.VideoCapture(args.video if args.video is not None else args.camera)
  if not capture.isOpened():
    print(f"error: {name}: not a readable video", file=sys.stderr)
    return 2
  fps = args.fps
  if not fps and args.video is not None:
    fps = frames_io.video_fps(args.video, capture.get(cv2.CAP_PROP_FPS))
    if fps is None:
      capture.release()
      print(f"error: {name}: the file gives no usable frame rate (none, zero or implausible); "
            "pass --fps", file=sys.stderr)
      return 2
  elif not fps:
    fps = frames_io.video_fps(name, capture.get(cv2.CAP_PROP_FPS))
    if fps is None:
      fps = CAMERA_FPS
      print(f"warning: {name} reports no frame rate; assuming {CAMERA_FPS:g} fps (set --fps)",
            file=sys.stderr)
  timings = collections.defaultdict(float)
  try:
    for event in run(predictor, capture, fps, show=args.show, timings=timings):
      print(json.dumps(event), flush=True)
  finally:
    capture.release()
  if timings["frames"] and not timings["face_frames"]:
    print(f"error: {name}: no face found in any of its {int(timings['frames'])} frames",
          file=sys.stderr)
    return 2
  if not timings["frames"]:
    print(f"error: {name}: no decodable frames (empty or truncated video)", file=sys.stderr)
    return 2
  return 0


if __name__ == "__main__":
  sys.exit(main())
