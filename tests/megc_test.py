"""The MEGC 2019 composite (casme2 + samm + smic, 3 classes) and cross-database runs."""

import contextlib
import dataclasses
import io
import json

import numpy as np
import pytest

import tiny_experiment
from mexp import config as config_lib
from mexp import folds as folds_lib
from mexp import run
from mexp import synthetic

STSTNET = "t4_16x16_grey_ststnet_apex_a32"


def test_composite_names_and_manual_dirs():
  megc = config_lib.DataConfig(dataset="megc2019")
  assert config_lib.datasets_of(megc) == ("casme2", "samm", "smic")
  cross = config_lib.DataConfig(dataset="casme2, smic", test_dataset="samm")
  assert config_lib.datasets_of(cross) == ("casme2", "smic", "samm")
  assert config_lib.test_datasets_of(cross) == ("samm",)
  assert config_lib.test_datasets_of(megc) == ()
  shared = dataclasses.replace(megc, manual_dir="/data/me")
  assert [config_lib.manual_dir_of(shared, n) for n in ("casme2", "smic")] == ["/data/me"] * 2
  each = dataclasses.replace(megc, manual_dir="casme2=/a, samm=/b,smic=/c d")
  assert [config_lib.manual_dir_of(each, n) for n in ("casme2", "samm", "smic")] == [
      "/a", "/b", "/c d"]
  assert config_lib.manual_dir_of(megc, "samm") is None


@pytest.mark.parametrize("data, message", [
    (dict(dataset="casme2,sam"), "--dataset 'casme2,sam': expected builder names joined by ','"),
    (dict(dataset=""), "--dataset '': expected builder names"),
    (dict(dataset="casme2,casme2"), "each once"),
    (dict(dataset="megc2019", test_dataset="samm"), "samm is also a training database"),
    (dict(dataset="casme2", test_dataset="mmew2"), "--config.data.test_dataset 'mmew2'"),
    (dict(dataset="megc2019", manual_dir="casme2=/a,samm=/b"),
     "--manual_dir 'casme2=/a,samm=/b': no folder for smic "
     r"\(expected casme2=DIR,samm=DIR,smic=DIR\)"),
])
def test_bad_dataset_flags_are_one_line_errors(data, message):
  config = config_lib.Config(data=config_lib.DataConfig(**data))
  with pytest.raises(ValueError, match=message):
    config_lib.validate(config)


def test_task_defaults_to_megc3_beyond_casme():
  assert run.default_task("seed6", "casme2", None) == "seed6"
  assert run.default_task("seed6", "megc2019", None) == "megc3"
  assert run.default_task("seed6", "casme2", "samm") == "megc3"
  config, _ = run.config_from_argv(tiny_experiment.get_config,
                                   ["--dataset", "samm", "--config.data.task", "seed6"])
  assert config.data.task == "seed6"  # an explicit --config.data.task wins


def test_cross_database_fold_keeps_databases_apart():
  subject_N = np.array(["casme2/sub01", "casme2/sub01", "casme2/sub02", "smic/s01", "samm/006",
                        "samm/007", "samm/007"])
  fold = folds_lib.cross_database_fold(subject_N, ("samm",))
  assert fold.name == "samm"
  assert fold.train.tolist() == [0, 1, 2, 3] and fold.test.tolist() == [4, 5, 6]
  fold = folds_lib.cross_database_fold(subject_N, ("samm",), val_subjects=1, seed=1)
  assert len(set(subject_N[fold.val])) == 1 and fold.test.tolist() == [4, 5, 6]
  assert sorted(np.r_[fold.train, fold.val].tolist()) == [0, 1, 2, 3]
  with pytest.raises(ValueError, match="no clips of mmew to test on"):
    folds_lib.cross_database_fold(subject_N, ("mmew",))
  with pytest.raises(ValueError, match="no training database left"):
    folds_lib.cross_database_fold(subject_N, ("samm", "casme2", "smic"))


def test_loso_fold_names_keep_the_database_when_several():
  subject_N = np.array(["casme/sub01", "casme2/sub01", "casme2/sub02"])
  names = [f.name for f in folds_lib.make_folds(subject_N, "loso")]
  assert names == ["casme_sub01", "casme2_sub01", "casme2_sub02"]  # no collision
  assert [f.name for f in folds_lib.make_folds(subject_N[1:], "loso")] == ["sub01", "sub02"]


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
  """Synthetic CASME II, SAMM and SMIC twins of 2 subjects each (data/synthetic_{name})."""
  root = tmp_path_factory.mktemp("megc")
  synthetic.generate(root / "synthetic_casme2", subjects=2, seed=1, clips_per_emotion=1)
  synthetic.generate_samm(root / "synthetic_samm", subjects=2, seed=2)
  synthetic.generate_smic(root / "synthetic_smic", subjects=2, seed=3, clips_per_emotion=2)
  return root


def _config(root):
  def get_config():
    config = tiny_experiment.get_config()
    return dataclasses.replace(config, data=dataclasses.replace(
        config.data, synthetic_dir=str(root / "synthetic_{name}"), data_dir=str(root / "tfds"),
        builder_config=STSTNET))
  return get_config


def _run(root, argv):
  out = io.StringIO()
  with contextlib.redirect_stdout(out):
    code = run.main(_config(root), argv + ["--config.optim.epochs", "1"])
  return code, out.getvalue()


def test_megc2019_loso_reports_composite_and_each_database(twins, tmp_path):
  code, out = _run(twins, ["--dataset", "megc2019", "--config.data.folds", "loso",
                           "--workdir", str(tmp_path / "w")])
  assert code == 0, out
  results = json.loads((tmp_path / "w" / "results.json").read_text())
  assert results["task"] == "megc3" and results["classes"] == ["negative", "positive", "surprise"]
  # casme2: 7 emotions x 2 subjects, others/fear/sadness left out as MEGC 2019 did; samm: 'Other'
  # left out; smic: all 3 x 2 clips x 2 subjects.
  assert results["dropped_by_task"] == {"casme2/fear": 2, "casme2/others": 2, "casme2/sadness": 2,
                                        "samm/others": 2}
  assert results["protocol"].startswith(
      "LOSO CV (6 folds, 6 subjects, 34 clips), megc2019 = casme2 (2 subjects, 8 clips) + samm "
      "(2 subjects, 14 clips) + smic (2 subjects, 12 clips)")
  assert [f["name"] for f in results["folds"]] == [
      "casme2_sub01", "casme2_sub02", "samm_006", "samm_007", "smic_s01", "smic_s02"]
  per = results["metrics"]["per_database"]
  assert {k: v["n"] for k, v in per.items()} == {"casme2": 8, "samm": 14, "smic": 12}
  assert set(results["floor"]["metrics"]["per_database"]) == set(per)
  assert "per database" in out and "  smic " in out


def test_cross_database_trains_on_one_and_tests_on_another(twins, tmp_path):
  code, out = _run(twins, ["--dataset", "casme2,smic", "--config.data.test_dataset", "samm",
                           "--workdir", str(tmp_path / "w"), "--config.data.val_subjects", "1"])
  assert code == 0, out
  results = json.loads((tmp_path / "w" / "results.json").read_text())
  assert results["protocol"].startswith(
      "cross-database: train on casme2 (2 subjects, 8 clips) + smic (2 subjects, 12 clips), "
      "test on samm (2 subjects, 14 clips)")
  fold, = results["folds"]
  assert fold["test_subjects"] == ["samm/006", "samm/007"] and fold["n_test"] == 14
  assert fold["n_train"] + fold["n_val"] == 20 and fold["n_val"] > 0
  assert "[cross-database, megc3" in out
