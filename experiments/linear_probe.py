"""The floor: a linear probe on onset -> apex flow, on the folds and data of two_stream.py.

Run: python experiments/linear_probe.py [--variant raw_diff] [--manual_dir CASME2_DIR]

Variants: flow (the floor; default), raw_diff (the raw frames' apex minus onset: how much of the
movement the raw stream can see), flow+raw_diff (whether the raw frames add to the flow).
"""

import dataclasses
import sys

import two_stream  # this folder is on sys.path when run as a script
from mexp import config as config_lib
from mexp import run

VARIANTS = config_lib.PROBE_FEATURES


def get_config(variant: str = "flow") -> config_lib.Config:
  if variant not in VARIANTS:
    raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
  suffix = "" if variant == "flow" else "_" + variant.replace("+", "_")
  return dataclasses.replace(two_stream.get_config(), workdir=f"workdir/linear_probe{suffix}",
                             probe=config_lib.ProbeConfig(grid=8, c=0.1, features=variant))


if __name__ == "__main__":
  sys.exit(run.main(get_config, description=__doc__, probe_only=True))
