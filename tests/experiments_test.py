import contextlib
import dataclasses
import errno
import html
import io
import json
import os
from pathlib import Path

import pytest

import page_check
import tiny_experiment
import numpy as np

from mexp import config as config_lib
from mexp import evaluate, input_pipeline, report, run
from mexp.datasets import build as build_lib
from mexp.datasets import builder as builder_lib

ROOT = Path(__file__).parent.parent
STSTNET = "t4_16x16_grey_ststnet_apex_a32"


@pytest.fixture(scope="module")
def experiments():
  """experiments/two_stream.py and linear_probe.py as modules (their folder on sys.path)."""
  monkeypatch = pytest.MonkeyPatch()
  monkeypatch.syspath_prepend(str(ROOT / "experiments"))
  import linear_probe
  import two_stream
  yield two_stream, linear_probe
  monkeypatch.undo()


def test_two_stream_variants(experiments):
  two_stream, _ = experiments
  configs = {v: two_stream.get_config(v) for v in two_stream.VARIANTS}
  assert set(configs) == {"two_stream", "raw_only", "saliency_only", "seed_median", "ema"}
  assert two_stream.get_config() == configs["two_stream"]
  streams = {v: c.model.streams for v, c in configs.items()}
  assert streams == {"two_stream": ("raw", "saliency"), "raw_only": ("raw",),
                     "saliency_only": ("saliency",), "seed_median": ("raw", "saliency"),
                     "ema": ("raw", "saliency")}
  builder = {v: c.data.builder_config for v, c in configs.items()}
  assert builder == {"two_stream": "t16_64x64_grey_ststnet_apex_a128",
                     "raw_only": "t16_64x64_grey_ststnet_apex_a128",
                     "saliency_only": "t16_64x64_grey_ststnet_apex_a128",
                     "seed_median": "t16_64x64_grey_median_apex_a128",
                     "ema": "t16_64x64_grey_ststnet_apex_a128"}
  assert set(builder.values()) <= {c.name for c in builder_lib.CONFIGS}
  assert {c.workdir for c in configs.values()} == {f"workdir/{v}" for v in configs}
  # Only the named parts differ between variants.
  assert configs["raw_only"].optim == configs["two_stream"].optim
  assert configs["seed_median"].model == configs["two_stream"].model
  assert dataclasses.replace(configs["ema"], workdir="workdir/two_stream") == dataclasses.replace(
      configs["two_stream"], optim=dataclasses.replace(configs["two_stream"].optim,
                                                       ema_decay=0.99))
  # Late fusion: each stream its own network, so the single-stream variants are its members.
  assert {c.model.fusion for c in configs.values()} == {"late"}
  assert all(c.model.raw_input == "changes" for c in configs.values())
  # Chosen on validation subjects: flips on (every variant), eyes masked on both streams.
  assert all(c.augment.flip and c.model.mask_eyes for c in configs.values())
  assert {c.model.late_average for c in configs.values()} == {"log_probs"}
  # 64x64 clips folded to 32x32 with 4x the channels (chosen on validation subjects).
  assert {c.model.space_to_depth for c in configs.values()} == {2}
  # The raw stream's smaller voice in late fusion; single streams have nothing to weigh.
  weights = {v: c.model.late_weights for v, c in configs.items()}
  assert weights == {"two_stream": (0.2, 0.8), "raw_only": (), "saliency_only": (),
                     "seed_median": (0.2, 0.8), "ema": (0.2, 0.8)}
  assert all(c.augment.max_shift == 0 for c in configs.values())
  grids = {v: c.model.motion_path_grid for v, c in configs.items()}  # needs a saliency stream
  assert grids == {"two_stream": 8, "raw_only": 0, "saliency_only": 8, "seed_median": 8,
                   "ema": 8}
  assert {c.data.folds for c in configs.values()} == {"loso"}
  with pytest.raises(ValueError, match="unknown variant 'rgb'; expected one of two_stream, "):
    two_stream.get_config("rgb")


def test_variant_flag_picks_the_config(experiments):
  two_stream, linear_probe = experiments
  config, variant = run.config_from_argv(two_stream.get_config,
                                         ["--variant", "raw_only", "--config.optim.epochs", "3"])
  assert variant == "raw_only" and config.model.streams == ("raw",)
  assert config.optim.epochs == 3 and config.workdir == "workdir/raw_only"
  config, variant = run.config_from_argv(two_stream.get_config,
                                         ["--config.optim.learning_rate", "0.01"])
  assert variant is None and config.model.streams == ("raw", "saliency")
  assert config.optim.learning_rate == 0.01
  probe = linear_probe.get_config()
  assert probe.workdir == "workdir/linear_probe" and probe.probe == config_lib.ProbeConfig(8, 0.1)
  assert probe.data == two_stream.get_config().data
  config, variant = run.config_from_argv(linear_probe.get_config, ["--variant", "flow+raw_diff"])
  assert config.probe == config_lib.ProbeConfig(8, 0.1, features="flow+raw_diff")
  assert config.workdir == "workdir/linear_probe_flow_raw_diff" and config.data == probe.data
  assert linear_probe.get_config("raw_diff").workdir == "workdir/linear_probe_raw_diff"
  with pytest.raises(ValueError, match="unknown variant 'rgb'; expected one of flow, raw_diff, "):
    linear_probe.get_config("rgb")


def test_any_field_is_set_by_its_dotted_path(experiments):
  two_stream, _ = experiments
  config, _ = run.config_from_argv(two_stream.get_config, [
      "--config.optim.epochs=1", "--config.data.folds=2", "--no_final_model",
      "--config.model.late_weights=(0.3,0.7)", "--noconfig.model.mask_eyes",
      "--config.model.stream_pools", "((1,2,2),)", "--config.model.stream_widths=(8,)",
      "--manual_dir", "/data/casme2"])
  assert (config.optim.epochs, config.data.folds, config.final_model) == (1, "2", False)
  assert config.model.late_weights == (0.3, 0.7) and config.model.mask_eyes is False
  assert config.model.stream_pools == ((1, 2, 2),) and config.model.stream_widths == (8,)
  assert config.data.manual_dir == "/data/casme2"
  assert config.overrides == (  # as given: the short flags, then the dotted paths
      "--manual_dir=/data/casme2", "--config.final_model=False", "--config.optim.epochs=1",
      "--config.data.folds=2", "--config.model.late_weights=(0.3, 0.7)",
      "--config.model.mask_eyes=False", "--config.model.stream_pools=((1, 2, 2),)",
      "--config.model.stream_widths=(8,)")
  # Everything else is as the experiment set it.
  assert dataclasses.replace(config, overrides=()) == dataclasses.replace(
      two_stream.get_config(), final_model=False,
      optim=dataclasses.replace(two_stream.get_config().optim, epochs=1),
      data=dataclasses.replace(two_stream.get_config().data, folds="2",
                               manual_dir="/data/casme2"),
      model=dataclasses.replace(two_stream.get_config().model, late_weights=(0.3, 0.7),
                                mask_eyes=False, stream_pools=((1, 2, 2),), stream_widths=(8,)))


@pytest.mark.parametrize("argv,message", [
    (["--config.optim.epoch=1"],
     "--config.optim.epoch: no such config field; did you mean --config.optim.epochs?"),
    (["--config.optimiser.epochs=1"], "--config.optimiser.epochs: no such config field; did "
     "you mean --config.optim?"),
    (["--config.optim=1"], "--config.optim: a group of fields; set one of them (e.g. "
     "--config.optim.epochs=...)"),
    (["--config.optim.epochs=1.5"],
     "--config.optim.epochs=1.5: invalid literal for int() with base 10: '1.5'"),
    (["--config.model.late_weights=(0.3,'a')"],
     "--config.model.late_weights must be tuple[float, ...], got tuple (0.3, 'a')"),
    (["--epochs", "3"], "unrecognized arguments: --epochs 3 (a config field is set with "
     "--config.PATH=VALUE)"),
    (["--variant", "rgb"], "unknown variant 'rgb'; expected one of two_stream, raw_only, "
     "saliency_only, seed_median, ema"),
])
def test_a_bad_override_is_one_line_naming_the_path(experiments, argv, message, capsys,
                                                     tmp_path):
  two_stream, _ = experiments
  with pytest.raises(ValueError) as e:
    run.config_from_argv(two_stream.get_config, argv)
  assert str(e.value) == message
  assert run.main(two_stream.get_config, argv + ["--workdir", str(tmp_path / "w")]) == 2
  assert capsys.readouterr().err == f"error: {message}\n"
  assert not (tmp_path / "w").exists()


def _argv(tiny, workdir, builder_config=STSTNET):
  manual_dir, data_dir = tiny
  return ["--manual_dir", str(manual_dir), "--data_dir", str(data_dir), "--workdir", str(workdir),
          "--config.data.builder_config", builder_config, "--config.data.folds", "2"]


@pytest.fixture(scope="module")
def ststnet_run(tiny_casme2, tmp_path_factory):
  """The tiny experiment on ststnet data (built beside the median one): (workdir, stdout)."""
  manual_dir, data_dir = tiny_casme2
  build_lib.build("casme2", manual_dir=manual_dir, data_dir=data_dir, config=STSTNET)
  workdir = tmp_path_factory.mktemp("ststnet") / "run"
  out = io.StringIO()
  with contextlib.redirect_stdout(out):
    code = run.main(tiny_experiment.get_config,
                    _argv(tiny_casme2, workdir) + ["--config.optim.epochs", "1"])
  assert code == 0, out.getvalue()[-2000:]
  return workdir, out.getvalue()


def test_two_stream_run_reports_the_floor(ststnet_run):
  workdir, out = ststnet_run
  saved = json.loads((workdir / "config.json").read_text())
  assert saved["overrides"][-3:] == ["--config.data.builder_config=" + STSTNET,
                                     "--config.data.folds=2", "--config.optim.epochs=1"]
  results = json.loads((workdir / "results.json").read_text())
  floor = results["floor"]
  assert floor["protocol"].startswith("2-fold subject-wise CV (2 folds, 4 subjects, 12 clips)")
  assert f"casme2/{STSTNET}" in floor["protocol"] and "linear probe" in floor["protocol"]
  assert "linear probe" not in results["protocol"]
  assert floor["metrics"]["n"] == 12
  for name in ("uf1", "uar", "accuracy"):
    assert 0 <= floor["metrics"][name] <= 1
  assert f"floor:    {floor['protocol']}" in out
  header = next(line for line in out.splitlines() if line.startswith("metric"))
  assert header.split() == ["metric", "value", "floor", "protocol"]
  uf1 = next(line for line in out.splitlines() if line.startswith("UF1"))
  assert uf1.split()[2] == f"{floor['metrics']['uf1']:.3f}"
  # The paired view: the deep model minus the floor on the same test clips.
  for name in ("uf1", "uar"):
    d = floor["paired"][name]
    assert d["difference"] == pytest.approx(results["metrics"][name] - floor["metrics"][name])
    assert d["interval_95"][0] <= d["difference"] <= d["interval_95"][1]
  assert f"minus the floor, on the same test clips" in out


def _check_page(path, results):
  page = page_check.check(path, "Run report")
  assert html.escape(results["protocol"]) in path.read_text()
  assert page.images >= 3  # confusion, per class, per subject
  return page


def test_the_run_report_page_shows_metrics_figures_and_mistakes(ststnet_run):
  workdir, _ = ststnet_run
  results = json.loads((workdir / "results.json").read_text())
  tags = _check_page(workdir / "report.html", results)
  page = (workdir / "report.html").read_text()
  wrong = sum(p != t for p, t in zip(results["predictions"]["predicted"],
                                     results["predictions"]["label"]))
  assert f"{wrong} of {results['metrics']['n']} test clips misclassified" in page
  assert tags.images == 4 + min(wrong, 24)  # + training curves, + one thumbnail per mistake
  assert f"{results['metrics']['uf1']:.3f}" in page and "minus the floor (paired)" in page


def test_linear_probe_alone_matches_the_floor(experiments, tiny_casme2, ststnet_run, tmp_path,
                                              capsys):
  _, linear_probe = experiments
  floor = json.loads((ststnet_run[0] / "results.json").read_text())["floor"]
  assert run.main(linear_probe.get_config, _argv(tiny_casme2, tmp_path / "probe"),
                  probe_only=True) == 0
  out = capsys.readouterr().out
  results = json.loads((tmp_path / "probe" / "results.json").read_text())
  assert "linear probe" in results["protocol"] and "floor" not in results
  assert results["metrics"] == floor["metrics"]  # same folds, same data, same fixed probe
  assert (tmp_path / "probe" / "confusion.png").stat().st_size > 0
  assert not (tmp_path / "probe" / "curves.png").exists()
  assert out.strip().endswith("results.json, report.html, confusion.png")
  _check_page(tmp_path / "probe" / "report.html", results)


def test_score_on_validation_never_touches_the_test_subjects(tiny_casme2, ststnet_run, tmp_path,
                                                            capsys):
  # Tuning runs score each fold's validation subjects; the floor is fitted on the same training
  # subjects. The test subjects are neither trained on nor predicted.
  workdir = tmp_path / "val"
  argv = _argv(tiny_casme2, workdir) + ["--config.optim.epochs", "1",
                                        "--config.data.val_subjects", "1",
                                        "--config.data.score_on", "validation"]
  config = dataclasses.replace(tiny_experiment.get_config(), final_model=True)
  assert run.main(lambda: config, argv) == 0
  out = capsys.readouterr().out
  results = json.loads((workdir / "results.json").read_text())
  assert results["protocol"].startswith("2-fold subject-wise CV, VALIDATION subjects only (2 folds")
  assert "test subjects never trained on or predicted" in results["protocol"]
  assert results["floor"]["protocol"].startswith("2-fold subject-wise CV, VALIDATION subjects")
  assert "[2-fold subject-wise CV, VALIDATION subjects only, seed6, pooled over folds]" in out
  clips = input_pipeline.load(config_lib.DataConfig(
      builder_config=STSTNET, task="seed6", manual_dir=str(tiny_casme2[0]),
      data_dir=str(tiny_casme2[1])))
  from mexp import folds as folds_lib
  real = folds_lib.make_folds(clips.subject_N, "2", val_subjects=1, seed=0)
  for fold, row in zip(real, results["folds"]):
    scored = json.loads((workdir / f"fold_{fold.name}" / "predictions.json").read_text())
    assert set(scored["subject"]) == set(clips.subject_N[fold.val]) == set(row["test_subjects"])
    assert not set(scored["subject"]) & set(clips.subject_N[fold.test])
    assert row["n_train"] == len(fold.train) and row["n_test"] == len(fold.val)
  assert results["metrics"]["n"] == results["floor"]["metrics"]["n"] == sum(
      len(f.val) for f in real)
  assert results["final_model"] is None and not (workdir / "final").exists()
  # Without validation subjects there is nothing to score: one line, nothing written.
  bad = tmp_path / "bad"
  assert run.main(lambda: config,
                  _argv(tiny_casme2, bad) + ["--config.data.score_on", "validation"]) == 2
  err = capsys.readouterr().err
  assert err.strip() == ("error: --config.data.val_subjects 0: must be >= 1 with "
                         "--config.data.score_on validation (the "
                         "subjects it scores)")
  assert not bad.exists()


def test_linear_probe_refuses_a_saliency_without_flow(experiments, tiny_casme2, tmp_path, capsys):
  _, linear_probe = experiments
  argv = _argv(tiny_casme2, tmp_path / "median", builder_config="t4_16x16_grey_median")
  assert run.main(linear_probe.get_config, argv, probe_only=True) == 2
  err = capsys.readouterr().err
  assert err.startswith("error: the linear probe needs a flow saliency (flow, ststnet), not "
                        "'median'") and len(err.strip().splitlines()) == 1
  # The raw frames' differences need no flow: the same build, probed end to end.
  argv = _argv(tiny_casme2, tmp_path / "raw", builder_config="t4_16x16_grey_median")
  assert run.main(linear_probe.get_config, ["--variant", "raw_diff"] + argv, probe_only=True) == 0
  results = json.loads((tmp_path / "raw" / "results.json").read_text())
  assert "linear probe: apex-minus-onset raw grey levels area-pooled" in results["protocol"]
  assert results["metrics"]["n"] == 12


MEDIAN = "t4_16x16_grey_median"


@pytest.mark.parametrize("flags,named", [
    (["--config.data.folds", "1"], "--config.data.folds 1"),
    (["--config.data.folds", "100"], "--config.data.folds 100"),
    (["--config.data.folds", "abc"], "--config.data.folds 'abc'"),
    (["--config.optim.batch_size", "3"], "2 device(s)"),
    (["--config.data.val_subjects", "4"], "validation"),
    (["--config.optim.epochs", "0"], "--config.optim.epochs 0")])
def test_a_failed_run_writes_nothing_and_the_corrected_one_starts(flags, named, tiny_casme2,
                                                                  tmp_path, capsys):
  import jax
  from mexp import evaluate
  assert jax.device_count() == 2  # conftest
  workdir = tmp_path / "run"
  argv = _argv(tiny_casme2, workdir, MEDIAN)
  assert run.main(tiny_experiment.get_config, argv + flags) == 2
  err = capsys.readouterr().err
  assert err.startswith("error: ") and named in err and len(err.strip().splitlines()) == 1
  assert not workdir.exists()
  # The corrected command in the same workdir passes every check before training.
  config, _ = run.config_from_argv(tiny_experiment.get_config, argv)
  config_lib.validate(config, jax.device_count())
  assert evaluate.check_workdir(config) == workdir
  assert evaluate.check_workdir(config) == workdir  # and resumes there


def test_out_of_device_memory_names_the_batch_and_frees_the_workdir(tiny_casme2, tmp_path,
                                                                   capsys, monkeypatch):
  import jax
  from mexp import train

  def exhausted(*args, **kwargs):  # what XLA raises when a batch does not fit
    raise jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate "
                                     "39284965376 bytes.")
  monkeypatch.setattr(train, "fit", exhausted)
  workdir = tmp_path / "run"
  argv = _argv(tiny_casme2, workdir, MEDIAN) + ["--config.optim.batch_size", "8"]
  assert run.main(tiny_experiment.get_config, argv) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert err[-1] == (f"error: --config.optim.batch_size 8: the device ran out of memory "
                     f"(RESOURCE_EXHAUSTED: "
                     "Out of memory while trying to allocate 39284965376 bytes.); lower it "
                     f"(nothing was trained: {workdir}/config.json was removed)")
  assert not workdir.exists()


def test_workdir_guard_compares_the_run_not_its_place(tmp_path):
  import shutil
  from mexp import evaluate
  config = dataclasses.replace(tiny_experiment.get_config(), workdir=str(tmp_path / "a"))
  evaluate.check_workdir(config)
  shutil.move(tmp_path / "a", tmp_path / "b")
  moved = dataclasses.replace(config, workdir=str(tmp_path / "b"))
  assert evaluate.check_workdir(moved) == tmp_path / "b"  # resumes where it now lives
  longer = dataclasses.replace(moved, optim=dataclasses.replace(config.optim, epochs=7))
  with pytest.raises(evaluate.WorkdirMismatchError) as e:
    evaluate.check_workdir(longer)
  assert str(e.value) == (f"{tmp_path / 'b'} holds a run with another config (optim.epochs 6 -> 7)"
                          "; choose another --workdir")
  saved = tmp_path / "b" / "config.json"
  d = json.loads(saved.read_text())
  del d["model"]["mask_eyes"]  # saved before the field existed: its default is that run
  saved.write_text(json.dumps(d))
  evaluate.check_workdir(moved)
  d["optim"]["epochs"] = "6"
  saved.write_text(json.dumps(d))
  with pytest.raises(evaluate.WorkdirMismatchError) as e:
    evaluate.check_workdir(moved)
  assert str(e.value) == (f"{saved}: optim.epochs must be int, got str '6'; fix it, or choose "
                          "another --workdir")
  saved.write_text("{")
  with pytest.raises(evaluate.WorkdirMismatchError, match="config.json: Expecting property name"):
    evaluate.check_workdir(moved)


def _read_only(monkeypatch):
  """Every atomic write fails as on a read-only file system."""
  from mexp.io import files

  def fail(path, text):
    raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
  monkeypatch.setattr(files, "write_text_atomic", fail)


def test_a_read_only_workdir_is_one_line(tiny_casme2, tmp_path, monkeypatch, capsys):
  _read_only(monkeypatch)
  workdir = tmp_path / "run"
  assert run.main(tiny_experiment.get_config, _argv(tiny_casme2, workdir, MEDIAN)) == 2
  err = capsys.readouterr().err
  assert err == (f"error: {workdir}/config.json: Read-only file system; check that it is writable "
                 "and the disk has space, then rerun the same command: it resumes\n")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_chmod_read_only_workdir_is_one_line(tiny_casme2, tmp_path, capsys):
  workdir = tmp_path / "run"
  workdir.mkdir()
  workdir.chmod(0o555)
  try:
    assert run.main(tiny_experiment.get_config, _argv(tiny_casme2, workdir, MEDIAN)) == 2
  finally:
    workdir.chmod(0o755)
  err = capsys.readouterr().err
  assert err.startswith(f"error: {workdir}/config.json") and "Permission denied" in err
  assert len(err.strip().splitlines()) == 1


def test_protocol_says_how_the_deep_config_was_chosen(experiments):
  two_stream, _ = experiments
  clips = input_pipeline.Clips(
      raw_NxTxHxWxC=np.zeros((4, 1, 1, 1, 1), np.uint8),
      saliency_NxTxHxWxS=np.zeros((4, 1, 1, 1, 3), np.float16), label_N=np.array([0, 1, 0, 1]),
      subject_N=np.array(["casme2/sub01", "casme2/sub01", "casme2/sub02", "casme2/sub02"]),
      clip_N=np.array(["a", "b", "c", "d"]), classes=("x", "y"), dropped={},
      saliency_kind="ststnet", apex_index_N=np.zeros(4, np.int32))
  config = two_stream.get_config()
  deep = report.protocol(config, clips, 2)
  assert deep.endswith("no model selection on test subjects, configuration chosen on validation "
                       "subjects from the training side of the 8-subject synthetic set, never on "
                       "test subjects, test predictions pooled over folds")
  assert "chosen" not in report.protocol(config, clips, 2, method="linear probe")
  assert "chosen" not in report.protocol(dataclasses.replace(config, selection=""), clips, 2)


def test_the_table_reads_structured_fields_not_its_own_protocol_text():
  from mexp import evaluate
  metric = {"uf1": 0.5, "uar": 0.5, "accuracy": 0.5}
  results = {"protocol": "anything at all (free text)", "scheme": "cross-database",
             "task": "megc3", "metrics": {**metric, "per_class": {}, "absent_classes": []},
             "dropped_by_task": {}}
  assert "UF1          0.500          [cross-database, megc3, test database(s) only]" in \
      report.table(results)
  data = config_lib.DataConfig(folds="5", score_on="validation")
  assert report.scheme(data) == "5-fold subject-wise CV, VALIDATION subjects only"
  assert report.scheme(config_lib.DataConfig(dataset="casme2", test_dataset="samm")) == \
      "cross-database"
  assert report.scheme(config_lib.DataConfig(folds="loso")) == "LOSO CV"


@pytest.mark.slow
def test_seeds_report_mean_sd_intervals_and_the_paired_view(tiny_casme2, tmp_path, capsys):
  from mexp import metrics
  workdir = tmp_path / "seeds"
  argv = _argv(tiny_casme2, workdir) + ["--config.optim.epochs", "1", "--seeds", "0,1",
                                        "--no_final_model"]
  assert run.main(tiny_experiment.get_config, argv) == 0
  out = capsys.readouterr().out
  runs = {s: json.loads((workdir / f"seed_{s}" / "results.json").read_text()) for s in (0, 1)}
  assert [r["config"]["seed"] for r in runs.values()] == [0, 1]
  summary = json.loads((workdir / "seeds.json").read_text())
  assert summary["seeds"] == [0, 1]
  for name in ("uf1", "uar"):
    values = [runs[s]["metrics"][name] for s in (0, 1)]
    m = summary["metrics"][name]
    assert m["per_seed"] == values and m["mean"] == pytest.approx(np.mean(values))
    assert m["sd"] == pytest.approx(np.std(values, ddof=1))
    low, high = summary["metrics"]["interval_95"][name]
    assert low <= m["mean"] <= high
    d = summary["minus_floor"][name]
    assert d["per_seed"] == [runs[s]["floor"]["paired"][name]["difference"] for s in (0, 1)]
  p = runs[0]["predictions"]
  assert summary["metrics"]["interval_95"] == metrics.seeds_bootstrap(
      p["label"], [runs[s]["predictions"]["predicted"] for s in (0, 1)], p["subject"],
      len(runs[0]["classes"]))
  assert "over seeds 0,1: " in out and "UF1 " in out.split("over seeds 0,1: ")[1]
  with pytest.raises(ValueError, match=r"--seeds '0,x': expected seeds >= 0 joined by ','"):
    run.seeds_from_argv(["--seeds", "0,x"])
  assert run.seeds_from_argv(["--seeds", "3,1"]) == (3, 1) and run.seeds_from_argv([]) is None
