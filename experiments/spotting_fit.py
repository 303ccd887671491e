"""Sets the spotter's thresholds on training videos only: synthetic subjects never evaluated.

Run: python experiments/spotting_fit.py [--videos DIR] [--joined DIR] [--count N] [--seed S]
Writes two sets of training videos once (seed 100: other subjects than any evaluation): hard long
videos (200 fps, 1.5 s gaps with noise sigma 1.5, slow head moves, and the recording conditions:
tremor, drift, flicker and JPEG around every event, out-of-plane turns and talking in some gaps)
and videos joined from clips (mexp.synthetic.joined: the face after a clip need not be the face
before it). Tracks each face once, replays every grid point through the spotting core and prints
pooled MEGC micro F1 per point. The best point's values are the defaults of
mexp.spotting.SpotConfig (set there by hand, so the fit never runs implicitly).
"""

import argparse
import json
import sys
from pathlib import Path

from mexp import spotting_fit, synthetic
from mexp.io import files, long_video_readers
from mexp.synthetic import joined
from mexp.synthetic import long_videos as long_synthetic


def get_config() -> dict:
  return {"videos": "data/synthetic_long_train", "joined": "data/synthetic_joined_train",
          "count": 6, "joined_count": 3, "seed": 100, "micro": 6,
          "workdir": "workdir/spotting_fit",
          "grid": {"k_on": [8.0, 12.0], "hold_seconds": [0.1, 0.15], "k_still": [3.0, 5.0],
                   "pad_seconds": [0.02, 0.04]}}


def main(config: dict, argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  for key, value in config.items():
    if not isinstance(value, dict):
      parser.add_argument(f"--{key}", type=type(value), default=value)
  args = parser.parse_args(argv)
  if not (Path(args.videos) / "ground_truth.json").exists():
    synthetic.write_long_videos(args.videos, videos=args.count, seed=args.seed, fps=200.0,
                                micro=args.micro, seconds=long_synthetic.hard_seconds(args.micro),
                                style=long_synthetic.HARD)
  if not (Path(args.joined) / "ground_truth.json").exists():
    joined.write_joined_videos(args.joined, videos=args.joined_count, seed=args.seed, micro=4)
  videos = [v for folder in (args.videos, args.joined)
            for v in long_video_readers.read_long_videos("synthetic", folder).videos]
  tracked = [spotting_fit.track(spotting_fit.grey_frames(v), v.fps) for v in videos]
  best, rows = spotting_fit.fit(tracked, [v.expressions for v in videos], config["grid"])
  print(f"protocol: MEGC micro F1 (IoU >= 0.5, maximum matching, counts pooled) on "
        f"{len(tracked)} training videos in {args.videos} and {args.joined} (seed {args.seed}); "
        "never on evaluated subjects")
  for overrides, scores in sorted(rows, key=lambda r: -r[1]["micro"]["f1"]):
    micro = scores["micro"]
    print(f"  {json.dumps(overrides)}: micro F1 {micro['f1']:.3f} (P {micro['precision']:.3f} "
          f"R {micro['recall']:.3f}), micro IoU {scores['micro_iou']:.3f}, macro FP "
          f"{scores['macro']['fp']}")
  chosen = {k: getattr(best, k) for k in config["grid"]}
  print(f"best: {json.dumps(chosen)} (set as mexp.spotting.SpotConfig's defaults)")
  out = Path(args.workdir)
  out.mkdir(parents=True, exist_ok=True)
  files.write_text_atomic(out / "results.json", json.dumps(
      {"videos": [args.videos, args.joined], "seed": args.seed, "best": chosen,
       "rows": [{"config": o, "scores": s} for o, s in rows]}, indent=1))
  return 0


if __name__ == "__main__":
  sys.exit(main(get_config()))
