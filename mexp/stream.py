"""Live spotting + recognition on a video file or camera, one JSON line per event.

python -m mexp.stream --workdir DIR (--video FILE | --camera INDEX) [--show] [--fps F]

Frames are read as they come and fed to the spotting core (mexp.spotting.FaceSpotter: the face is
found once and tracked, so head motion and box changes never count; motion is measured against the
face just before the onset). A movement is decided as soon as it has been still for a few frames
and emitted at once ("stage": "spotted"); if the face moves again right after, a correction event
(`corrects`: the id it replaces) follows. Micro-expressions are then classified from the ring buffer
with the training preprocessing, in a second line with the same id ("stage": "classified");
macro-expressions are reported. Timing is by frame index and fps (25-200 fps alike).
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

CAMERA_FPS = 30.0  # assumed when a camera reports no rate


def _event(e: spotting.Event, n: int, fps: float, spot_ms: float) -> dict:
  """The JSON fields of a decision; latency: from the offset frame's arrival to the decision."""
  i = e.interval
  out = {"id": n, "stage": "spotted", "start_s": round(i.onset / fps, 3),
         "end_s": round(i.offset / fps, 3),
         "onset_frame": i.onset, "offset_frame": i.offset, "kind": i.kind,
         "decided_at_frame": e.decided_at,
         "latency_ms": round(1000 * (e.decided_at - i.offset) / fps + spot_ms, 1)}
  if e.corrects is not None:
    out["corrects"] = e.corrects
  return out


def run(predictor, capture: cv2.VideoCapture, fps: float, *, show: bool = False,
        timings: dict | None = None, config: spotting.SpotConfig = spotting.SpotConfig()):
  """Yields event dicts while reading `capture` to its end: one per decision ('stage': 'spotted'),
  at once, and for a micro-expression, when a predictor is given, the same with its emotion
  ('stage': 'classified').

  Args:
    predictor: predict.load's model, or None to spot without classifying.
    capture: an opened cv2.VideoCapture.
    fps: its frame rate.
    show: draw an overlay window.
    timings: seconds per stage ('decode', 'spot', 'classify') and frame counts are added to it.
    config: the spotting thresholds.
  """
  timings = timings if timings is not None else collections.defaultdict(float)
  ring = collections.deque(maxlen=int((config.max_micro_seconds + 0.5) * fps) + 2)  # (index, RGB)
  spotter = spotting.FaceSpotter(fps, config)
  index, count, last_event = -1, 0, ""
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
    decisions = spotter.update(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    spot_s = time.perf_counter() - tick
    timings["spot"] += spot_s
    timings["face_frames"] += spotter.box is not None
    for decision in decisions:
      event = _event(decision, count, fps, 1000 * spot_s)
      count += 1
      yield event  # at once; the emotion follows in a second line
      last_event = f"{event['kind']} {event['start_s']:.2f}s"
      if decision.interval.kind == "micro" and predictor is not None:
        tick = time.perf_counter()
        event = _classify(predictor, ring, decision.interval, spotter.box, event)
        event["classify_ms"] = round(1000 * (time.perf_counter() - tick), 1)
        timings["classify"] += time.perf_counter() - tick
        last_event += f" {event.get('emotion', '')}"
        yield event
    if show:
      view = bgr.copy()
      if spotter.box is not None:
        x, y, w, h = spotter.box
        cv2.rectangle(view, (x, y), (x + w, y + h), (0, 255, 0), 2)
      cv2.putText(view, last_event, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 255, 255), 2)
      cv2.imshow("mexp.stream", view)
      if cv2.waitKey(1) & 0xFF == ord("q"):
        break
  for decision in spotter.finish():  # the video ended inside a movement
    event = _event(decision, count, fps, 0.0)
    count += 1
    yield event
    if decision.interval.kind == "micro" and predictor is not None:
      tick = time.perf_counter()
      event = _classify(predictor, ring, decision.interval, spotter.box, event)
      event["classify_ms"] = round(1000 * (time.perf_counter() - tick), 1)
      yield event
  timings["frames"] += index + 1


def _classify(predictor, ring, interval: spotting.Interval, box, spotted: dict) -> dict:
  """The spotted event as a 'classified' line: with the emotion and its probability (or the
  error) of the interval's frames."""
  event = dict(spotted, stage="classified")
  inside = [(i, f) for i, f in ring if interval.onset <= i <= interval.offset]
  if not inside:
    event["error"] = "the interval's frames have left the buffer"
    return event
  numbers = np.array([i for i, _ in inside])
  frames = np.stack([f for _, f in inside])
  if box is not None:  # the tracked box may reach past the frame's edge
    x, y, w, h = box
    x0, y0 = max(0, x), max(0, y)
    box = (x0, y0, min(frames.shape[2], x + w) - x0, min(frames.shape[1], y + h) - y0)
  try:
    probs = predict.classify(predictor, frames, numbers, int(numbers[0]), int(numbers[-1]), box=box)
    best = int(np.argmax(probs))
    event.update(emotion=predictor.classes[best], probability=round(float(probs[best]), 4))
  except predict.PredictError as e:
    event["error"] = str(e)
  return event


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
