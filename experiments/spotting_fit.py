"""Sets the spotter's thresholds on training videos only: synthetic subjects never evaluated.

Run: python experiments/spotting_fit.py [--videos DIR] [--joined DIR] [--config.count=N]
Writes two sets of training videos once (seed 100: other subjects than any evaluation): hard long
videos (200 fps, 1.5 s gaps with noise sigma 1.5, slow head moves, and the recording conditions:
tremor, drift, flicker and JPEG around every event, out-of-plane turns and talking in some gaps)
and videos joined from clips (mexp.synthetic.joined: the face after a clip need not be the face
before it). Tracks each face once, replays every grid point through the spotting core and prints
pooled MEGC micro F1 per point. The best point's values are the defaults of
mexp.spotting.SpotConfig (set there by hand, so the fit never runs implicitly).
"""

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from mexp import config_io, spotting, spotting_fit, synthetic
from mexp.io import files, long_video_readers
from mexp.synthetic import joined
from mexp.synthetic import long_videos as long_synthetic


@dataclasses.dataclass(frozen=True)
class Config:
  videos: str = "data/synthetic_long_train"  # hard long videos, generated once
  joined: str = "data/synthetic_joined_train"  # videos joined from clips, generated once
  count: int = 6
  joined_count: int = 3
  seed: int = 100  # subjects no evaluation uses
  micro: int = 6  # micro-expressions per hard video
  workdir: str = "workdir/spotting_fit"
  # SpotConfig field -> candidate values; every point of the grid is replayed.
  grid: tuple[tuple[str, tuple[float, ...]], ...] = (
      ("k_on", (8.0, 12.0)), ("hold_seconds", (0.1, 0.15)), ("k_still", (3.0, 5.0)),
      ("pad_seconds", (0.02, 0.04)))
  spot: spotting.SpotConfig = spotting.SpotConfig()  # the fields the grid does not vary


def get_config() -> Config:
  return Config()


ALIASES = {"videos": "videos", "joined": "joined", "workdir": "workdir"}


def main(config: Config, argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False,
                                   epilog="Any field: --config.PATH=VALUE (e.g. --config.count=3).")
  for flag in ALIASES:
    parser.add_argument(f"--{flag}", default=None)
  try:
    config, _, _ = config_io.from_argv(lambda _: config, argv, parser, ALIASES)
    unknown = [k for k, _ in config.grid if k not in spotting.SpotConfig.__dataclass_fields__]
    if unknown:
      raise ValueError(f"--config.grid: {unknown[0]} is not a SpotConfig field")
  except ValueError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  if not (Path(config.videos) / "ground_truth.json").exists():
    synthetic.write_long_videos(config.videos, videos=config.count, seed=config.seed, fps=200.0,
                                micro=config.micro,
                                seconds=long_synthetic.hard_seconds(config.micro),
                                style=long_synthetic.HARD)
  if not (Path(config.joined) / "ground_truth.json").exists():
    joined.write_joined_videos(config.joined, videos=config.joined_count, seed=config.seed,
                               micro=4)
  videos = [v for folder in (config.videos, config.joined)
            for v in long_video_readers.read_long_videos("synthetic", folder).videos]
  tracked = [spotting_fit.track(spotting_fit.grey_frames(v), v.fps) for v in videos]
  grid = {k: list(values) for k, values in config.grid}
  best, rows = spotting_fit.fit(tracked, [v.expressions for v in videos], grid, config.spot)
  print(f"protocol: MEGC micro F1 (IoU >= 0.5, maximum matching, counts pooled) on "
        f"{len(tracked)} training videos in {config.videos} and {config.joined} "
        f"(seed {config.seed}); never on evaluated subjects")
  for overrides, scores in sorted(rows, key=lambda r: -r[1]["micro"]["f1"]):
    micro = scores["micro"]
    print(f"  {json.dumps(overrides)}: micro F1 {micro['f1']:.3f} (P {micro['precision']:.3f} "
          f"R {micro['recall']:.3f}), micro IoU {scores['micro_iou']:.3f}, macro FP "
          f"{scores['macro']['fp']}")
  chosen = {k: getattr(best, k) for k in grid}
  print(f"best: {json.dumps(chosen)} (set as mexp.spotting.SpotConfig's defaults)")
  out = Path(config.workdir)
  out.mkdir(parents=True, exist_ok=True)
  files.write_text_atomic(out / "results.json", json.dumps(
      {"config": dataclasses.asdict(config), "best": chosen,
       "rows": [{"config": o, "scores": s} for o, s in rows]}, indent=1))
  return 0


if __name__ == "__main__":
  sys.exit(main(get_config()))
