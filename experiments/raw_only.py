"""Ablation: the raw-frame stream alone.  Run: python experiments/raw_only.py"""

import dataclasses
import sys

import two_stream  # this folder is on sys.path when run as a script
from mexp import run


def get_config():
  config = two_stream.get_config()
  return dataclasses.replace(config, workdir="workdir/raw_only",
                             model=dataclasses.replace(config.model, streams=("raw",)))


if __name__ == "__main__":
  sys.exit(run.main(get_config(), description=__doc__))
