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
  with pytest.raises(ValueError, match=r"unknown probe config key\(s\) \['alpha'\]"):
    config_lib.from_dict(d)
  with pytest.raises(ValueError, match="colour"):
    config_lib.from_dict({"colour": 1})
