import dataclasses
import json

import pytest

from mexp import config as config_lib


def test_json_round_trip():
  config = config_lib.Config(model=config_lib.ModelConfig(streams=("raw",), width_factor=0.25),
                             data=config_lib.DataConfig(folds="3", manual_dir="/x"),
                             probe=config_lib.ProbeConfig(grid=4, c=1.0, steps=50))
  assert config_lib.from_dict(json.loads(json.dumps(dataclasses.asdict(config)))) == config


def test_unknown_keys_are_named():
  d = dataclasses.asdict(config_lib.Config())
  d["model"]["depth"] = 3
  with pytest.raises(ValueError, match="depth"):
    config_lib.from_dict(d)
  d = dataclasses.asdict(config_lib.Config())
  d["probe"]["alpha"] = 1.0
  with pytest.raises(ValueError, match=r"unknown config key probe\.alpha$"):
    config_lib.from_dict(d)
  with pytest.raises(ValueError, match="colour"):
    config_lib.from_dict({"colour": 1})


def test_missing_keys_take_their_defaults():
  d = json.loads(json.dumps(dataclasses.asdict(config_lib.Config())))
  del d["model"]["mask_eyes"]  # a config.json saved before the field existed
  assert config_lib.from_dict(d) == config_lib.Config()


def test_removed_fields_load_at_the_value_every_run_then_had():
  d = json.loads(json.dumps(dataclasses.asdict(config_lib.Config())))
  d["model"].update(norm="none", stream_dropout=[], stream_scale_init=[])  # an older config.json
  assert config_lib.from_dict(d) == config_lib.Config()
  d["model"]["norm"] = "group"
  with pytest.raises(ValueError) as e:
    config_lib.from_dict(d)
  assert str(e.value) == ("model.norm 'group': removed from mexp (tried and left off, "
                          "docs/results.md); this run needs the version that wrote it")


@pytest.mark.parametrize("section,key,value,message", [
    ("optim", "epochs", "40", "optim.epochs must be int, got str '40'"),
    ("optim", "learning_rate", True, "optim.learning_rate must be float, got bool True"),
    ("model", "streams", "raw", "model.streams must be tuple[str, ...], got str 'raw'"),
    ("model", "stream_pools", [[1, 2]], "model.stream_pools must be tuple[tuple[int, int, int], "
     "...], got tuple ((1, 2),)"),
    ("data", "manual_dir", 3, "data.manual_dir must be str | None, got int 3"),
])
def test_wrong_types_are_named(section, key, value, message):
  d = json.loads(json.dumps(dataclasses.asdict(config_lib.Config())))
  d[section][key] = value
  with pytest.raises(ValueError) as e:
    config_lib.from_dict(d)
  assert str(e.value) == message


def test_a_section_that_is_not_an_object_is_named():
  with pytest.raises(ValueError, match="optim must be an object of OptimConfig keys, got int 3"):
    config_lib.from_dict({"optim": 3})
  with pytest.raises(ValueError, match="expected an object of config keys, got list"):
    config_lib.from_dict([])


def test_predict_names_a_wrong_type_in_config_json(tmp_path):
  from mexp import predict
  d = json.loads(json.dumps(dataclasses.asdict(config_lib.Config())))
  d["optim"]["epochs"] = "40"
  (tmp_path / "config.json").write_text(json.dumps(d))
  with pytest.raises(predict.PredictError) as e:
    predict.load(tmp_path)
  assert str(e.value) == f"{tmp_path}/config.json: optim.epochs must be int, got str '40'"


def _with(config, **changes):
  """config with dotted-key changes, e.g. _with(c, **{"optim.epochs": 0})."""
  for key, value in changes.items():
    section, _, field = key.rpartition(".")
    if section:
      part = dataclasses.replace(getattr(config, section), **{field: value})
      config = dataclasses.replace(config, **{section: part})
    else:
      config = dataclasses.replace(config, **{field: value})
  return config


@pytest.mark.parametrize("key,value,message", [
    ("data.folds", "abc", "--config.data.folds 'abc': expected 'loso' or a number of folds"),
    ("data.folds", "1", "--config.data.folds 1: choose at least 2 folds (or 'loso')"),
    ("data.folds", 3, "data.folds must be str, got int 3"),
    ("data.val_subjects", -1, "--config.data.val_subjects -1: must be >= 0"),
    ("data.task", "seed7", "--config.data.task 'seed7': expected one of seed6, casme2_5, megc3"),
    ("optim.batch_size", 3, "--config.optim.batch_size 3: must be a positive multiple of the 2 "
                            "device(s)"),
    ("optim.batch_size", 0, "--config.optim.batch_size 0: must be a positive multiple of the 2 "
                            "device(s)"),
    ("optim.epochs", 0, "--config.optim.epochs 0: must be >= 1"),
    ("optim.learning_rate", 0.0, "--config.optim.learning_rate 0.0: must be > 0"),
    ("optim.learning_rate", float("nan"), "--config.optim.learning_rate nan: must be > 0"),
    ("optim.grad_clip", -1.0,
     "--config.optim.grad_clip -1.0: must be > 0, or None for no clipping"),
    ("optim.ema_decay", 1.0, "--config.optim.ema_decay 1.0: must be in [0, 1)"),
    ("model.motion_path_grid", -1, "--config.model.motion_path_grid -1: must be >= 0 (0: no "
                                   "motion path)"),
    ("model.fusion", "early", "--config.model.fusion 'early': expected 'concat' or 'late'"),
    ("model.motion_path_input", "last",
     "--config.model.motion_path_input 'last': expected 'mean' or 'apex_uv'"),
    ("model.late_average", "max", "--config.model.late_average 'max': expected 'probs' or "
                                  "'log_probs'"),
    ("model.late_weights", (1.0,), "--config.model.late_weights (1.0,): expected () or one weight "
                                   ">= 0 "
     "per stream of ('raw', 'saliency'), not all 0"),
    ("model.late_weights", (0.0, 0.0), "--config.model.late_weights (0.0, 0.0): expected () or one "
     "weight >= 0 per stream of ('raw', 'saliency'), not all 0"),
    ("model.late_weights", (1.0, 2.0), "--config.model.late_weights (1.0, 2.0): needs fusion "
                                       "'late': set ()"),
    ("model.space_to_depth", 0, "--config.model.space_to_depth 0: must be >= 1 (1: off)"),
    ("model.width_factor", 0.0, "--config.model.width_factor 0.0: must be > 0"),
    ("model.dropout", 1.0, "--config.model.dropout 1.0: must be in [0, 1)"),
    ("model.raw_input", "diff", "--config.model.raw_input 'diff': expected 'frames' or 'changes'"),
    ("probe.features", "raw", "--config.probe.features 'raw': expected 'flow', 'raw_diff', "
     "'flow+raw_diff'"),
    ("model.streams", ("raw", "raw"), "--config.model.streams ('raw', 'raw'): expected 'raw' "
                                      "and/or "
     "'saliency', once each"),
    ("model.stream_widths", (128,), "--config.model.stream_widths (128,): needs one width >= 1 per "
     "model.stream_pools entry"),
    ("seed", -1, "--config.seed -1: must be >= 0"),
    ("checkpoint_every", 0, "--config.checkpoint_every 0: must be >= 1"),
])
def test_validate_names_the_flag(key, value, message):
  config = _with(config_lib.Config(), **{key: value})
  with pytest.raises(ValueError) as e:
    config_lib.validate(config, num_devices=2)
  assert str(e.value) == message


def test_motion_path_needs_a_saliency_stream():
  config = _with(config_lib.Config(), **{"model.streams": ("raw",), "model.motion_path_grid": 8})
  with pytest.raises(ValueError) as e:
    config_lib.validate(config, num_devices=2)
  assert str(e.value) == ("--config.model.motion_path_grid 8: reads the saliency clip: streams "
                          "('raw',) "
                          "have none (set 0)")
  config_lib.validate(_with(config, **{"model.motion_path_grid": 0}), num_devices=2)


def test_validate_accepts_good_configs():
  config_lib.validate(config_lib.Config(), num_devices=2)
  config_lib.validate(_with(config_lib.Config(), **{"optim.batch_size": 3}), num_devices=1)
  config_lib.validate(_with(config_lib.Config(), **{
      "model.dropout": 0.3, "data.folds": "5", "optim.grad_clip": None,
      "optim.learning_rate": 1}), num_devices=4)  # an int is a valid float


def test_differences_name_leaves_and_ignore_the_workdir():
  a = config_lib.Config()
  b = _with(a, **{"workdir": "elsewhere", "optim.epochs": 40, "data.folds": "3",
                  "model.late_weights": (0.1, 0.2)})
  assert config_lib.differences(a, _with(a, workdir="elsewhere")) == []
  assert config_lib.differences(a, b) == ['data.folds "loso" -> "3"',
                                          "model.late_weights [] -> [0.1, 0.2]",
                                          "optim.epochs 30 -> 40"]


@pytest.mark.parametrize("dataset, manual_dir, message", [
    ("casme2", "casme2=A,casme2=B", "--manual_dir 'casme2=A,casme2=B': casme2 given twice"),
    ("casme2", "casme2=", "--manual_dir 'casme2=': 'casme2=' is not name=DIR"),
    ("casme2", "casme2=A,samm", "--manual_dir 'casme2=A,samm': 'samm' is not name=DIR"),
    ("casme2", "casme2=A,mmew=M", "--manual_dir 'casme2=A,mmew=M': mmew is not read by this run "
     "(it reads casme2)"),
    ("casme2,samm", "casme2=A", "--manual_dir 'casme2=A': no folder for samm"),
    ("casme2", " ", "--manual_dir '': empty"),
])
def test_manual_dir_entries_are_checked(dataset, manual_dir, message):
  config = config_lib.Config(data=config_lib.DataConfig(dataset=dataset, manual_dir=manual_dir))
  with pytest.raises(ValueError) as e:
    config_lib.validate(config)
  assert str(e.value).startswith(message)
  assert config_lib.parse_manual_dir("casme2=A, samm = B") == {"casme2": "A", "samm": "B"}
  assert config_lib.parse_manual_dir("/data/casme2") == "/data/casme2"
