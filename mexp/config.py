"""Configs are frozen dataclasses: data only, no behaviour."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class DataConfig:
  """Which dataset to build and read, and how to split it; without manual_dir, the synthetic twin."""
  dataset: str = "casme2"
  builder_config: str = "t16_64x64_grey_median"
  manual_dir: str | None = None  # a licensed folder; None -> synthetic, generated once
  data_dir: str | None = None  # None: data/tfds, or data/tfds_synthetic for the synthetic twin
  synthetic_dir: str = "data/synthetic_casme2"
  synthetic_subjects: int = 8
  synthetic_seed: int = 0
  skip_invalid: bool = False
  task: str = "seed6"  # mexp.labels.TASKS
  folds: str = "loso"  # 'loso', or a number k: k folds over subjects
  val_subjects: int = 0  # validation subjects drawn from each fold's training subjects


def data_dir_of(data: DataConfig) -> str:
  """Where the built datasets live; the synthetic twin never shares a folder with real data."""
  if data.data_dir is not None:
    return data.data_dir
  return "data/tfds" if data.manual_dir else "data/tfds_synthetic"


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """The two-stream 3D CNN. Widths are the seed's, multiplied by width_factor."""
  streams: tuple[str, ...] = ("raw", "saliency")
  stream_widths: tuple[int, ...] = (128, 256)  # per stream: conv + pool per entry
  stream_pools: tuple[tuple[int, int, int], ...] = ((1, 2, 2), (2, 2, 2))
  shared_widths: tuple[int, ...] = (512, 512, 512)  # after concatenation
  shared_pool: tuple[int, int, int] = (2, 2, 2)  # after the shared convs
  head_pool: str = "mean"  # 'mean' over T, H, W; 'time': mean over T, the face layout kept
  dense: tuple[int, ...] = (100, 100)
  width_factor: float = 1.0
  dropout: float = 0.5
  norm: str = "none"  # 'none', 'group' or 'layer' (LayerNorm over channels: slow here, and it
  # erases the per-pixel motion magnitude the saliency stream carries)
  conv: str = "auto"  # 'auto' (by backend), 'xla' (lax conv), 'taps' (2D convs over time taps)


@dataclasses.dataclass(frozen=True)
class OptimConfig:
  epochs: int = 30
  batch_size: int = 16  # global, over all devices
  learning_rate: float = 1e-3
  warmup_epochs: int = 2
  weight_decay: float = 1e-4
  grad_clip: float | None = 1.0
  class_weighted: bool = True  # inverse-frequency weights: CASME II is strongly imbalanced


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
  flip: bool = True
  max_shift: int = 2  # pixels, spatial jitter
  max_time_shift: int = 1  # frames, temporal jitter


@dataclasses.dataclass(frozen=True)
class ProbeConfig:
  """The floor (mexp.baselines): a linear probe on onset -> apex flow, fixed, never tuned."""
  grid: int = 8  # flow area-pooled to grid x grid
  c: float = 0.1  # inverse L2 strength, as sklearn's LogisticRegression(C=...)
  steps: int = 300  # L-BFGS iterations (converged: the objective is convex)


@dataclasses.dataclass(frozen=True)
class Config:
  data: DataConfig = DataConfig()
  model: ModelConfig = ModelConfig()
  optim: OptimConfig = OptimConfig()
  augment: AugmentConfig = AugmentConfig()
  probe: ProbeConfig = ProbeConfig()
  workdir: str = "workdir/two_stream"
  seed: int = 0
  checkpoint_every: int = 50  # steps
  final_model: bool = True  # also fit one model on all subjects, for predict/stream


def _tuples(value):
  return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def from_dict(d: dict) -> Config:
  """The inverse of dataclasses.asdict for Config (as saved in a workdir's config.json).

  Raises:
    ValueError: naming any key this version of Config does not have.
  """
  nested = {"data": DataConfig, "model": ModelConfig, "optim": OptimConfig,
            "augment": AugmentConfig, "probe": ProbeConfig}
  kwargs = {}
  for key, value in d.items():
    if key not in Config.__dataclass_fields__:
      raise ValueError(f"unknown config key {key!r}")
    if key in nested:
      cls = nested[key]
      unknown = set(value) - set(cls.__dataclass_fields__)
      if unknown:
        raise ValueError(f"unknown {key} config key(s) {sorted(unknown)}")
      value = cls(**{k: _tuples(v) for k, v in value.items()})
    kwargs[key] = value
  return Config(**kwargs)
