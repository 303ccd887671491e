"""Live spotting: MEGC scores, decision latency, speed and memory.  Run: python benchmarks/stream.py

Writes long synthetic videos (seed 1: subjects that the thresholds, set on seed 100 by
experiments/spotting_fit.py, never saw), streams each through mexp.stream as fast as it can be
read, and prints:
  - spotting F1 under MEGC (IoU >= 0.5 with a ground truth of the same kind, maximum matching,
    counts pooled);
  - decision latency after the true offset (video time, plus the compute of the deciding frame):
    of the first decision on each micro TP and of its final one (after corrections), as mean,
    median, 90th percentile and max;
  - frames/s end to end, where the time goes, and the classification queue's longest length.
--recipe: 'hard' (200 fps, 1.5 s gaps, slow head moves, and the recording conditions: tremor,
drift, flicker and JPEG around every event, out-of-plane turns and talking in some gaps), 'still'
(the same without the conditions: the former hard videos), 'joined' (clips as a CASME II-layout
set holds them, joined by held faces and head moves: mexp.synthetic.joined).
With --workdir (a model from experiments/two_stream.py), micro-expressions are also classified.
--memory VIDEO_DIR: instead, writes a 1-minute 2040x1088 video at 200 fps (SAMM-LV's size and
rate) and reports the peak resident memory of `python -m mexp.predict` on it (needs --workdir).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from mexp import metrics, spotting, spotting_fit, stream, synthetic
from mexp.io import long_video_readers
from mexp.synthetic import joined, recording
from mexp.synthetic import long_videos as long_synthetic

RECIPES = {
    "hard": "200 fps, 640x480, 1.5 s gaps with noise sigma 1.5 and slow head moves; tremor, drift, "
            "flicker and JPEG around every event; out-of-plane turns and talking in some gaps",
    "still": "200 fps, 640x480, still face with noise sigma 1.5, slow head moves between events "
             "(the former hard videos, no recording conditions)",
    "joined": "200 fps, 640x480, clips of 95-300 ms as recorded (tremor, drift, flicker, JPEG, "
              "features shifted up to {jitter:g} px between clips) joined by 1.5 s held faces and "
              "0.6 s head moves",
}


def write(recipe: str, folder: Path, videos: int, seed: int, micro: int,
          jitter: float = 1.0) -> None:
  if recipe == "joined":
    joined.write_joined_videos(folder, videos=videos, seed=seed, micro=micro, jitter=jitter)
    return
  style = long_synthetic.HARD if recipe == "hard" else dataclasses.replace(
      long_synthetic.HARD, conditions=recording.NONE)
  synthetic.write_long_videos(folder, videos=videos, seed=seed, fps=200.0, micro=micro,
                              style=style, seconds=long_synthetic.hard_seconds(micro))


def _first(events: list[dict], event_id: int) -> dict:
  """The first decision of the chain of corrections that ends in event_id."""
  by_id = {e["id"]: e for e in events}
  while by_id[event_id].get("corrects") is not None:
    event_id = by_id[event_id]["corrects"]
  return by_id[event_id]


def _after(event: dict, true_offset: int, fps: float) -> float:
  """ms from the true offset frame's arrival to the event's decision (plus its compute)."""
  return event["latency_ms"] + 1000 * (event["offset_frame"] - true_offset) / fps


def _spread(ms: list[float]) -> str:
  return (f"{np.mean(ms):.0f} ms mean, {np.median(ms):.0f} median, {np.percentile(ms, 90):.0f} "
          f"p90, {np.max(ms):.0f} max")


def spotting_run(args) -> None:
  cv2.setNumThreads(2)
  predictor = None
  if args.workdir:
    from mexp import predict
    predictor = predict.load(args.workdir)
  with tempfile.TemporaryDirectory() as tmp:
    folder = Path(args.videos_dir or Path(tmp) / "long")
    if not (folder / "ground_truth.json").exists():
      write(args.recipe, folder, args.videos, args.seed, args.micro, args.jitter)
    report = long_video_readers.read_long_videos("synthetic", folder)
    seed = json.loads((folder / "ground_truth.json").read_text()).get("seed", "?")
    timings, counts, first, final_ms, classify = collections.defaultdict(float), [], [], [], []
    start = time.perf_counter()
    for video in report.videos:
      capture = cv2.VideoCapture(str(video.path))
      events = list(stream.run(predictor, stream.capture_frames(capture), video.fps,
                               timings=timings))
      capture.release()
      spotted = [e for e in events if e["stage"] == "spotted"]
      final = list(stream.final(spotted).values())
      intervals = [spotting.Interval(e["onset_frame"], e["offset_frame"], e["kind"], 0.0)
                   for e in final]
      counts.append(spotting_fit.count(intervals, video.expressions))
      truth = [e for e in video.expressions if e.kind == "micro"]
      micro = [e for e in final if e["kind"] == "micro"]
      for i, j in metrics.match_intervals([(e["onset_frame"], e["offset_frame"]) for e in micro],
                                          [(e.onset, e.offset) for e in truth]):
        final_ms.append(_after(micro[i], truth[j].offset, video.fps))
        first.append(_after(_first(spotted, micro[i]["id"]), truth[j].offset, video.fps))
      classify += [e["classify_ms"] for e in events if "classify_ms" in e]
    total = time.perf_counter() - start
  scores = spotting_fit.score(counts)
  frames = timings["frames"]
  print(f"protocol: MEGC spotting (TP: IoU >= 0.5 with a ground truth of the same kind, maximum "
        f"matching, counts pooled) on {len(report.videos)} synthetic long videos, recipe "
        f"{args.recipe}, seed {seed} ({RECIPES[args.recipe].format(jitter=args.jitter)}); "
        "thresholds set on seed 100 only")
  for kind in ("micro", "macro"):
    s = scores[kind]
    print(f"  {kind} F1 {s['f1']:.3f}  precision {s['precision']:.3f}  recall {s['recall']:.3f}  "
          f"(TP {s['tp']}, FP {s['fp']}, FN {s['fn']})")
  print(f"  mean IoU of the micro TPs {scores['micro_iou']:.3f}")
  if first:
    print(f"decision latency after the true offset on the {len(first)} micro TPs (video time plus "
          f"the deciding frame's compute): first decision {_spread(first)}; final decision "
          f"(after corrections) {_spread(final_ms)}")
  print(f"{int(frames)} frames of 640x480 in {total:.1f} s: {frames / total:.0f} frames/s end to "
        "end (decode to decision)")
  for stage in ("decode", "spot", "classify"):
    print(f"  {stage:>8}: {1000 * timings[stage] / frames:6.2f} ms/frame "
          f"({100 * timings[stage] / total:4.1f}%)")
  if classify:
    print(f"classification on the worker thread: {np.mean(classify):.0f} ms mean (max "
          f"{np.max(classify):.0f}); longest queue {int(timings['queue_max'])} event(s)")


def memory_run(args) -> None:
  """Peak resident memory of predict on a 1-minute 2040x1088 video at 200 fps."""
  if not args.workdir:
    sys.exit("--memory needs --workdir (a model from experiments/two_stream.py)")
  folder = Path(args.memory)
  video = folder / "samm_size.avi"
  if not video.exists():
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "source"
    if not source.exists():
      write("hard", source, 1, args.seed, 6)  # 12.4 s of a hard video, looped to a minute
    capture = cv2.VideoCapture(str(source / "video01.avi"))
    clip = list(stream.capture_frames(capture))
    capture.release()
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 200.0, (2040, 1088))
    for i in range(60 * 200):
      frame = cv2.resize(clip[i % len(clip)], (1451, 1088), interpolation=cv2.INTER_CUBIC)
      writer.write(cv2.cvtColor(cv2.copyMakeBorder(frame, 0, 0, 294, 295, cv2.BORDER_REPLICATE),
                                cv2.COLOR_RGB2BGR))
    writer.release()
  start = time.perf_counter()
  result = subprocess.run([sys.executable, "-m", "mexp.predict", "--workdir", args.workdir,
                           str(video), "--json"], capture_output=True, text=True)
  seconds = time.perf_counter() - start
  if result.returncode:
    sys.exit(result.stderr)
  peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB -> MiB
  events = json.loads(result.stdout)["events"]
  print(f"python -m mexp.predict on a 60 s 2040x1088 video at 200 fps (12000 frames, MJPG): peak "
        f"resident memory {peak:.0f} MiB, {seconds:.0f} s, {len(events)} interval(s)")


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", default=None, help="classify with this model (optional)")
  parser.add_argument("--recipe", choices=sorted(RECIPES), default="hard")
  parser.add_argument("--videos", type=int, default=6)
  parser.add_argument("--micro", type=int, default=6, help="micro-expressions per video")
  parser.add_argument("--seed", type=int, default=1)
  parser.add_argument("--jitter", type=float, default=1.0,
                      help="joined: px the face's features differ between clips (0: one face)")
  parser.add_argument("--videos_dir", default=None,
                      help="reuse (or keep) the videos here instead of a temporary folder")
  parser.add_argument("--memory", default=None, metavar="VIDEO_DIR",
                      help="measure predict's peak memory on a 1-minute 2040x1088 video kept here")
  args = parser.parse_args()
  memory_run(args) if args.memory else spotting_run(args)


if __name__ == "__main__":
  main()
