"""Spotting + recognition on synthetic long videos, MEGC-scored.

Run: python experiments/spotting.py [--model_workdir workdir/two_stream] [--videos DIR]
Needs a trained workdir (python experiments/two_stream.py). The long videos are generated once.
"""

import argparse
import sys
from pathlib import Path

from mexp import predict, spotting_eval, synthetic


def get_config() -> dict:
  return {"model_workdir": "workdir/two_stream", "videos": "data/synthetic_long", "count": 4,
          "seed": 0, "workdir": "workdir/spotting"}


def main(config: dict, argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  for key, value in config.items():
    parser.add_argument(f"--{key}", type=type(value), default=value)
  args = parser.parse_args(argv)
  if not (Path(args.videos) / "ground_truth.json").exists():
    synthetic.write_long_videos(args.videos, videos=args.count, seed=args.seed)
  try:
    results = spotting_eval.evaluate(args.model_workdir, args.videos)
  except predict.PredictError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(spotting_eval.table(results))
  print(f"wrote {spotting_eval.write(results, args.workdir)}")
  return 0


if __name__ == "__main__":
  sys.exit(main(get_config()))
