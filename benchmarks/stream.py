"""Live spotting: MEGC scores, decision latency and speed.  Run: python benchmarks/stream.py

Writes the hard synthetic long videos of the spotting issue (200 fps, 640x480, micro-expressions
1.5 s apart on a still face with sensor noise sigma 1.5, a slow head move between them; seed 1:
subjects that the thresholds, set on seed 100 by experiments/spotting_fit.py, never saw), streams
each through mexp.stream as fast as it can be read, and prints:
  - spotting F1 under MEGC (IoU >= 0.5 with a ground truth of the same kind, counts pooled);
  - decision latency: from the arrival of the offset frame to the decision (video time, plus the
    compute of the deciding frame), against the spotted offset and against the true one;
  - frames/s end to end and where the time goes.
With --workdir (a model from experiments/two_stream.py), micro-expressions are also classified and
the classification time is reported; without it, the spotter runs alone.
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from mexp import metrics, spotting, spotting_fit, stream, synthetic
from mexp.io import long_videos
from mexp.synthetic import long_videos as long_synthetic


def _final(events: list[dict]) -> dict:
  """id -> event, each correction in place of the event it corrects."""
  final = {}
  for e in events:
    final.pop(e.get("corrects"), None)
    final[e["id"]] = e
  return final


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", default=None, help="classify with this model (optional)")
  parser.add_argument("--videos", type=int, default=6)
  parser.add_argument("--micro", type=int, default=6, help="micro-expressions per video")
  parser.add_argument("--seed", type=int, default=1)
  parser.add_argument("--videos_dir", default=None,
                      help="reuse (or keep) the videos here instead of a temporary folder")
  args = parser.parse_args()
  cv2.setNumThreads(2)
  predictor = None
  if args.workdir:
    from mexp import predict
    predictor = predict.load(args.workdir)
  with tempfile.TemporaryDirectory() as tmp:
    folder = Path(args.videos_dir or Path(tmp) / "long")
    if not (folder / "ground_truth.json").exists():
      synthetic.write_long_videos(folder, videos=args.videos, seed=args.seed, fps=200.0,
                                  micro=args.micro, style=long_synthetic.HARD,
                                  seconds=long_synthetic.hard_seconds(args.micro))
    report = long_videos.read_long_videos("synthetic", folder)
    seed = json.loads((folder / "ground_truth.json").read_text()).get("seed", "?")
    timings, counts, latency, to_truth, classify = collections.defaultdict(float), [], [], [], []
    start = time.perf_counter()
    for video in report.videos:
      capture = cv2.VideoCapture(str(video.path))
      events = list(stream.run(predictor, stream.capture_frames(capture), video.fps,
                               timings=timings))
      capture.release()
      final = list(_final([e for e in events if e["stage"] == "spotted"]).values())
      intervals = [spotting.Interval(e["onset_frame"], e["offset_frame"], e["kind"], 0.0)
                   for e in final]
      counts.append(spotting_fit.count(intervals, video.expressions))
      truth = [e for e in video.expressions if e.kind == "micro"]
      micro = [e for e in final if e["kind"] == "micro"]
      for i, j in metrics.match_intervals(
          [(e["onset_frame"], e["offset_frame"]) for e in micro],
          [(e.onset, e.offset) for e in truth]):
        latency.append(micro[i]["latency_ms"])
        to_truth.append(micro[i]["latency_ms"] + 1000 * (micro[i]["offset_frame"] - truth[j].offset)
                        / video.fps)
      classify += [e["classify_ms"] for e in events if "classify_ms" in e]
    total = time.perf_counter() - start
  scores = spotting_fit.score(counts)
  frames = timings["frames"]
  print(f"protocol: MEGC spotting (TP: IoU >= 0.5 with a ground truth of the same kind, counts "
        f"pooled) on {len(report.videos)} synthetic long videos, seed {seed} (200 fps, "
        "640x480, still face with noise sigma 1.5, slow head moves between events); thresholds "
        "set on seed 100 only")
  for kind in ("micro", "macro"):
    s = scores[kind]
    print(f"  {kind} F1 {s['f1']:.3f}  precision {s['precision']:.3f}  recall {s['recall']:.3f}  "
          f"(TP {s['tp']}, FP {s['fp']}, FN {s['fn']})")
  print(f"  mean IoU of the micro TPs {scores['micro_iou']:.3f}")
  if latency:
    print(f"decision latency on the {len(latency)} micro TPs (video time from the offset frame to "
          f"the decision, plus that frame's compute): after the spotted offset "
          f"{np.mean(latency):.0f} ms mean, {np.max(latency):.0f} ms max; after the true offset "
          f"{np.mean(to_truth):.0f} ms mean, {np.max(to_truth):.0f} ms max")
  print(f"{int(frames)} frames of 640x480 in {total:.1f} s: {frames / total:.0f} frames/s end to "
        "end (decode to decision)")
  for stage in ("decode", "spot", "classify"):
    print(f"  {stage:>8}: {1000 * timings[stage] / frames:6.2f} ms/frame "
          f"({100 * timings[stage] / total:4.1f}%)")
  if classify:
    print(f"classification after each micro decision: {np.mean(classify):.0f} ms mean "
          f"(max {np.max(classify):.0f})")


if __name__ == "__main__":
  main()
