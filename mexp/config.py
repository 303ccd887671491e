"""Configs are frozen dataclasses: data only, no behaviour; validate() checks a run can use one."""

from __future__ import annotations

import dataclasses
import math

from mexp import config_io, databases, labels


@dataclasses.dataclass(frozen=True)
class DataConfig:
  """Which dataset to build and read, and how to split it; without manual_dir, the synthetic twin."""
  # A builder name, several joined by ',' (their union, subjects kept apart by their namespaced
  # ids), or 'megc2019' (casme2,samm,smic: the MEGC 2019 composite, with task megc3).
  dataset: str = "casme2"
  # Cross-database: when set, one fold trains on `dataset` and tests on these (',' joined);
  # `folds` is then unused.
  test_dataset: str | None = None
  builder_config: str = "t16_64x64_grey_ststnet_apex_a128"  # the builder's default
  # A licensed folder, or for several databases 'casme2=DIR,samm=DIR,...' (a single folder is
  # searched by every reader); None -> the synthetic twins, generated once.
  manual_dir: str | None = None
  data_dir: str | None = None  # None: data/tfds, or data/tfds_synthetic for the synthetic twin
  synthetic_dir: str = "data/synthetic_{name}"  # {name}: the database
  synthetic_subjects: int = 8
  synthetic_seed: int = 0
  skip_invalid: bool = False
  task: str = "seed6"  # mexp.labels.TASKS
  folds: str = "loso"  # 'loso', or a number k: k folds over subjects
  val_subjects: int = 0  # validation subjects drawn from each fold's training subjects
  # 'test', or 'validation': score each fold's validation subjects instead (model selection;
  # the test subjects are never trained on or predicted). Needs val_subjects >= 1.
  score_on: str = "test"


def _names(text: str | None) -> tuple[str, ...]:
  names = [n.strip() for n in (text or "").split(",") if n.strip()]
  return tuple(m for n in names for m in databases.COMPOSITES.get(n, (n,)))


def datasets_of(data: DataConfig) -> tuple[str, ...]:
  """Every database a run reads, training side first, then the cross-database test side."""
  train = _names(data.dataset)
  return train + tuple(n for n in _names(data.test_dataset) if n not in train)


def test_datasets_of(data: DataConfig) -> tuple[str, ...]:
  """The cross-database test side; () for cross-validation."""
  return _names(data.test_dataset)


def parse_manual_dir(text: str) -> dict[str, str] | str:
  """'--manual_dir' -> {name: folder} for 'name=DIR,...', or the one shared folder (a str).

  Raises:
    ValueError: an entry without '=', an empty name or folder, or a name given twice; the message
      quotes the flag.
  """
  if "=" not in text:
    if not text.strip():
      raise ValueError("--manual_dir '': empty; give a folder, or name=DIR,... per database")
    return text
  entries = {}
  for entry in text.split(","):
    name, sep, folder = (part.strip() for part in entry.partition("="))
    if not sep or not name or not folder:
      raise ValueError(f"--manual_dir {text!r}: {entry.strip()!r} is not name=DIR")
    if name in entries:
      raise ValueError(f"--manual_dir {text!r}: {name} given twice")
    entries[name] = folder
  return entries


def manual_dir_of(data: DataConfig, name: str) -> str | None:
  """The licensed folder of one database: its 'name=DIR' entry, or the one shared folder."""
  if data.manual_dir is None:
    return None
  entries = parse_manual_dir(data.manual_dir)
  if isinstance(entries, str):
    return entries
  if name not in entries:
    raise ValueError(f"--manual_dir {data.manual_dir!r}: no folder for {name} (expected "
                     f"{','.join(f'{n}=DIR' for n in datasets_of(data))})")
  return entries[name]


# 3D convolution implementations (conv3d.IMPLS, whose keys a test holds equal to these), or
# 'auto': XLA's on GPU/TPU, the fastest measured one on CPU.
CONVS = ("auto", "xla", "taps", "im2col", "chunked")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """The two-stream 3D CNN. Widths are the seed's, multiplied by width_factor."""
  # 'two_stream' (the fields below), or a MEGC 2019 baseline as published (mexp.published:
  # 'ststnet', 'off_apexnet'), which reads the apex frame's flow and only `dropout` here.
  arch: str = "two_stream"
  streams: tuple[str, ...] = ("raw", "saliency")
  stream_widths: tuple[int, ...] = (128, 256)  # per stream: conv + pool per entry
  stream_pools: tuple[tuple[int, int, int], ...] = ((1, 2, 2), (2, 2, 2))
  shared_widths: tuple[int, ...] = (512, 512, 512)  # after concatenation
  shared_pool: tuple[int, int, int] = (2, 2, 2)  # after the shared convs
  head_pool: str = "mean"  # 'mean' over T, H, W; 'time': mean over T, the face layout kept
  dense: tuple[int, ...] = (100, 100)
  width_factor: float = 1.0
  dropout: float = 0.5
  # What the raw stream sees: 'frames' (as stored, standardised per clip) or 'changes' (each
  # pixel's mean over the clip removed: the movement without the subject's face).
  raw_input: str = "frames"
  # A linear path beside the deep one (wide and deep): the saliency clip's mean over time,
  # area-pooled to motion_path_grid x motion_path_grid, through one Dense layer whose logits are
  # added to the deep head's; 0 = none. It gives the network the floor's view of the motion.
  motion_path_grid: int = 0
  # What the motion path reads: 'mean' (the saliency clip's mean over time, every channel) or
  # 'apex_uv' (u and v of the centre frame: the onset -> apex flow of an apex-centred flow or
  # ststnet clip, STSTNet's and OFF-ApexNet's input; checked against the data before training).
  motion_path_input: str = "mean"
  # How the streams meet: 'concat' (their features concatenated, then shared convs and one
  # head) or 'late' (each stream its own network, the single-stream ablation's, trained on its
  # own loss; the class probabilities averaged, as in Simonyan and Zisserman's two-stream nets).
  fusion: str = "concat"
  # How late fusion averages the streams: 'probs' (their class probabilities) or 'log_probs'
  # (their log-probabilities, renormalised: a product of experts, where a confident stream
  # outweighs an unsure one).
  late_average: str = "probs"
  # Late fusion's weight per stream (same order as `streams`, normalised; () = equal): a stream
  # known to be weaker (raw frames against flow, in MER) can speak with a smaller voice.
  late_weights: tuple[float, ...] = ()
  # Zero both inputs over the eyes and lids (align.eye_mask): blinks are the largest movement
  # in most clips and no emotion's cue. The boxes sit where landmark alignment puts the eyes.
  mask_eyes: bool = False
  # Fold each k x k block of pixels into channels before the streams (after the eye mask and
  # `changes`): a 64x64 clip enters as 32x32 with 4x the channels, so the first convolution sees
  # every stored pixel at the cost of a 32x32 network. 1: off.
  space_to_depth: int = 1
  conv: str = "auto"  # one of CONVS: 'auto' picks by backend (conv3d.pick_conv)


@dataclasses.dataclass(frozen=True)
class OptimConfig:
  epochs: int = 30
  batch_size: int = 16  # global, over all devices
  learning_rate: float = 1e-3
  warmup_epochs: int = 2
  # 'warmup_cosine' (linear warmup, cosine decay to 1%), or 'constant' (the published
  # baselines' plain Adam: no warmup, no decay).
  schedule: str = "warmup_cosine"
  weight_decay: float = 1e-4
  grad_clip: float | None = 1.0
  class_weighted: bool = True  # inverse-frequency weights: CASME II is strongly imbalanced
  # Polyak average of the weights, min(decay, (1 + step) / (10 + step)) per step; evaluation,
  # checkpoints' predictions and deployment use it. 0: off (the last weights are used).
  ema_decay: float = 0.0


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
  flip: bool = True
  max_shift: int = 2  # pixels, spatial jitter
  max_time_shift: int = 1  # frames, temporal jitter


@dataclasses.dataclass(frozen=True)
class ProbeConfig:
  """The floor (mexp.baselines): a linear probe on onset -> apex flow, fixed, never tuned."""
  grid: int = 8  # features area-pooled to grid x grid
  c: float = 0.1  # inverse L2 strength, as sklearn's LogisticRegression(C=...)
  steps: int = 300  # L-BFGS iterations (converged: the objective is convex)
  # What the probe reads at the apex: 'flow' (u, v, |flow|: the floor), 'raw_diff' (the stored
  # raw frames' apex minus onset grey levels: what the raw stream can see move), or both.
  features: str = "flow"


PROBE_FEATURES = ("flow", "raw_diff", "flow+raw_diff")
MOTION_PATH_INPUTS = ("mean", "apex_uv")
ARCHS = ("two_stream", "ststnet", "off_apexnet")
LATE_AVERAGES = ("probs", "log_probs")


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
  # How this configuration was chosen, printed in the deep model's protocol line ('' = unsaid).
  selection: str = ""
  # What the command line changed, as given ('--config.optim.epochs=1'); a record, not a setting.
  overrides: tuple[str, ...] = ()


# The short flags of mexp.run: aliases of these fields. Every other field is set by its path.
ALIASES = {"data.dataset": "--dataset", "data.manual_dir": "--manual_dir",
           "data.data_dir": "--data_dir", "workdir": "--workdir"}


def flag(key: str) -> str:
  """The command-line flag that sets a field: '--dataset', or '--config.optim.epochs'."""
  return ALIASES.get(key, "--config." + key)


# Fields tried and removed: a config.json saved before then still loads when it left them at
# these defaults (what the run used); any other value is refused below as an unknown key.
REMOVED = {("model", "stream_dropout"): [], ("model", "stream_scale_init"): [],
           ("model", "norm"): "none"}


def from_dict(d: dict) -> Config:
  """The inverse of dataclasses.asdict for Config (as saved in a workdir's config.json).

  Keys missing from `d` take their defaults (a config saved before the field existed).

  Raises:
    ValueError: naming any key this version of Config does not have, or a value of the wrong
      type (e.g. "optim.epochs must be int, got str '40'").
  """
  if isinstance(d, dict):
    for (group, field), default in REMOVED.items():
      value = d.get(group, {}).get(field, default) if isinstance(d.get(group), dict) else default
      if value != default:
        raise ValueError(f"{group}.{field} {value!r}: removed from mexp (tried and left off, "
                         "docs/results.md); this run needs the version that wrote it")
    d = {k: {f: v for f, v in part.items() if (k, f) not in REMOVED}
         if isinstance(part, dict) else part for k, part in d.items()}
  return config_io.from_dict(Config, d)


def _folds_error(folds: str) -> str | None:
  if folds == "loso":
    return None
  try:
    k = int(folds)
  except ValueError:
    return f"--config.data.folds {folds!r}: expected 'loso' or a number of folds"
  return None if k >= 2 else f"--config.data.folds {k}: choose at least 2 folds (or 'loso')"


def _datasets_error(d: DataConfig) -> str | None:
  train, test = _names(d.dataset), _names(d.test_dataset)
  for key, names in (("data.dataset", train), ("data.test_dataset", test)):
    unknown = [n for n in names if n not in databases.NAMES]
    if unknown or (key == "data.dataset" and not names) or len(set(names)) != len(names):
      value = d.dataset if key == "data.dataset" else d.test_dataset
      return (f"{flag(key)} {value!r}: expected builder names joined by ',' (each once), or "
              f"{', '.join(databases.COMPOSITES)}; builders: {', '.join(databases.NAMES)}")
  if set(train) & set(test):
    both = ", ".join(sorted(set(train) & set(test)))
    return f"{flag('data.test_dataset')} {d.test_dataset!r}: {both} is also a training database"
  if d.manual_dir is not None:
    try:
      entries = parse_manual_dir(d.manual_dir)
      for name in train + test:
        manual_dir_of(d, name)
    except ValueError as e:
      return str(e)
    unused = [] if isinstance(entries, str) else [n for n in entries if n not in train + test]
    if unused:
      return (f"--manual_dir {d.manual_dir!r}: {', '.join(unused)} is not read by this run "
              f"(it reads {', '.join(train + test)})")
  return None


def _rate(r: float) -> bool:
  return 0 <= r < 1


def _data_checks(d: DataConfig) -> list[tuple[str, bool, str]]:
  """(field, ok, requirement) of the data fields."""
  return [
      ("data.val_subjects", d.val_subjects >= 0, "must be >= 0"),
      ("data.score_on", d.score_on in ("test", "validation"), "expected 'test' or 'validation'"),
      ("data.val_subjects", d.score_on == "test" or d.val_subjects >= 1,
       "must be >= 1 with --config.data.score_on validation (the subjects it scores)"),
      ("data.task", d.task in labels.TASKS, f"expected one of {', '.join(labels.TASKS)}"),
      ("data.synthetic_subjects", d.synthetic_subjects >= 2, "must be >= 2"),
      ("data.synthetic_seed", d.synthetic_seed >= 0, "must be >= 0"),
      ("data.synthetic_dir", d.manual_dir is not None or len(datasets_of(d)) == 1
       or "{name}" in d.synthetic_dir, "needs '{name}' (one folder per database's twin)"),
  ]


def _model_checks(m: ModelConfig) -> list[tuple[str, bool, str]]:
  """(field, ok, requirement) of the model fields."""
  return [
      ("model.arch", m.arch in ARCHS, "expected " + ", ".join(map(repr, ARCHS))),
      ("model.streams", len(m.streams) > 0 and len(set(m.streams)) == len(m.streams)
       and set(m.streams) <= {"raw", "saliency"}, "expected 'raw' and/or 'saliency', once each"),
      ("model.stream_widths", len(m.stream_widths) == len(m.stream_pools)
       and all(w >= 1 for w in m.stream_widths),
       "needs one width >= 1 per model.stream_pools entry"),
      ("model.stream_pools", all(min(q) >= 1 for q in m.stream_pools), "pools must be >= 1"),
      ("model.shared_widths", all(w >= 1 for w in m.shared_widths), "widths must be >= 1"),
      ("model.shared_pool", min(m.shared_pool) >= 1, "pools must be >= 1"),
      ("model.head_pool", m.head_pool in ("mean", "time"), "expected 'mean' or 'time'"),
      ("model.dense", all(w >= 1 for w in m.dense), "widths must be >= 1"),
      ("model.width_factor", 0 < m.width_factor < math.inf, "must be > 0"),
      ("model.dropout", _rate(m.dropout), "must be in [0, 1)"),
      ("model.raw_input", m.raw_input in ("frames", "changes"), "expected 'frames' or 'changes'"),
      ("model.motion_path_grid", m.motion_path_grid >= 0, "must be >= 0 (0: no motion path)"),
      ("model.motion_path_grid", not m.motion_path_grid or "saliency" in m.streams,
       f"reads the saliency clip: streams {m.streams} have none (set 0)"),
      ("model.motion_path_input", m.motion_path_input in MOTION_PATH_INPUTS,
       "expected " + " or ".join(repr(v) for v in MOTION_PATH_INPUTS)),
      ("model.fusion", m.fusion in ("concat", "late"), "expected 'concat' or 'late'"),
      ("model.late_average", m.late_average in LATE_AVERAGES,
       "expected " + " or ".join(repr(v) for v in LATE_AVERAGES)),
      ("model.late_weights", not m.late_weights or (
          len(m.late_weights) == len(m.streams) and all(0 <= w < math.inf for w in m.late_weights)
          and sum(m.late_weights) > 0),
       f"expected () or one weight >= 0 per stream of {m.streams}, not all 0"),
      ("model.late_weights", m.fusion == "late" or not m.late_weights,
       "needs fusion 'late': set ()"),
      ("model.space_to_depth", m.space_to_depth >= 1, "must be >= 1 (1: off)"),
      ("model.conv", m.conv in CONVS, f"expected one of {', '.join(map(repr, CONVS))}"),
  ]


def _optim_checks(o: OptimConfig, num_devices: int) -> list[tuple[str, bool, str]]:
  """(field, ok, requirement) of the optimiser fields."""
  return [
      ("optim.epochs", o.epochs >= 1, "must be >= 1"),
      ("optim.batch_size", o.batch_size >= 1 and o.batch_size % num_devices == 0,
       f"must be a positive multiple of the {num_devices} device(s)"),
      ("optim.learning_rate", 0 < o.learning_rate < math.inf, "must be > 0"),
      ("optim.warmup_epochs", o.warmup_epochs >= 0, "must be >= 0"),
      ("optim.schedule", o.schedule in ("warmup_cosine", "constant"),
       "expected 'warmup_cosine' or 'constant'"),
      ("optim.weight_decay", 0 <= o.weight_decay < math.inf, "must be >= 0"),
      ("optim.ema_decay", 0 <= o.ema_decay < 1, "must be in [0, 1)"),
      ("optim.grad_clip", o.grad_clip is None or 0 < o.grad_clip < math.inf,
       "must be > 0, or None for no clipping"),
  ]


def _run_checks(config: Config) -> list[tuple[str, bool, str]]:
  """(field, ok, requirement) of the rest: augmentation, probe, run."""
  a, p = config.augment, config.probe
  return [
      ("augment.max_shift", a.max_shift >= 0, "must be >= 0"),
      ("augment.max_time_shift", a.max_time_shift >= 0, "must be >= 0"),
      ("probe.grid", p.grid >= 1, "must be >= 1"),
      ("probe.features", p.features in PROBE_FEATURES, "expected " + ", ".join(
          repr(f) for f in PROBE_FEATURES)),
      ("probe.c", 0 < p.c < math.inf, "must be > 0"),
      ("probe.steps", p.steps >= 1, "must be >= 1"),
      ("workdir", config.workdir != "", "must name a folder"),
      ("seed", config.seed >= 0, "must be >= 0"),
      ("checkpoint_every", config.checkpoint_every >= 1, "must be >= 1"),
  ]


def validate(config: Config, num_devices: int = 1) -> None:
  """Raises ValueError, one line naming the flag (or config key), for a value a run cannot use.

  Runs call it before they write anything. It needs no data: the fold count against the number
  of subjects is checked by mexp.folds.make_folds.

  Args:
    config: the run's config.
    num_devices: the devices that the global batch is split over.
  """
  config_io.check_types(config)
  if error := _folds_error(config.data.folds):
    raise ValueError(error)
  if error := _datasets_error(config.data):
    raise ValueError(error)
  checks = [*_data_checks(config.data), *_model_checks(config.model),
            *_optim_checks(config.optim, num_devices), *_run_checks(config)]
  for key, ok, requirement in checks:
    if not ok:
      value = config
      for part in key.split("."):
        value = getattr(value, part)
      raise ValueError(f"{flag(key)} {value!r}: {requirement}")


def differences(saved: Config, current: Config,
                ignore: tuple[str, ...] = ("workdir", "overrides")) -> list[str]:
  """'key old -> new' (dotted keys, JSON values) for every field that differs, except `ignore`."""
  return config_io.differences(saved, current, ignore)
