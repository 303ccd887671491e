"""The floor: a linear probe on onset -> apex flow, on the folds and data of two_stream.py.

Run: python experiments/linear_probe.py [--manual_dir CASME2_DIR --folds loso]
"""

import dataclasses
import sys

import two_stream  # this folder is on sys.path when run as a script
from mexp import config as config_lib
from mexp import run


def get_config() -> config_lib.Config:
  return dataclasses.replace(two_stream.get_config(), workdir="workdir/linear_probe",
                             probe=config_lib.ProbeConfig(grid=8, c=0.1))


if __name__ == "__main__":
  sys.exit(run.main(get_config, description=__doc__, probe_only=True))
