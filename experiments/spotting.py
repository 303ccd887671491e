"""Spotting + recognition on long videos, MEGC-scored.

Run: python experiments/spotting.py [--model_workdir workdir/two_stream] [--videos DIR]
  or python experiments/spotting.py --layout samm_lv|casme_sq_lv --manual_dir DIR
Needs a trained workdir (python experiments/two_stream.py). Without --layout, synthetic long
videos are generated once into --videos; with it, SAMM-LV or CAS(ME)^2 (or its twin, written by
`python -m mexp.synthetic DIR --layout samm_lv --long_videos N`) is read from --manual_dir.
"""

import argparse
import dataclasses
import sys
from pathlib import Path

from mexp import config_io, pages, predict, spotting, spotting_eval, synthetic
from mexp.io import long_videos, sheets


@dataclasses.dataclass(frozen=True)
class Config:
  model_workdir: str = "workdir/two_stream"  # a trained workdir (its final model)
  layout: str = "synthetic"  # or samm_lv, casme_sq_lv (read from manual_dir)
  videos: str = "data/synthetic_long"  # the synthetic long videos, generated once
  count: int = 4  # synthetic long videos to generate
  seed: int = 0
  manual_dir: str | None = None  # the folder SAMM-LV or CAS(ME)^2 was unpacked into
  skip_invalid: bool = False  # skip unusable sheet rows (listed) instead of failing
  workdir: str = "workdir/spotting"
  spot: spotting.SpotConfig = spotting.SpotConfig()  # the spotter's thresholds


def get_config() -> Config:
  return Config()


# The short flags; any field is also set by its path, e.g. --config.spot.k_on=10.
ALIASES = {"model_workdir": "model_workdir", "layout": "layout", "videos": "videos",
           "manual_dir": "manual_dir", "skip_invalid": "skip_invalid", "workdir": "workdir"}


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False,
                                   epilog="Any field: --config.PATH=VALUE (e.g. "
                                   "--config.count=8 --config.spot.k_on=10).")
  for flag in ALIASES:
    if flag == "skip_invalid":
      parser.add_argument("--skip_invalid", action="store_const", const=True)
    else:
      parser.add_argument(f"--{flag}", default=None)
  return parser


def main(config: Config, argv=None) -> int:
  try:
    config, _, _ = config_io.from_argv(lambda _: config, argv, _parser(), ALIASES)
  except ValueError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  if config.layout not in long_videos.LAYOUTS:
    print(f"error: --layout {config.layout!r}: expected one of {', '.join(long_videos.LAYOUTS)}",
          file=sys.stderr)
    return 2
  videos = Path(config.videos)
  if config.layout == "synthetic" and not (videos / "ground_truth.json").exists():
    if videos.exists() and (not videos.is_dir() or any(videos.iterdir())):
      print(f"error: {videos}: no ground_truth.json, so nothing to score against (write the "
            "synthetic videos into a new folder, or run `python -m mexp.predict --workdir W "
            "VIDEO` on videos of your own)", file=sys.stderr)
      return 2
    synthetic.write_long_videos(videos, videos=config.count, seed=config.seed)
  if config.layout != "synthetic" and not config.manual_dir:
    print(f"error: --layout {config.layout} needs --manual_dir (the folder the database was "
          "unpacked into)", file=sys.stderr)
    return 2
  folder = config.videos if config.layout == "synthetic" else config.manual_dir
  try:
    results = spotting_eval.evaluate(config.model_workdir, folder, config.layout,
                                     skip_invalid=config.skip_invalid, spot=config.spot)
  except (predict.PredictError, sheets.SheetError, FileNotFoundError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  results["config"] = dataclasses.asdict(config)
  print(spotting_eval.table(results))
  print(f"wrote {spotting_eval.write(results, config.workdir)}, "
        f"{pages.spotting(results, Path(config.workdir))}")
  return 0


if __name__ == "__main__":
  sys.exit(main(get_config()))
