"""Multi-process runs: flags, the one-writer rule, and 2 processes (gloo on localhost) == 1."""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

import tiny_experiment
from mexp import distributed, run

ROOT = Path(__file__).parent.parent


def _args(**kw):
  parser = argparse.ArgumentParser()
  distributed.add_flags(parser)
  return parser.parse_args([f"--{k}={v}" for k, v in kw.items()])


def test_launch_from_flags_then_environment():
  assert not distributed.launch_from(_args(), environ={}).multi
  flags = distributed.launch_from(_args(coordinator_address="h:1", num_processes=2, process_id=1),
                                  environ={})
  assert flags == distributed.Launch("h:1", 2, 1) and flags.multi
  env = {"JAX_COORDINATOR_ADDRESS": "h:2", "JAX_NUM_PROCESSES": "4", "JAX_PROCESS_ID": "3"}
  assert distributed.launch_from(_args(), environ=env) == distributed.Launch("h:2", 4, 3)
  assert distributed.launch_from(_args(process_id=0), environ=env).process_id == 0  # flag wins
  auto = distributed.launch_from(argparse.Namespace(distributed_auto=True), environ={})
  assert auto.auto and auto.multi


@pytest.mark.parametrize("kw,environ,message", [
    ({"num_processes": 2}, {}, "missing --coordinator_address, --process_id"),
    ({"coordinator_address": "h:1", "num_processes": 2, "process_id": 2}, {},
     r"--process_id 2: must be in 0..1"),
    ({}, {"JAX_NUM_PROCESSES": "two"}, r"\$JAX_NUM_PROCESSES 'two': expected an integer"),
    ({"coordinator_address": "localhost", "num_processes": 2, "process_id": 0}, {},
     r"--coordinator_address 'localhost': expected host:port"),
    ({"coordinator_address": "127.0.0.1:notaport", "num_processes": 2, "process_id": 0}, {},
     r"--coordinator_address '127.0.0.1:notaport': expected host:port"),
    ({"coordinator_address": "h:70000", "num_processes": 2, "process_id": 0}, {},
     r"--coordinator_address 'h:70000': expected host:port"),
    ({"distributed_timeout": 0}, {}, r"--distributed_timeout 0: must be a whole number"),
])
def test_launch_errors_name_the_flag(kw, environ, message):
  with pytest.raises(ValueError, match=message):
    distributed.launch_from(_args(**kw), environ=environ)


def test_distributed_auto_outside_a_cluster_says_what_it_looked_for(monkeypatch):
  for var in ("SLURM_JOB_ID", "OMPI_MCA_orte_hnp_uri", "OMPI_COMM_WORLD_SIZE", "PMI_RANK",
              "TPU_WORKER_HOSTNAMES", "KUBERNETES_SERVICE_HOST", "JOBSET_NAME"):
    monkeypatch.delenv(var, raising=False)
  with pytest.raises(ValueError, match=r"--distributed_auto: no cluster found \(looked for "
                                       r".*Slurm.*\); give --coordinator_address"):
    distributed.initialize(distributed.Launch(auto=True))


def _processes(argvs, timeout=120):
  """Runs tests/tiny_experiment.py once per argv, with 1 CPU device each; (codes, stderrs)."""
  env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu",
         "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}
  procs = [subprocess.Popen([sys.executable, "tests/tiny_experiment.py", *argv], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
           for argv in argvs]
  try:
    outs = [p.communicate(timeout=timeout) for p in procs]
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  return [p.returncode for p in procs], [err for _, err in outs]


def _launch(port, count, *ids, timeout=3):
  return [["--workdir", "unused", "--coordinator_address", f"127.0.0.1:{port}", "--num_processes",
           str(count), "--process_id", str(i), "--distributed_timeout", str(timeout)] for i in ids]


@pytest.mark.slow
def test_start_up_failures_are_one_line_within_the_timeout(tmp_path):
  port = _free_port()
  start = time.time()
  codes, errs = _processes(_launch(port, 3, 0, 2))  # process 1 never comes
  assert codes == [2, 2] and time.time() - start < 60, [e[-1500:] for e in errs]
  assert errs[0].strip().splitlines()[-1] == (
      f"error: 127.0.0.1:{port}: process(es) 1 did not join within 3 s (--distributed_timeout)")
  assert errs[1].strip().splitlines()[-1].startswith(
      f"error: 127.0.0.1:{port}: not every process joined within 3 s (this is process 2;")
  (code,), (err,) = _processes(_launch(_free_port(), 2, 1))  # nobody listening
  assert code == 2 and "process 0 did not answer within 3 s (this is process 1)" in err
  port = _free_port()
  codes, errs = _processes(_launch(port, 3, 0, 1, 1))  # the same id twice
  assert codes == [2, 2, 2] and all(
      f"127.0.0.1:{port}: --process_id 1 was given to two processes" in e
      or "not every process joined" in e for e in errs), [e[-800:] for e in errs]
  assert sum("given to two processes" in e for e in errs) >= 2
  assert not Path("unused").exists()


@pytest.mark.slow
def test_processes_given_different_configs_stop_before_writing(tmp_path):
  port = _free_port()
  common = ["--workdir", str(tmp_path / "w"), "--coordinator_address", f"127.0.0.1:{port}",
            "--num_processes", "2"]
  codes, errs = _processes([common + ["--process_id", "0", "--config.optim.learning_rate", "0.01"],
                            common + ["--process_id", "1", "--config.optim.learning_rate", "0.02",
                                      "--config.seed", "3"]])
  assert codes == [2, 2], [e[-1500:] for e in errs]
  for err in errs:
    assert err.strip().splitlines()[-1] == (
        "error: the 2 processes were given different configs (optim.learning_rate, seed); start "
        "every process with the same flags")
  assert not (tmp_path / "w").exists()


def test_bad_launch_flags_are_one_line_errors(capsys, tmp_path):
  code = run.main(tiny_experiment.get_config, ["--workdir", str(tmp_path / "w"),
                                               "--num_processes", "2"])
  err = capsys.readouterr().err
  assert code == 2 and err.startswith("error: a multi-process run needs") and err.count("\n") == 1
  assert not (tmp_path / "w").exists()


def _argv(tiny, workdir):
  manual_dir, data_dir = tiny
  return ["--manual_dir", str(manual_dir), "--data_dir", str(data_dir), "--workdir", str(workdir),
          "--config.optim.epochs", "2", "--config.checkpoint_every", "3"]  # checkpoints 3, 6


def test_a_non_writer_writes_no_workdir_file(tiny_casme2, tmp_path, monkeypatch):
  monkeypatch.setattr(distributed, "is_writer", lambda: False)
  workdir = tmp_path / "w"
  assert run.main(tiny_experiment.get_config, _argv(tiny_casme2, workdir)) == 0
  written = [p.relative_to(workdir).as_posix() for p in workdir.rglob("*") if p.is_file()]
  assert written and all("/checkpoints/" in p for p in written), written  # Orbax's: collective


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _two_processes(tiny, workdir, kill_at_step=None):
  """Launches process 0 and 1 of one run on localhost; kills both (SIGKILL) at a checkpoint."""
  port = _free_port()
  env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu",
         "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}
  procs = [subprocess.Popen(
      [sys.executable, "tests/tiny_experiment.py", *_argv(tiny, workdir),
       "--coordinator_address", f"127.0.0.1:{port}", "--num_processes", "2",
       "--process_id", str(i)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
      stderr=subprocess.PIPE, text=True) for i in range(2)]
  try:
    if kill_at_step is not None:
      deadline = time.time() + 240
      while time.time() < deadline and all(p.poll() is None for p in procs):
        steps = [int(p.name) for p in workdir.glob("fold_*/checkpoints/*") if p.name.isdigit()]
        if steps and max(steps) >= kill_at_step:
          break
        time.sleep(0.05)
      for p in procs:
        p.send_signal(signal.SIGKILL)
    outs = [p.communicate(timeout=300) for p in procs]
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  return [p.returncode for p in procs], outs


@pytest.mark.slow
def test_two_processes_resume_after_kill_and_equal_one_process(tiny_casme2, tmp_path):
  one = tmp_path / "one"  # this pytest process: 2 virtual devices, 1 process
  assert run.main(tiny_experiment.get_config, _argv(tiny_casme2, one)) == 0

  two = tmp_path / "two"
  codes, _ = _two_processes(tiny_casme2, two, kill_at_step=3)
  assert codes == [-signal.SIGKILL] * 2 and not (two / "results.json").exists()
  codes, outs = _two_processes(tiny_casme2, two)
  assert codes == [0, 0], [err[-1500:] for _, err in outs]
  assert "UF1" in outs[0][0] and "UF1" not in outs[1][0]  # one report, by process 0

  a, b = (json.loads((d / "results.json").read_text()) for d in (one, two))
  assert a["metrics"] == b["metrics"] and b["processes"] == 2
  for fold in a["folds"]:
    pa, pb = (json.loads((d / f"fold_{fold['name']}" / "predictions.json").read_text())
              for d in (one, two))
    assert pa["clip"] == pb["clip"]
    np.testing.assert_allclose(pa["probabilities"], pb["probabilities"], atol=1e-5)
    la, lb = ([json.loads(x) for x in (d / f"fold_{fold['name']}" / "metrics.jsonl").read_text()
               .splitlines()] for d in (one, two))
    np.testing.assert_allclose([r["train_loss"] for r in la], [r["train_loss"] for r in lb],
                               rtol=1e-5)
  # The same parameters at the end of the last fold.
  from mexp import input_pipeline, train
  config, _ = run.config_from_argv(tiny_experiment.get_config, _argv(tiny_casme2, one))
  clips, mesh = input_pipeline.load(config.data), input_pipeline.data_mesh()
  fold = f"fold_{a['folds'][-1]['name']}/checkpoints"
  pa, pb = (train.restore_state(config, clips, d / fold, mesh).params for d in (one, two))
  jax.tree_util.tree_map(lambda x, y: np.testing.assert_allclose(x, y, atol=1e-6), pa, pb)
