import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest
from jax.sharding import Mesh

from mexp import checkpoints
from mexp import config as config_lib
from mexp import input_pipeline as pipeline
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
      saliency_NxTxHxWxS=rng.integers(0, 255, (n, 4, 8, 8, 1), dtype=np.uint8),
      label_N=(np.arange(n) % 3).astype(np.int32),
      subject_N=np.array([f"casme2/sub{i // 2:02d}" for i in range(n)]),
      clip_N=np.array([f"EP{i:02d}" for i in range(n)]), classes=("a", "b", "c"), dropped={},
      saliency_kind="median")


def test_train_steps_lower_the_loss_on_a_tiny_batch():
  mesh = pipeline.data_mesh()
  clips = _clips()
  state = train.create_state(CONFIG, 3, clips, np.ones(3, np.float32), 10, jax.random.key(0))
  step, _ = train.compile_steps(mesh, CONFIG, "median")
  batch = pipeline.shard_batch(clips, np.arange(4), np.ones(4, np.float32), mesh)
  losses = []
  for i in range(8):
    state, m = step(state, batch, jax.random.key(i))
    losses.append(float(m["loss"]))
  assert losses[-1] < 0.7 * losses[0], losses


def _fit(mesh, tmp_path, name, **kw):
  clips = _clips()
  steps = train.compile_steps(mesh, CONFIG, "median")
  return train.fit(CONFIG, clips, np.arange(8), np.arange(0), tmp_path / name, 0, mesh, steps,
                   progress=False, **kw)


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
  checkpoints.save(mngr, 7, {"state": state, "epoch_sums": np.arange(3, dtype=np.float32)})
  fresh = train.create_state(CONFIG, 3, _clips(), np.ones(3, np.float32), 2, jax.random.key(9))
  target = jax.device_put({"state": fresh, "epoch_sums": np.zeros(3, np.float32)},
                          jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec()))
  restored, step = checkpoints.restore_latest(checkpoints.manager(tmp_path / "ckpt"), target)
  assert step == 7
  for part in ("params", "opt_state"):
    assert jax.tree_util.tree_structure(getattr(restored["state"], part)) == \
        jax.tree_util.tree_structure(getattr(state, part))
  for a, b in zip(jax.tree_util.tree_leaves(restored["state"]), jax.tree_util.tree_leaves(state)):
    np.testing.assert_array_equal(a, b)
  np.testing.assert_array_equal(restored["epoch_sums"], [0, 1, 2])
  assert int(restored["state"].opt_state[1][0].count) == int(state.step)  # adam's step count


def test_fit_resumes_to_the_same_result(tmp_path):
  mesh = pipeline.data_mesh()
  full, history = _fit(mesh, tmp_path, "full")
  _fit(mesh, tmp_path, "cut", stop_after_steps=2)  # as if killed after the step-2 checkpoint
  resumed, resumed_history = _fit(mesh, tmp_path, "cut")
  for a, b in zip(jax.tree_util.tree_leaves(full), jax.tree_util.tree_leaves(resumed)):
    np.testing.assert_array_equal(a, b)
  assert history == resumed_history


def _experiment(tiny, workdir, script="tests/tiny_experiment.py", extra=()):
  manual_dir, data_dir = tiny
  return [sys.executable, script, "--manual_dir", str(manual_dir), "--data_dir", str(data_dir),
          "--workdir", str(workdir), *extra]


def test_kill_minus_nine_then_rerun_equals_an_uninterrupted_run(tiny_casme2, tmp_path):
  env = {**os.environ, "PYTHONPATH": str(ROOT)}
  clean = subprocess.run(_experiment(tiny_casme2, tmp_path / "clean"), cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
  assert clean.returncode == 0, clean.stderr[-2000:]

  victim = subprocess.Popen(_experiment(tiny_casme2, tmp_path / "killed"), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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

  rerun = subprocess.run(_experiment(tiny_casme2, tmp_path / "killed"), cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
  assert rerun.returncode == 0, rerun.stderr[-2000:]
  a = json.loads((tmp_path / "clean" / "results.json").read_text())
  b = json.loads((tmp_path / "killed" / "results.json").read_text())
  assert a["metrics"] == b["metrics"]
  for fold in (tmp_path / "clean").glob("fold_*"):
    twin = tmp_path / "killed" / fold.name
    assert (fold / "predictions.json").read_text() == (twin / "predictions.json").read_text()
    assert (fold / "metrics.jsonl").read_text() == (twin / "metrics.jsonl").read_text()


def test_two_stream_experiment_end_to_end(trained_workdir):
  workdir, args, result = trained_workdir
  assert "UF1" in result.stdout and "2-fold subject-wise CV" in result.stdout
  results = json.loads((workdir / "results.json").read_text())
  assert results["metrics"]["n"] == 12 and set(results["classes"]) >= {"happiness", "surprise"}
  assert results["protocol"].startswith("2-fold subject-wise CV (2 folds, 4 subjects, 12 clips)")
  assert results["model"]["parameters"] > 0 and results["model"]["forward_gflops_per_clip"] > 0
  for name in ("confusion.png", "curves.png", "config.json"):
    assert (workdir / name).stat().st_size > 0
  assert list((workdir / "final" / "checkpoints").iterdir())  # the deployable all-subjects model
  # The same workdir with another config is refused, not mixed.
  again = subprocess.run(args[:-1] + ["8"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
  assert again.returncode == 2 and "holds a run with another config" in again.stderr
