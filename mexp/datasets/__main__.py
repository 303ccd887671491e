"""`python -m mexp.datasets build NAME --manual_dir DIR [--data_dir DIR] [--config NAME]`."""

from __future__ import annotations

import argparse
import sys

import tensorflow_datasets as tfds

from mexp import databases
from mexp import datasets  # noqa: F401  (registers the builders)
from mexp.datasets import build as build_lib

NAMES = databases.NAMES


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m mexp.datasets", description=__doc__)
  commands = parser.add_subparsers(dest="command", required=True)
  b = commands.add_parser("build", help="build a dataset from its manual folder")
  b.add_argument("name", choices=NAMES)
  b.add_argument("--manual_dir", required=True, help="the licensed (or synthetic) folder")
  b.add_argument("--data_dir", default=None, help="where datasets live (TFDS's default if unset)")
  b.add_argument("--config", default=None, help="a builder config; see `configs`")
  b.add_argument("--skip_invalid", action="store_true",
                 help="skip unusable rows and clips, listing each, instead of failing")
  b.add_argument("--overwrite", action="store_true", help="rebuild a finished dataset")
  c = commands.add_parser("configs", help="list a dataset's builder configs")
  c.add_argument("name", choices=NAMES)
  args = parser.parse_args(argv)

  if args.command == "configs":
    for i, config in enumerate(tfds.builder_cls(args.name).BUILDER_CONFIGS):
      print(f"{config.name}{'  (default)' if i == 0 else ''}: {config.description}")
    return 0
  build_lib.quiet_tfds_logs()
  try:
    _, summary = build_lib.build(args.name, manual_dir=args.manual_dir, data_dir=args.data_dir,
                                 config=args.config, skip_invalid=args.skip_invalid,
                                 overwrite=args.overwrite)
  except build_lib.INPUT_ERRORS as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(summary)
  return 0


if __name__ == "__main__":
  sys.exit(main())
