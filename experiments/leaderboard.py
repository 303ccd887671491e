"""The honest leaderboard: the floor, the MEGC 2019 baselines and the two-stream variants, every
one on the same folds and seeds, written as leaderboard.md and leaderboard.html.

Run: python experiments/leaderboard.py [--seeds 0,1,2] [--dataset megc2019] [--manual_dir DIR]
Each row is its experiment's own run (run.main with --seeds), in WORKDIR/ROW/seed_S; a rerun
resumes every unfinished run and only then writes the table. Any other flag (--data_dir,
--config.data.folds=5, ...) is passed to every row; a --config.PATH that only one kind of model
has is refused by the rows that lack it.
"""

import argparse
import sys
from pathlib import Path

import linear_probe  # this folder is on sys.path when run as a script
import megc_baselines
import two_stream
from mexp import leaderboard, run
from mexp.io import files

# (name, input, get_config, variant, probe_only)
ROWS = (
    ("floor: linear probe", "onset->apex flow (u, v, |flow|), 8x8", linear_probe.get_config,
     "flow", True),
    ("STSTNet (as published)", "apex flow + strain, 28x28", megc_baselines.get_config,
     "ststnet", False),
    ("OFF-ApexNet (as published)", "apex u, v, 28x28", megc_baselines.get_config,
     "off_apexnet", False),
    ("raw only", "raw changes", two_stream.get_config, "raw_only", False),
    ("saliency only", "ststnet clip (u, v, strain)", two_stream.get_config, "saliency_only",
     False),
    ("two-stream 3D CNN (default)", "raw changes + ststnet clip", two_stream.get_config,
     "two_stream", False),
)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
  parser.add_argument("--seeds", default="0,1,2")
  parser.add_argument("--workdir", default="workdir/leaderboard")
  parser.add_argument("--rows", default=None,
                      help="only these rows' variants, joined by ',' (the floor always runs)")
  args, rest = parser.parse_known_args(argv)
  try:
    seeds = run.seeds_from_argv(["--seeds", args.seeds])
  except ValueError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  chosen = [r for r in ROWS if args.rows is None or r[4] or r[3] in args.rows.split(",")]
  root = Path(args.workdir)
  entries = []
  for name, what, get_config, variant, probe_only in chosen:
    workdir = root / variant
    print(f"== {name} ({workdir})", flush=True)
    code = run.main(get_config, ["--variant", variant, "--workdir", str(workdir), "--seeds",
                                 args.seeds, "--no_final_model", *rest],
                    probe_only=probe_only)
    if code:
      return code
    entries.append(leaderboard.Entry(name, what, workdir))
  try:
    rows, shared = leaderboard.rows(entries[1:], entries[0], seeds)
  except (FileNotFoundError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  files.write_text_atomic(root / "leaderboard.md", leaderboard.markdown(rows, shared))
  files.write_text_atomic(root / "leaderboard.html", leaderboard.page(rows, shared))
  print(leaderboard.markdown(rows, shared))
  print(f"wrote {root}/leaderboard.md, leaderboard.html")
  return 0


if __name__ == "__main__":
  sys.exit(main())
