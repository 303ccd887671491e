"""Spotting + recognition on long videos, MEGC-scored.

Run: python experiments/spotting.py [--model_workdir workdir/two_stream] [--videos DIR]
  or python experiments/spotting.py --layout samm_lv|casme_sq_lv --manual_dir DIR
Needs a trained workdir (python experiments/two_stream.py). Without --layout, synthetic long
videos are generated once into --videos; with it, SAMM-LV or CAS(ME)^2 (or its twin, written by
`python -m mexp.synthetic DIR --layout samm_lv --long_videos N`) is read from --manual_dir.
"""

import argparse
import sys
from pathlib import Path

from mexp import predict, spotting_eval, synthetic
from mexp.io import long_videos, sheets


def get_config() -> dict:
  return {"model_workdir": "workdir/two_stream", "videos": "data/synthetic_long", "count": 4,
          "seed": 0, "workdir": "workdir/spotting", "layout": "synthetic", "manual_dir": "",
          "skip_invalid": False}


def main(config: dict, argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  for key, value in config.items():
    if isinstance(value, bool):
      parser.add_argument(f"--{key}", action="store_true", default=value)
    else:
      parser.add_argument(f"--{key}", type=type(value), default=value)
  args = parser.parse_args(argv)
  if args.layout not in long_videos.LAYOUTS:
    print(f"error: --layout {args.layout!r}: expected one of {', '.join(long_videos.LAYOUTS)}",
          file=sys.stderr)
    return 2
  videos = Path(args.videos)
  if args.layout == "synthetic" and not (videos / "ground_truth.json").exists():
    if videos.exists() and (not videos.is_dir() or any(videos.iterdir())):
      print(f"error: {videos}: no ground_truth.json, so nothing to score against (write the "
            "synthetic videos into a new folder, or run `python -m mexp.predict --workdir W "
            "VIDEO` on videos of your own)", file=sys.stderr)
      return 2
    synthetic.write_long_videos(videos, videos=args.count, seed=args.seed)
  if args.layout != "synthetic" and not args.manual_dir:
    print(f"error: --layout {args.layout} needs --manual_dir (the folder the database was "
          "unpacked into)", file=sys.stderr)
    return 2
  folder = args.videos if args.layout == "synthetic" else args.manual_dir
  try:
    results = spotting_eval.evaluate(args.model_workdir, folder, args.layout,
                                     skip_invalid=args.skip_invalid)
  except (predict.PredictError, sheets.SheetError, FileNotFoundError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(spotting_eval.table(results))
  print(f"wrote {spotting_eval.write(results, args.workdir)}")
  return 0


if __name__ == "__main__":
  sys.exit(main(get_config()))
