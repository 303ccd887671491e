"""A tiny fixed config for the end-to-end tests: python tests/tiny_experiment.py --manual_dir ..."""

import sys

from mexp import config as config_lib
from mexp import run


def get_config() -> config_lib.Config:
  return config_lib.Config(
      data=config_lib.DataConfig(builder_config="t4_16x16_grey_median", task="seed6", folds="2"),
      model=config_lib.ModelConfig(width_factor=1 / 32, shared_widths=(128,), dense=(8,)),
      optim=config_lib.OptimConfig(epochs=6, batch_size=4, warmup_epochs=1),
      checkpoint_every=1, final_model=False)


if __name__ == "__main__":
  sys.exit(run.main(get_config))
