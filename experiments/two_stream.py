"""The seed's two-stream 3D CNN (raw frames + saliency), cross-validated by subject.

Run: python experiments/two_stream.py [--manual_dir CASME2_DIR --folds loso]
Without --manual_dir it trains on the synthetic CASME II twin (generated and built once).
"""

import sys

from mexp import config as config_lib
from mexp import run


def get_config() -> config_lib.Config:
  return config_lib.Config(
      # 16 frames of 32x32 grey keep 4 folds + the final model under ~5 min on 2 CPU cores.
      data=config_lib.DataConfig(builder_config="t16_32x32_grey_median", task="seed6", folds="4"),
      # The seed's layout at 1/16 width; mean over time only, so the head knows where on the
      # face the movement is.
      model=config_lib.ModelConfig(width_factor=1 / 16, head_pool="time", dropout=0.3),
      optim=config_lib.OptimConfig(epochs=30, batch_size=16, learning_rate=1e-3),
      workdir="workdir/two_stream")


if __name__ == "__main__":
  sys.exit(run.main(get_config(), description=__doc__))
