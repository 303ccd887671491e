"""Configs are frozen dataclasses: data only, no behaviour."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class DataConfig:
  """Which dataset to build and read; without manual_dir, the synthetic CASME II twin."""
  dataset: str = "casme2"
  builder_config: str = "t16_64x64_grey_median"
  manual_dir: str | None = None  # a licensed folder; None -> synthetic, generated once
  data_dir: str = "data/tfds"
  synthetic_dir: str = "data/synthetic_casme2"
  synthetic_subjects: int = 8
  synthetic_seed: int = 0
  skip_invalid: bool = False


@dataclasses.dataclass(frozen=True)
class Config:
  data: DataConfig = DataConfig()
  seed: int = 0
