import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import optax
import pytest
from jax.sharding import Mesh

from mexp import checkpoints
from mexp import config as config_lib
from mexp import input_pipeline as pipeline
from mexp import models
from mexp import train

ROOT = Path(__file__).parent.parent
CONFIG = config_lib.Config(
    model=config_lib.ModelConfig(width_factor=1 / 32, shared_widths=(128,), dense=(16,), dropout=0.0),
    optim=config_lib.OptimConfig(epochs=2, batch_size=4, warmup_epochs=0, learning_rate=3e-3),
    augment=config_lib.AugmentConfig(flip=False, max_shift=0, max_time_shift=0),
    checkpoint_every=2)


def _clips(n=8, seed=0):
  rng = np.random.default_rng(seed)
  return pipeline.Clips(
      raw_NxTxHxWxC=rng.integers(0, 255, (n, 4, 8, 8, 1), dtype=np.uint8),
      saliency_NxTxHxWxS=rng.random((n, 4, 8, 8, 1)).astype(np.float16),
      label_N=(np.arange(n) % 3).astype(np.int32),
      subject_N=np.array([f"casme2/sub{i // 2:02d}" for i in range(n)]),
      clip_N=np.array([f"EP{i:02d}" for i in range(n)]), classes=("a", "b", "c"), dropped={},
      saliency_kind="median", apex_index_N=np.full(n, 2, np.int32))


def _tiny_batch_losses(steps: int) -> list[float]:
  """The training loss of each of `steps` steps on one fixed batch of 4, keys 0, 1, ..."""
  mesh = pipeline.data_mesh()
  clips = _clips()
  state = train.create_state(CONFIG, 3, clips, np.ones(3, np.float32), 10, jax.random.key(0))
  step, _ = train.compile_steps(mesh, CONFIG, "median")
  batch = pipeline.shard_batch(clips, np.arange(4), np.ones(4, np.float32), mesh)
  losses = []
  for i in range(steps):
    state, m = step(state, batch, jax.random.key(i))
    loss_n, _, count, _ = np.asarray(m["sums"])
    losses.append(loss_n / count)
  return losses


def test_train_steps_lower_the_loss_on_a_tiny_batch():
  losses = _tiny_batch_losses(8)
  assert losses[-1] < 0.7 * losses[0], losses


def test_golden_losses_of_three_steps():
  """The tiny model's first three training losses on a fixed batch, keys and 2 devices: a change
  to the model, the optimiser, the loss or the initialisation shows up here (update on purpose)."""
  losses = _tiny_batch_losses(3)
  np.testing.assert_allclose(losses, [1.2286687, 0.9923708, 0.9291672], rtol=2e-4)


def test_folds_share_one_compiled_step():
  # Each fold builds its own state (own weights, class weights, key); with as many steps per
  # epoch, the jitted steps must not compile again for it.
  mesh = pipeline.data_mesh()
  clips = _clips()
  step, evaluate = train.compile_steps(mesh, CONFIG, "median")
  batch = pipeline.shard_batch(clips, np.arange(4), np.ones(4, np.float32), mesh)
  sizes = []  # jit caches are shared with other tests' jits of the same function: count growth
  for fold in range(3):
    weights = np.array([1.0, 1.0 + fold, 0.5], np.float32)
    state = train.create_state(CONFIG, 3, clips, weights, 10, jax.random.key(fold))
    state = jax.device_put(state, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec()))
    state, _ = step(state, batch, jax.random.key(0))
    evaluate(state, batch)
    sizes.append((step._cache_size(), evaluate._cache_size()))
  assert sizes[1] == sizes[0] and sizes[2] == sizes[0], sizes


def test_weight_average_known_answer_and_used_to_predict():
  # ema <- d ema + (1 - d) params with d = min(decay, (1 + step) / (10 + step)); eval uses it.
  mesh = pipeline.data_mesh()
  clips = _clips()
  config = dataclasses.replace(CONFIG, optim=dataclasses.replace(CONFIG.optim, ema_decay=0.9))
  state = train.create_state(config, 3, clips, np.ones(3, np.float32), 10, jax.random.key(0))
  start = jax.tree.map(np.asarray, state.params)
  assert jax.tree.all(jax.tree.map(np.array_equal, start, jax.tree.map(np.asarray, state.ema_params)))
  step, evaluate = train.compile_steps(mesh, config, "median")
  batch = pipeline.shard_batch(clips, np.arange(4), np.ones(4, np.float32), mesh)
  state, _ = step(state, batch, jax.random.key(0))  # step 1: d = min(0.9, 2 / 11)
  d = 2 / 11
  want = jax.tree.map(lambda e, p: d * e + (1 - d) * np.asarray(p), start, state.params)
  got = jax.tree.map(np.asarray, state.ema_params)
  assert jax.tree.all(jax.tree.map(lambda a, b: np.allclose(a, b, atol=1e-6), want, got))
  assert not jax.tree.all(jax.tree.map(np.allclose, got, jax.tree.map(np.asarray, state.params)))
  averaged = np.asarray(evaluate(state, batch))
  last = np.asarray(evaluate(state.replace(ema_params=None), batch))
  only_ema = np.asarray(evaluate(state.replace(params=state.ema_params, ema_params=None), batch))
  np.testing.assert_allclose(averaged, only_ema, atol=1e-6)
  assert not np.allclose(averaged, last)
  off = train.create_state(CONFIG, 3, clips, np.ones(3, np.float32), 10, jax.random.key(0))
  assert off.ema_params is None and train.eval_params(off) is off.params


def test_train_step_sums_loss_correct_count_and_grad_norm():
  mesh = pipeline.data_mesh()
  clips = _clips()
  weights = np.array([1.0, 2.0, 0.5], np.float32)
  state = train.create_state(CONFIG, 3, clips, weights, 10, jax.random.key(0))
  mask = np.array([1, 1, 1, 0], np.float32)  # the last row is padding
  # The expected sums, from the parameters before the step (no dropout, no augmentation here).
  raw, sal = pipeline.to_float(clips.raw_NxTxHxWxC[:4], clips.saliency_NxTxHxWxS[:4])

  def loss_fn(params):
    logits = state.apply_fn({"params": params}, raw, sal, train=False)
    return train.weighted_xent(logits, clips.label_N[:4], weights, mask), logits

  (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  correct = np.sum((np.argmax(logits, -1) == clips.label_N[:4]) * mask)
  expected = [3 * float(loss), correct, 3, 3 * float(optax.tree.norm(grads))]
  step, _ = train.compile_steps(mesh, CONFIG, "median")
  _, m = step(state, pipeline.shard_batch(clips, np.arange(4), mask, mesh), jax.random.key(0))
  assert set(m) == {"sums"} and m["sums"].shape == (len(train.SUMS),)
  np.testing.assert_allclose(np.asarray(m["sums"]), expected, rtol=1e-4)


def test_epoch_record_known_answer():
  record = train.epoch_record(3, 12, np.array([6.0, 3.0, 4.0, 2.0]), 1e-3)
  assert record == {"epoch": 3, "step": 12, "train_loss": 1.5, "train_accuracy": 0.75,
                    "grad_norm": 0.5, "learning_rate": 1e-3}
  empty = train.epoch_record(1, 0, np.zeros(4), 0.0)  # no samples: no division by zero
  assert empty["train_loss"] == empty["train_accuracy"] == empty["grad_norm"] == 0.0


def test_weighted_nll_is_the_training_loss_on_probabilities():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(6, 3)).astype(np.float32)
  labels = np.array([0, 1, 2, 2, 1, 0])
  weights = np.array([1.0, 2.0, 0.5], np.float32)
  probs = np.asarray(jax.nn.softmax(logits, -1))
  xent = train.weighted_xent(logits, labels, weights, np.ones(6, np.float32))
  assert train.weighted_nll(probs, labels, weights) == pytest.approx(float(xent), rel=1e-5)
  uniform = np.full((6, 3), 1 / 3)
  assert train.weighted_nll(uniform, labels, weights) == pytest.approx(np.log(3), rel=1e-6)
  # Weights count: only class 1 weighs, so only rows 1 and 4 (p = 0.5 and 0.25) matter.
  probs = np.full((6, 3), 1 / 3)
  probs[1] = [0.25, 0.5, 0.25]
  probs[4] = [0.5, 0.25, 0.25]
  nll = train.weighted_nll(probs, labels, np.array([0.0, 1.0, 0.0]))
  assert nll == pytest.approx(-(np.log(0.5) + np.log(0.25)) / 2, rel=1e-6)


def _fit(mesh, tmp_path, name, config=CONFIG, clips=None, val=np.arange(0), progress=False, **kw):
  clips = _clips() if clips is None else clips
  steps = train.compile_steps(mesh, config, "median")
  return train.fit(config, clips, np.arange(8), val, tmp_path / name, 0, mesh, steps,
                   progress=progress, **kw)


def test_two_devices_give_the_same_parameters_as_one(tmp_path):
  assert jax.device_count() == 2  # conftest's fake CPU devices
  two, _ = _fit(pipeline.data_mesh(), tmp_path, "two")
  one, _ = _fit(Mesh(np.array(jax.devices()[:1]), ("data",)), tmp_path, "one")
  for a, b in zip(jax.tree_util.tree_leaves(two.params), jax.tree_util.tree_leaves(one.params)):
    np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-4)
  assert int(two.step) == int(one.step) == 4
  assert two.params["head"]["kernel"].sharding.is_fully_replicated


def test_orbax_round_trip_keeps_optimizer_state(tmp_path):
  mesh = pipeline.data_mesh()
  state, _ = _fit(mesh, tmp_path, "a")
  mngr = checkpoints.manager(tmp_path / "ckpt")
  checkpoints.save(mngr, 7, {"state": state, "epoch_sums": np.arange(4, dtype=np.float32)})
  fresh = train.create_state(CONFIG, 3, _clips(), np.ones(3, np.float32), 2, jax.random.key(9))
  target = jax.device_put({"state": fresh, "epoch_sums": np.zeros(4, np.float32)},
                          jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec()))
  restored, step = checkpoints.restore_latest(checkpoints.manager(tmp_path / "ckpt"), target)
  assert step == 7
  for part in ("params", "opt_state"):
    assert jax.tree_util.tree_structure(getattr(restored["state"], part)) == \
        jax.tree_util.tree_structure(getattr(state, part))
  for a, b in zip(jax.tree_util.tree_leaves(restored["state"]), jax.tree_util.tree_leaves(state)):
    np.testing.assert_array_equal(a, b)
  np.testing.assert_array_equal(restored["epoch_sums"], [0, 1, 2, 3])
  assert int(restored["state"].opt_state[1][0].count) == int(state.step)  # adam's step count


@pytest.mark.parametrize("ema_decay", [0.0, 0.9])  # the weight average is checkpointed too
def test_fit_resumes_to_the_same_result(tmp_path, ema_decay):
  mesh = pipeline.data_mesh()
  config = dataclasses.replace(CONFIG, optim=dataclasses.replace(CONFIG.optim, ema_decay=ema_decay))
  full, history = _fit(mesh, tmp_path, "full", config)
  _fit(mesh, tmp_path, "cut", config, stop_after_steps=2)  # as if killed after the step-2 checkpoint
  resumed, resumed_history = _fit(mesh, tmp_path, "cut", config)
  assert len(jax.tree_util.tree_leaves(full)) == len(jax.tree_util.tree_leaves(resumed))
  assert (full.ema_params is None) == (ema_decay == 0)
  for a, b in zip(jax.tree_util.tree_leaves(full), jax.tree_util.tree_leaves(resumed)):
    np.testing.assert_array_equal(a, b)
  assert history == resumed_history


def test_metrics_log_has_grad_norm_and_learning_rate(tmp_path, capsys):
  _, history = _fit(pipeline.data_mesh(), tmp_path, "log", progress=True)
  lines = [json.loads(x) for x in (tmp_path / "log" / "metrics.jsonl").read_text().splitlines()]
  assert lines == history and [h["step"] for h in lines] == [2, 4]
  for h in lines:
    assert set(h) == {"epoch", "step", "train_loss", "train_accuracy", "grad_norm",
                      "learning_rate"}
    assert np.isfinite(h["train_loss"]) and h["grad_norm"] > 0
  # Cosine decay from 3e-3 to 3e-5 over 4 steps, read at the epoch's last step (1, then 3).
  cosine = lambda k: 3e-3 * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * k / 4)))  # noqa: E731
  assert [h["learning_rate"] for h in lines] == pytest.approx([cosine(1), cosine(3)], rel=1e-5)
  # Not a terminal: one line per epoch instead of a progress bar.
  out = capsys.readouterr().out.splitlines()
  assert [line.split(":")[0] for line in out] == ["fold log epoch 1/2", "fold log epoch 2/2"]
  assert "grad_norm" in out[0] and "learning_rate" in out[0]


def test_validation_loss_is_class_weighted(tmp_path):
  mesh, clips, val = pipeline.data_mesh(), _clips(), np.arange(3)
  state, history = _fit(mesh, tmp_path, "val", val=val)
  _, evaluate = train.compile_steps(mesh, CONFIG, "median")
  probs = train.predict(evaluate, state, clips, val, 4, mesh)
  weights = pipeline.class_weights(clips.label_N, 3)  # training labels 0,1,2,0,1,2,0,1
  assert weights[2] > weights[0]
  assert history[-1]["val_loss"] == pytest.approx(
      train.weighted_nll(probs, clips.label_N[val], weights), rel=1e-5)
  unweighted = -np.mean(np.log(probs[np.arange(3), clips.label_N[val]]))
  assert history[-1]["val_loss"] != pytest.approx(unweighted, rel=1e-5)


def test_divergence_raises_non_finite_loss_error(tmp_path):
  mesh = pipeline.data_mesh()
  huge = dataclasses.replace(CONFIG, optim=dataclasses.replace(CONFIG.optim, learning_rate=1e30))
  with pytest.raises(train.NonFiniteLossError,
                     match=r"training loss is (nan|inf) at epoch 1; lower "
                     r"--config\.optim\.learning_rate"):
    _fit(mesh, tmp_path, "huge", config=huge)
  clips = _clips()
  sal = clips.saliency_NxTxHxWxS.copy()
  sal[3, 1, 2, 2] = np.nan
  with pytest.raises(train.NonFiniteLossError, match="epoch 1"):
    _fit(mesh, tmp_path, "nan", clips=dataclasses.replace(clips, saliency_NxTxHxWxS=sal))


def _experiment(tiny, workdir, script="tests/tiny_experiment.py", extra=()):
  manual_dir, data_dir = tiny
  return [sys.executable, script, "--manual_dir", str(manual_dir), "--data_dir", str(data_dir),
          "--workdir", str(workdir), *extra]


@pytest.mark.slow
def test_kill_minus_nine_then_rerun_equals_an_uninterrupted_run(tiny_casme2, tmp_path):
  env = {**os.environ, "PYTHONPATH": str(ROOT)}
  short = ("--config.optim.epochs=3", "--config.checkpoint_every=2")  # checkpoints 2, 4, 6, ...
  clean = subprocess.run(_experiment(tiny_casme2, tmp_path / "clean", extra=short), cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300)
  assert clean.returncode == 0, clean.stderr[-2000:]

  victim = subprocess.Popen(_experiment(tiny_casme2, tmp_path / "killed", extra=short), cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 240
  while time.time() < deadline:  # kill once the first fold has checkpoints at steps >= 4
    steps = [int(p.name) for p in (tmp_path / "killed").glob("fold_*/checkpoints/*")
             if p.name.isdigit()]
    if steps and max(steps) >= 4:
      break
    time.sleep(0.05)
  victim.send_signal(signal.SIGKILL)
  victim.wait()
  assert victim.returncode == -signal.SIGKILL
  assert not (tmp_path / "killed" / "results.json").exists()

  rerun = subprocess.run(_experiment(tiny_casme2, tmp_path / "killed", extra=short), cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300)
  assert rerun.returncode == 0, rerun.stderr[-2000:]
  a = json.loads((tmp_path / "clean" / "results.json").read_text())
  b = json.loads((tmp_path / "killed" / "results.json").read_text())
  assert a["metrics"] == b["metrics"]
  for fold in (tmp_path / "clean").glob("fold_*"):
    twin = tmp_path / "killed" / fold.name
    clean, resumed = (json.loads((f / "predictions.json").read_text()) for f in (fold, twin))
    assert clean.pop("seconds") > 0 and resumed.pop("seconds") > 0  # each fold's own time
    assert clean == resumed  # every prediction, to the last digit
    assert (fold / "metrics.jsonl").read_text() == (twin / "metrics.jsonl").read_text()


def test_two_stream_experiment_end_to_end(trained_workdir):
  workdir, args, result = trained_workdir
  assert "UF1" in result.stdout and "2-fold subject-wise CV" in result.stdout
  results = json.loads((workdir / "results.json").read_text())
  assert results["metrics"]["n"] == 12 and set(results["classes"]) >= {"happiness", "surprise"}
  assert results["protocol"].startswith("2-fold subject-wise CV (2 folds, 4 subjects, 12 clips)")
  assert results["model"]["parameters"] > 0 and results["model"]["forward_gflops_per_clip"] > 0
  assert results["floor"] is None  # median saliency: no flow for the linear probe
  assert "floor:    n/a (the linear probe needs a flow saliency" in result.stdout
  for name in ("confusion.png", "curves.png", "config.json"):
    assert (workdir / name).stat().st_size > 0
  assert list((workdir / "final" / "checkpoints").iterdir())  # the deployable all-subjects model
  # The same workdir with another config is refused, not mixed.
  again = subprocess.run(args[:-1] + ["--config.optim.batch_size=8"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
  assert again.returncode == 2 and "holds a run with another config" in again.stderr


def test_apex_uv_motion_path_is_checked_against_the_data():
  from mexp import evaluate
  model = config_lib.ModelConfig(motion_path_grid=2, motion_path_input="apex_uv")
  clips = _clips()  # median saliency: no u, v
  with pytest.raises(ValueError, match="reads the apex frame's flow: the saliency is 'median'"):
    evaluate.check_inputs(model, clips)
  flow = dataclasses.replace(clips, saliency_kind="ststnet")
  evaluate.check_inputs(model, flow)  # T = 4: every apex at index 2, the centre
  off = dataclasses.replace(flow, apex_index_N=np.array([2, 2, 2, 1, 2, 2, 2, 2], np.int32))
  with pytest.raises(ValueError, match=r"1 clip\(s\) have their apex elsewhere, first "
                                       r"casme2/sub01/EP03 at frame 1; use an apex-centred"):
    evaluate.check_inputs(model, off)
  evaluate.check_inputs(dataclasses.replace(model, motion_path_input="mean"), off)


def test_eye_mask_warns_about_faces_not_aligned_by_landmarks(capsys):
  from mexp import evaluate
  model = config_lib.ModelConfig(mask_eyes=True)
  clips = _clips()
  aligned = dataclasses.replace(clips, alignment_N=np.array(["landmarks"] * 8))
  evaluate.check_inputs(model, aligned)
  assert capsys.readouterr().err == ""
  haar = dataclasses.replace(clips, alignment_N=np.array(["landmarks"] * 5 + ["haar"] * 3))
  evaluate.check_inputs(dataclasses.replace(model, mask_eyes=False), haar)
  assert capsys.readouterr().err == ""
  evaluate.check_inputs(model, haar)
  err = capsys.readouterr().err
  assert "3 of 8 clips were aligned otherwise" in err
  assert f"first {clips.subject_N[5]}/{clips.clip_N[5]} (haar)" in err
  assert haar.take(np.array([5, 0])).alignment_N.tolist() == ["haar", "landmarks"]


@pytest.mark.parametrize("late_average,late_weights", [("probs", ()), ("log_probs", ()),
                                                       ("log_probs", (0.2, 0.8))])
def test_late_fusion_trains_each_stream_on_its_own_loss(late_average, late_weights):
  logits = jax.random.normal(jax.random.key(0), (4, 2, 3))
  label, mask = np.array([0, 1, 2, 1]), np.array([1.0, 1.0, 1.0, 0.0], np.float32)
  weights = np.array([1.0, 2.0, 0.5], np.float32)
  per_stream = [train.weighted_xent(logits[:, s], label, weights, mask) for s in range(2)]
  np.testing.assert_allclose(train.weighted_xent(logits, label, weights, mask),
                             np.mean(per_stream), rtol=1e-6)
  # A step reports the fused prediction's loss, which val_loss also reads.
  config = dataclasses.replace(CONFIG, model=dataclasses.replace(
      CONFIG.model, streams=("raw", "saliency"), fusion="late", late_average=late_average,
      late_weights=late_weights))
  mesh = pipeline.data_mesh()
  clips = _clips()
  state = train.create_state(config, 3, clips, np.ones(3, np.float32), 10, jax.random.key(0))
  step, evaluate = train.compile_steps(mesh, config, "median")
  batch = pipeline.shard_batch(clips, np.arange(4), np.ones(4, np.float32), mesh)
  probs = np.asarray(evaluate(state, batch))
  raw, sal = pipeline.to_float(clips.raw_NxTxHxWxC[:4], clips.saliency_NxTxHxWxS[:4])
  logits = state.apply_fn({"params": state.params}, raw, sal, train=False)
  np.testing.assert_allclose(probs, models.probabilities(logits, late_average, late_weights),
                             rtol=1e-5)
  _, m = step(state, batch, jax.random.key(1))
  loss_n, _, count, _ = np.asarray(m["sums"])
  np.testing.assert_allclose(loss_n / count, train.weighted_nll(probs, clips.label_N[:4],
                                                                np.ones(3, np.float32)), rtol=1e-4)


def test_diverged_parameters_are_caught_when_the_loss_still_looks_finite(tmp_path):
  """One step at a huge rate: the loss (measured before the update) is finite, the parameters
  after it are not usable, and no prediction made with them gets through."""
  mesh = pipeline.data_mesh()
  huge = dataclasses.replace(CONFIG, optim=dataclasses.replace(
      CONFIG.optim, learning_rate=1e30, epochs=1, batch_size=8))
  state, history = _fit(mesh, tmp_path, "one_step", config=huge)
  assert np.isfinite(history[-1]["train_loss"])  # what the former check read
  _, evaluate = train.compile_steps(mesh, huge, "median")
  with pytest.raises(train.NonFiniteLossError, match=r"fold_x: \d+ of 8 clips have non-finite "
                     "probabilities .*lower --config.optim.learning_rate"):
    train.predict(evaluate, state, _clips(), np.arange(8), 4, mesh, "fold_x")


def test_parameters_left_non_finite_by_the_last_step_stop_the_fit(tmp_path):
  """A rate past float32's range: the one step's loss is finite, its update is not."""
  huge = dataclasses.replace(CONFIG, optim=dataclasses.replace(
      CONFIG.optim, learning_rate=1e39, epochs=1, batch_size=8))
  with pytest.raises(train.NonFiniteLossError, match=r"inf: non-finite values in \['.*'\]\['.*'\] "
                     r"at step 1; lower --config.optim.learning_rate"):
    _fit(pipeline.data_mesh(), tmp_path, "inf", config=huge)
  assert not (tmp_path / "inf" / "checkpoints" / "1").exists()  # nothing saved from it
