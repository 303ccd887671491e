"""Live pipeline speed.  Run: python benchmarks/stream.py [--workdir workdir/two_stream]

Streams a synthetic 640x480 long video (6 s at 100 fps; 3 micro-, 1 macro-expression) through
mexp.stream as fast as it can be read, and prints end-to-end frames/s (decode to decision), where
the time goes, and the latency from each interval's offset frame to its decision. Needs a workdir
trained by experiments/two_stream.py.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from mexp import predict, stream, synthetic


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", default="workdir/two_stream")
  args = parser.parse_args()
  cv2.setNumThreads(2)
  predictor = predict.load(args.workdir)
  with tempfile.TemporaryDirectory() as tmp:
    videos = synthetic.write_long_videos(Path(tmp) / "long", videos=1, seed=3)
    capture = cv2.VideoCapture(str(videos / "video01.avi"))
    timings = collections.defaultdict(float)
    start = time.perf_counter()
    events = list(stream.run(predictor, capture, 100.0, timings=timings))
    total = time.perf_counter() - start
    capture.release()
  frames = timings["frames"]
  print(f"{frames} frames of 640x480 in {total:.2f} s: {frames / total:.0f} frames/s end to end "
        "(2 CPU cores, decode to decision)")
  for stage in ("decode", "face", "spot", "classify"):
    print(f"  {stage:>8}: {1000 * timings[stage] / frames:6.2f} ms/frame "
          f"({100 * timings[stage] / total:4.1f}%)")
  micro = [e for e in events if e["kind"] == "micro"]
  if micro:
    compute = np.array([e["compute_ms"] for e in micro])
    latency = np.array([e["latency_ms"] for e in micro])
    print(f"{len(micro)} micro, {len(events) - len(micro)} macro event(s); classification "
          f"{compute.mean():.0f} ms mean (max {compute.max():.0f}); offset-to-decision latency "
          f"{latency.mean():.0f} ms mean, of which {latency.mean() - compute.mean():.0f} ms is "
          "the 0.3 s wait for the movement to settle (video time)")


if __name__ == "__main__":
  main()
