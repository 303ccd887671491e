"""Live spotting + recognition on a video file or camera, one JSON line per event.

python -m mexp.stream --workdir DIR (--video FILE | --camera INDEX) [--show] [--fps F]

Frames are read as they come and fed to the spotting core (mexp.spotting.FaceSpotter: the face is
found once and tracked, so head motion and box changes never count; motion is measured against the
face just before the onset). A movement is decided as soon as it has been still for a few frames
and emitted at once ("stage": "spotted"); if the face moves again right after, a correction event
(`corrects`: the id it replaces) follows. Micro-expressions are then classified from the ring buffer
(frames downscaled to a long side of at most RING_SIDE) with the training preprocessing, on a
worker thread, so frames never queue behind a model; a second line with the same id follows
("stage": "classified"). Macro-expressions are reported. Timing is by frame index and fps (25-200
fps alike). Where the face was found, and at the end how many frames were read and tracked and
how many events decided, go to stderr.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import sys
import time
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from mexp import predictor as predictor_lib
from mexp import spotting
from mexp.io import frames as frames_io

CAMERA_FPS = 30.0  # assumed when a camera reports no rate
RING_SIDE = 1024  # buffered frames are kept with their long side at most this (memory)


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


def final(spotted: list[dict]) -> dict:
  """id -> 'spotted' event, each correction in place of the event it corrects (the JSON lines'
  counterpart of spotting.resolve)."""
  out = {}
  for e in spotted:
    out.pop(e.get("corrects"), None)
    out[e["id"]] = e
  return out


def capture_frames(capture: cv2.VideoCapture) -> Iterator[np.ndarray]:
  """A cv2.VideoCapture's frames as uint8 RGB, as they come."""
  while True:
    ok, bgr = capture.read()
    if not ok:
      return
    yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def shrink(frame_HxWx3: np.ndarray) -> tuple[np.ndarray, float]:
  """The frame with its long side at most RING_SIDE (the buffer's copy), and the scale used."""
  scale = min(1.0, RING_SIDE / max(frame_HxWx3.shape[:2]))
  if scale == 1.0:
    return frame_HxWx3, 1.0
  size = (int(round(frame_HxWx3.shape[1] * scale)), int(round(frame_HxWx3.shape[0] * scale)))
  return cv2.resize(frame_HxWx3, size, interpolation=cv2.INTER_AREA), scale


def run(predictor, frames: Iterable[np.ndarray], fps: float, *, show: bool = False,
        timings: dict | None = None, config: spotting.SpotConfig = spotting.SpotConfig(),
        log=None, trace: list | None = None):
  """Yields event dicts while reading `frames` to their end: one per decision ('stage':
  'spotted'), at once, and for a micro-expression, when a predictor is given, the same with its
  emotion ('stage': 'classified') as soon as a worker thread has classified it, so that frames
  never wait for a classification.

  Args:
    predictor: predictor_lib.load's model, or None to spot without classifying.
    frames: uint8 RGB frames in order (capture_frames(capture) for a camera or video).
    fps: their frame rate.
    show: draw an overlay window.
    timings: seconds per stage ('decode', 'spot', 'classify'), frame counts ('frames',
      'face_frames', 'moving_frames': the head moved, so nothing could start), 'events', the
      classification queue's longest length ('queue_max') and 'no_face', the (first, last) frame
      indices of each stretch without a face after one was found, are added to it.
    config: the spotting thresholds.
    trace: when given, each frame's energy (FaceSpotter.z) is appended to it.
    log: called with a line for the user (where the face was found), or None.
  """
  timings = timings if timings is not None else collections.defaultdict(float)
  # Frames back to a micro-expression's onset when it is decided (and corrected), downscaled,
  # grey for a grey model: the buffer is what memory grows with (1 s at 200 fps, 2040x1088: RGB
  # at full size 1.3 GB, downscaled 370 MB, grey 125 MB).
  ring = collections.deque(maxlen=int((config.max_micro_seconds + config.hold_seconds
                                       + config.correct_seconds + 0.3) * fps) + 2)
  spotter = spotting.FaceSpotter(fps, config)
  pool = concurrent.futures.ThreadPoolExecutor(1) if predictor is not None else None
  pending = collections.deque()  # (future) of classified events, in decision order
  index, count, last_event, found, frames, scale = -1, 0, "", False, iter(frames), 1.0
  lost, spans = None, timings.setdefault("no_face", [])  # face-less stretches after the first face
  try:
    while True:
      tick = time.perf_counter()
      frame = next(frames, None)
      if frame is None:
        break
      index += 1
      grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
      if pool is not None:  # what a classification needs: grey when the model is grey
        small, scale = shrink(grey if predictor.spec.channels == 1 else frame)
        ring.append((index, small))
      timings["decode"] += time.perf_counter() - tick
      tick = time.perf_counter()
      decisions = spotter.update(grey)
      spot_s = time.perf_counter() - tick
      if trace is not None:  # each frame's energy, for a timeline
        trace.append(spotter.z)
      timings["spot"] += spot_s
      timings["face_frames"] += spotter.box is not None
      timings["moving_frames"] += spotter.spotter is not None and spotter.spotter.gated
      if spotter.box is not None and not found and log is not None:
        log(f"face found at frame {index} ({index / fps:.2f} s), tracked from there")
      if found and (spotter.box is None) != (lost is not None):  # a face-less stretch begins/ends
        lost = _no_face(lost, index, fps, spans, log) if lost is not None else index
      found = found or spotter.box is not None
      for decision in decisions:
        event = _event(decision, count, fps, 1000 * spot_s)
        count += 1
        yield event  # at once; the emotion follows in a second line
        last_event = f"{event['kind']} {event['start_s']:.2f}s"
        if decision.interval.kind == "micro" and pool is not None:
          pending.append(_submit(pool, predictor, ring, decision, spotter.box, scale, event,
                                 timings))
          timings["queue_max"] = max(timings["queue_max"], len(pending))
      while pending and pending[0].done():
        yield pending.popleft().result()
      if show:
        _show(frame, spotter.box, last_event)
        if cv2.waitKey(1) & 0xFF == ord("q"):
          break
    if lost is not None:
      _no_face(lost, index + 1, fps, spans, log)
    for decision in spotter.finish():  # the input ended inside a movement
      event = _event(decision, count, fps, 0.0)
      count += 1
      yield event
      if decision.interval.kind == "micro" and pool is not None:
        pending.append(_submit(pool, predictor, ring, decision, spotter.box, scale, event, timings))
    while pending:
      yield pending.popleft().result()
  finally:
    if pool is not None:
      pool.shutdown(wait=True, cancel_futures=True)
  timings["frames"] += index + 1
  timings["events"] += count


def _no_face(start: int, stop: int, fps: float, spans: list, log) -> None:
  """Records frames start..stop-1 as a stretch without a face, and says so."""
  spans.append((start, stop - 1))
  if log is not None:
    log(f"no face in frames {start}-{stop - 1} ({start / fps:.2f}-{(stop - 1) / fps:.2f} s, "
        f"{(stop - start) / fps:.2f} s): nothing could be spotted there")


def _submit(pool, predictor, ring, decision: spotting.Event, box, scale: float, event: dict,
            timings: dict) -> concurrent.futures.Future:
  """Queues the classification of a decided micro-expression from the buffered frames."""
  inside = [(i, f) for i, f in ring if decision.interval.onset <= i <= decision.interval.offset]
  box = None if box is None else tuple(int(round(v * scale)) for v in box)
  return pool.submit(_timed_classify, predictor, inside, box, event, timings)


def _show(frame_HxWx3: np.ndarray, box, text: str) -> None:
  view = cv2.cvtColor(frame_HxWx3, cv2.COLOR_RGB2BGR)
  if box is not None:
    x, y, w, h = box
    cv2.rectangle(view, (x, y), (x + w, y + h), (0, 255, 0), 2)
  cv2.putText(view, text, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 255, 255), 2)
  cv2.imshow("mexp.stream", view)


def _timed_classify(predictor, inside, box, spotted: dict, timings: dict) -> dict:
  """_classify on the worker thread, with its own time in 'classify_ms'."""
  tick = time.perf_counter()
  event = _classify(predictor, inside, box, spotted)
  event["classify_ms"] = round(1000 * (time.perf_counter() - tick), 1)
  timings["classify"] += time.perf_counter() - tick
  return event


def _classify(predictor, inside, box, spotted: dict) -> dict:
  """The spotted event as a 'classified' line: with the emotion and its probability (or the
  error) of the interval's frames (index, buffered RGB frame)."""
  event = dict(spotted, stage="classified")
  if not inside:
    event["error"] = "the interval's frames have left the buffer"
    return event
  numbers = np.array([i for i, _ in inside])
  frames = np.stack([f for _, f in inside])
  if box is not None:  # the tracked box may reach past the frame's edge
    x, y, w, h = box
    x0, y0 = max(0, x), max(0, y)
    box = (x0, y0, min(frames.shape[2], x + w) - x0, min(frames.shape[1], y + h) - y0)
  if frames.ndim == 3:  # buffered grey (a grey model): the preprocessing takes RGB
    if box is not None:  # the face's box only, before the copy to three channels
      x0, y0, w, h = box
      frames, box = frames[:, y0:y0 + h, x0:x0 + w], (0, 0, w, h)
    frames = np.repeat(frames[..., None], 3, axis=-1)
  try:
    probs = predictor_lib.classify(predictor, frames, numbers, int(numbers[0]), int(numbers[-1]), box=box)
    best = int(np.argmax(probs))
    event.update(emotion=predictor.classes[best], probability=round(float(probs[best]), 4),
                 probabilities={c: round(float(q), 4) for c, q in zip(predictor.classes, probs)})
  except predictor_lib.PredictError as e:
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
  if args.fps is not None and (error := frames_io.fps_error(args.fps)):
    print(f"error: {error}", file=sys.stderr)
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
  if fps is None and args.video is not None:
    fps = frames_io.video_fps(args.video, capture.get(cv2.CAP_PROP_FPS))
    if fps is None:
      capture.release()
      print(f"error: {name}: the file gives no usable frame rate (none, zero or implausible); "
            "pass --fps", file=sys.stderr)
      return 2
  elif fps is None:
    fps = frames_io.video_fps(name, capture.get(cv2.CAP_PROP_FPS))
    if fps is None:
      fps = CAMERA_FPS
      print(f"warning: {name} reports no frame rate; assuming {CAMERA_FPS:g} fps (set --fps)",
            file=sys.stderr)
  try:  # the input is usable: now the model (seconds to restore)
    predictor = predictor_lib.load(args.workdir)
  except predictor_lib.PredictError as e:
    capture.release()
    print(f"error: {e}", file=sys.stderr)
    return 2
  timings = collections.defaultdict(float)
  info = lambda line: print(f"info: {name}: {line}", file=sys.stderr, flush=True)  # noqa: E731
  try:
    for event in run(predictor, capture_frames(capture), fps, show=args.show, timings=timings,
                     log=info):
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
  info(f"{int(timings['frames'])} frames read, {int(timings['face_frames'])} with a tracked "
       f"face, the head moving in {int(timings['moving_frames'])} of them (nothing is spotted "
       f"while it moves); {int(timings['events'])} event(s) decided")
  return 0


if __name__ == "__main__":
  sys.exit(main())
