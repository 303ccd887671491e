"""Classify the micro-expressions in a video or frame folder with a trained workdir's model.

python -m mexp.predict --workdir DIR INPUT [--onset N --offset N] [--fps F] [--json]

The model is workdir/final/checkpoints (fitted on all subjects), restored through Orbax into the
structure that workdir/config.json describes. Frames go through the training preprocessing: face
crop from the onset frame, resize, resampling to T frames, saliency. Without --onset/--offset the
spotting core (mexp.spotting, the one stream uses) finds the intervals, offline.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import sys
from pathlib import Path
from typing import Iterator

import numpy as np

from mexp.io import frames as frames_io
from mexp.predictor import Predictor, PredictError, classify_face, load  # noqa: F401 (API)

WHOLE_CLIP_SECONDS = 1.0  # shorter inputs are pre-segmented clips: classified whole, not spotted
FOLDER_FPS = 200.0  # a frame folder says nothing of its rate: CASME II's and SAMM's


def open_input(path: str | Path, fps: float | None) -> tuple[Iterator, float, str]:
  """(frames as (number, uint8 RGB) read one at a time, fps, where the fps came from) of a video
  file or frame folder, checked before any frame is decoded. A video whose own rate is unknown or
  implausible needs --fps."""
  if fps is not None and (error := frames_io.fps_error(fps)):
    raise PredictError(error)
  path = Path(path)
  try:
    frames, file_fps = frames_io.open_frames(path)
  except frames_io.FrameReadError as e:
    raise PredictError(str(e)) from None
  if fps is not None:
    return frames, fps, "--fps"
  if path.is_dir():
    return frames, FOLDER_FPS, "assumed for a frame folder (CASME II's rate); set --fps"
  if file_fps is None:
    raise PredictError(f"{path}: the file gives no usable frame rate (none, zero or implausible); "
                       "pass --fps")
  return frames, file_fps, "the file's"


def _read(frames: Iterator, path) -> Iterator[tuple[int, np.ndarray]]:
  """The frames, with a damaged one's error as a PredictError."""
  try:
    yield from frames
  except frames_io.FrameReadError as e:
    raise PredictError(str(e)) from None


def _named(path, fn, *args):
  """fn(*args), with the input's path in front of a face error (which knows only frame numbers)."""
  try:
    return fn(*args)
  except PredictError as e:
    raise PredictError(f"{path}: {e}" if str(e).startswith("no face") else str(e)) from None


def predict(workdir, path, *, onset=None, offset=None, fps=None,
            predictor: Predictor | None = None, spot=None, trace: list | None = None) -> dict:
  """Everything the CLI prints, as a dict. The input is read one frame at a time: a long video is
  spotted as `stream` spots it (mexp.stream.run, corrections applied), keeping only a second of
  downscaled frames for classification, so memory does not grow with its length.

  Without onset/offset, an input of at most WHOLE_CLIP_SECONDS (a pre-segmented clip) is
  classified whole; a longer one is spotted, and where nothing is spotted no emotion is given.

  Args:
    workdir: the trained workdir (unused when `predictor` is given).
    path: a video file or a folder of frames.
    onset, offset: the interval in frame numbers, or None to spot.
    fps: overrides the input's frame rate.
    predictor: a model already loaded with `load` (classify many inputs, restore once).
    spot: the spotter's mexp.spotting.SpotConfig (None: its defaults).
    trace: when given, each spotted frame's energy (baseline deviations, NaN where none) is
      appended to it, in frame order.
  """
  if (onset is None) != (offset is None):
    raise PredictError("give both --onset and --offset, or neither (to spot)")
  if onset is not None and onset > offset:
    raise PredictError(f"--onset {onset} is after --offset {offset}")
  frames, fps, fps_source = open_input(path, fps)  # the input is checked before the model loads
  predictor = predictor or load(workdir)
  frames = _read(frames, path)
  result = {"input": str(path), "task": predictor.config.data.task,
            "classes": list(predictor.classes), "fps": fps, "fps_source": fps_source}
  if onset is not None:
    kept, first, last = [], None, None
    for number, frame in frames:
      first, last = first if first is not None else number, number
      if onset <= number <= offset:
        kept.append((number, frame))
    if not kept or onset < first or offset > last:
      raise PredictError(f"--onset {onset} --offset {offset} must lie within the frames "
                         f"{first}..{last} of {path}")
    return dict(result, events=[_classified(predictor, path, kept, onset, offset, "given", first,
                                            fps)], frames=last - first + 1)
  from mexp import stream
  # Is it a clip of at most a second? Its frames are kept downscaled (as stream buffers them) to
  # classify it whole; a longer input is read again from its start and spotted.
  head = [(n, stream.shrink(f)[0])
          for n, f in itertools.islice(frames, int(WHOLE_CLIP_SECONDS * fps) + 1)]
  if len(head) <= WHOLE_CLIP_SECONDS * fps:
    missing = frames_io.missing_runs([n for n, _ in head])
    return dict(result, frames=len(head), missing_frames=[list(r) for r in missing],
                events=[_classified(
                    predictor, path, head, head[0][0], head[-1][0],
                    f"whole input: at most {WHOLE_CLIP_SECONDS:g} s, taken as one clip",
                    head[0][0], fps)])
  del head
  frames = _read(open_input(path, fps)[0], path)
  numbers, timings, spotted, classified = [], collections.defaultdict(float), {}, {}

  def rgb():
    for number, frame in frames:
      numbers.append(number)
      yield frame
  for event in stream.run(predictor, rgb(), fps, timings=timings, trace=trace,
                          **({} if spot is None else {"config": spot})):
    (spotted if event["stage"] == "spotted" else classified)[event["id"]] = event
  if not timings["face_frames"]:
    raise PredictError(f"{path}: no face found in any of its {len(numbers)} frames")
  events = []
  for i, e in stream.final(sorted(spotted.values(), key=lambda e: e["id"])).items():
    on, off = numbers[e["onset_frame"]], numbers[e["offset_frame"]]
    event = {"onset_frame": on, "offset_frame": off, "onset_s": round((on - numbers[0]) / fps, 3),
             "offset_s": round((off - numbers[0]) / fps, 3), "source": e["kind"]}
    c = classified.get(i, {})
    if "error" in c:
      raise PredictError(f"{path}: frames {on}..{off}: {c['error']}")
    if "probabilities" in c:
      event.update(emotion=c["emotion"], probabilities=c["probabilities"])
    events.append(event)
  return dict(result, events=sorted(events, key=lambda e: e["onset_frame"]), frames=len(numbers),
              first_frame=numbers[0],
              face_frames=int(timings["face_frames"]),
              head_moving_frames=int(timings["moving_frames"]),
              no_face=[[numbers[a], numbers[b]] for a, b in timings["no_face"]],
              missing_frames=[list(r) for r in frames_io.missing_runs(numbers)])


def _classified(predictor: Predictor, path, kept: list, on: int, off: int, source: str,
                first: int, fps: float) -> dict:
  """One event of frames (number, RGB) classified whole."""
  numbers = np.array([n for n, _ in kept])
  probs, found = _named(path, classify_face, predictor, np.stack([f for _, f in kept]), numbers,
                        on, off)
  event = {"onset_frame": on, "offset_frame": off, "onset_s": round((on - first) / fps, 3),
           "offset_s": round((off - first) / fps, 3), "source": source,
           "emotion": predictor.classes[int(np.argmax(probs))],
           "probabilities": {c: round(float(p), 4) for c, p in zip(predictor.classes, probs)}}
  if found != on:
    event["face_from_frame"] = found  # the frames before it show no face (a fade-in)
  return event


def _table(result: dict) -> str:
  lines = [f"{result['input']}: task {result['task']}, {result['fps']:g} fps "
           f"({result['fps_source']}), {result['frames']} frames, "
           f"{len(result['events'])} interval(s)"]
  if "face_frames" in result:
    lines[0] += (f"; a face tracked in {result['face_frames']} frames, the head moving in "
                 f"{result['head_moving_frames']} of them (nothing is spotted while it moves)")
  for a, b in result.get("missing_frames", []):
    lines.append(f"  frames {a}..{b} missing: the frames on either side were read as neighbours")
  for a, b in result.get("no_face", []):
    lines.append(f"  no face in frames {a}..{b}: nothing could be spotted there")
  if not result["events"]:
    lines.append("  the spotter found no movement: no emotion to give (classify a pre-segmented "
                 "clip of at most 1 s, or give --onset and --offset)")
  for e in result["events"]:
    head = (f"  frames {e['onset_frame']}..{e['offset_frame']} ({e['onset_s']:.3f}-"
            f"{e['offset_s']:.3f} s, {e['source']})")
    if "face_from_frame" in e:
      head += f" [no face before frame {e['face_from_frame']}: classified from there]"
    if "emotion" in e:
      probs = "  ".join(f"{c} {p:.2f}" for c, p in e["probabilities"].items())
      lines.append(f"{head}: {e['emotion']}   [{probs}]")
    else:
      lines.append(f"{head}: macro-expression, not classified")
  return "\n".join(lines)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m mexp.predict", description=__doc__.split("\n")[0])
  parser.add_argument("input", help="a video file or a folder of frames")
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--onset", type=int, default=None, help="onset frame number")
  parser.add_argument("--offset", type=int, default=None, help="offset frame number")
  parser.add_argument("--fps", type=float, default=None,
                      help=f"frame rate (default: the video's; {FOLDER_FPS:g} for frame folders)")
  parser.add_argument("--json", action="store_true")
  args = parser.parse_args(argv)
  try:
    result = predict(args.workdir, args.input, onset=args.onset, offset=args.offset, fps=args.fps)
  except PredictError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(json.dumps(result, indent=1) if args.json else _table(result))
  return 0


if __name__ == "__main__":
  sys.exit(main())
