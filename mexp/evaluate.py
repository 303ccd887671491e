"""Subject-wise cross-validation: folds -> a fit per fold -> pooled predictions (mexp.report
turns them into numbers with their protocol)."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import jax
import numpy as np

from mexp import baselines
from mexp import config as config_lib
from mexp import input_pipeline as pipeline
from mexp import folds as folds_lib
from mexp import distributed, models, pages, report, train
from mexp.io import files
from mexp.preprocess.motion import FLOW_KINDS


class WorkdirMismatchError(ValueError):
  """The workdir holds a run made with another config, or a config.json that cannot be read."""


def check_workdir(config: config_lib.Config) -> Path:
  """Creates the workdir with config.json, or checks that the run there is this one.

  Only what defines the run counts: a workdir that was moved or copied resumes where it now lives.
  Call it once the config is valid (config.validate, folds.make_folds): it is a run's first write.
  """
  workdir = Path(config.workdir)
  saved = workdir / "config.json"
  if not saved.exists():
    workdir.mkdir(parents=True, exist_ok=True)
    report.write_json(saved, json.loads(json.dumps(dataclasses.asdict(config))))
    return workdir
  try:
    previous = config_lib.from_dict(json.loads(saved.read_text()))
  except ValueError as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors too
    raise WorkdirMismatchError(f"{saved}: {str(e).splitlines()[0]}; fix it, or choose another "
                               "--workdir") from None
  changed = config_lib.differences(previous, config)
  if changed:
    raise WorkdirMismatchError(f"{workdir} holds a run with another config ({'; '.join(changed)}); "
                               "choose another --workdir")
  return workdir


def model_stats(config: config_lib.Config, clips: pipeline.Clips) -> dict:
  """Parameter count and forward GFLOPs per clip of the configured model on these clips."""
  model = models.build(config.model, len(clips.classes))
  # Shapes only (jax.eval_shape): counting and costing the model compiles nothing.
  raw, sal = (jax.ShapeDtypeStruct((1,) + x.shape[1:], np.float32)
              for x in (clips.raw_NxTxHxWxC, clips.saliency_NxTxHxWxS))
  variables = jax.eval_shape(lambda r, s: model.init(jax.random.key(0), r, s, train=False),
                             raw, sal)
  # Trainable parameters (BatchNorm's running statistics aside).
  return {"parameters": models.parameter_count(variables["params"]),
          "forward_gflops_per_clip": round(models.forward_gflops(model, variables, raw, sal), 4),
          "input_raw": list(clips.raw_NxTxHxWxC.shape[1:]),
          "input_saliency": list(clips.saliency_NxTxHxWxS.shape[1:])}


def check_inputs(model: config_lib.ModelConfig, clips: pipeline.Clips) -> None:
  """A motion path on 'apex_uv' and the published baselines need flow maps whose centre frame is
  every clip's apex (STSTNet: with strain); an eye mask, faces aligned by landmarks (otherwise a
  warning names the first other clip)."""
  if model.mask_eyes and clips.alignment_N is not None and distributed.is_writer():
    off = np.flatnonzero(clips.alignment_N != "landmarks")
    if off.size:
      i = off[0]
      print(f"warning: mask_eyes masks where landmark alignment puts the eyes, but {off.size} of "
            f"{len(clips.alignment_N)} clips were aligned otherwise, first {clips.subject_N[i]}/"
            f"{clips.clip_N[i]} ({clips.alignment_N[i]}): their eyes may sit partly outside "
            "the boxes", file=sys.stderr)
  if model.arch != "two_stream":
    reader, kinds = f"model.arch {model.arch!r}", ("ststnet",) if model.arch == "ststnet" \
        else FLOW_KINDS
  elif model.motion_path_grid and model.motion_path_input == "apex_uv":
    reader, kinds = "motion_path_input 'apex_uv'", FLOW_KINDS
  else:
    return
  if clips.saliency_kind not in kinds:
    raise ValueError(f"{reader} reads the apex frame's flow: the saliency is "
                     f"{clips.saliency_kind!r}, not {' or '.join(kinds)}")
  centre = clips.saliency_NxTxHxWxS.shape[1] // 2
  off = np.flatnonzero(clips.apex_index_N != centre)
  if off.size:
    i = off[0]
    raise ValueError(f"{reader} reads the centre frame ({centre}), but "
                     f"{off.size} clip(s) have their apex elsewhere, first {clips.subject_N[i]}/"
                     f"{clips.clip_N[i]} at frame {clips.apex_index_N[i]}; use an apex-centred "
                     "builder config (one with '_apex' in its name)")


def cross_validate(config: config_lib.Config, clips: pipeline.Clips, *,
                   progress: bool = True) -> dict:
  """Runs (or resumes) every fold, then pools predictions and writes results.json and plots.

  Folds with predictions.json are finished and are not retrained; a fold that was interrupted
  resumes from its latest checkpoint.

  Returns:
    The results dict also written to workdir/results.json.
  """
  mesh = pipeline.data_mesh()
  config_lib.validate(config, mesh.size)
  check_inputs(config.model, clips)
  folds = folds_lib.folds_for(config.data, clips.subject_N, config.seed)
  writer = distributed.is_writer()  # process 0 writes the files; every process trains
  workdir = _checked_workdir(config, writer)  # written only once the run is valid
  steps = train.compile_steps(mesh, config, clips.saliency_kind)
  stats = model_stats(config, clips)
  progress = progress and writer
  if progress:
    print(f"model: {stats['parameters']:,} parameters, {stats['forward_gflops_per_clip']} forward "
          f"GFLOPs/clip; {len(folds)} folds on {mesh.size} {jax.default_backend()} device(s)"
          + (f" in {jax.process_count()} processes" if jax.process_count() > 1 else ""))
  start = time.time()
  histories, rows = {}, []
  # The published baselines read the apex (centre, checked above) frame only.
  inputs = clips.centre_frame() if models.reads_centre_frame(config.model) else clips
  for number, fold in enumerate(folds):
    fold_dir = workdir / f"fold_{fold.name}"
    fold_dir.mkdir(parents=True, exist_ok=True)
    done = fold_dir / "predictions.json"
    if not distributed.agree(writer and done.exists()):
      fold_start = time.time()
      try:
        state, _ = train.fit(config, inputs, fold.train, fold.val, fold_dir, number, mesh, steps,
                             progress=progress)
      except jax.errors.JaxRuntimeError as e:
        _out_of_memory(e, config, workdir, writer)
        raise
      test_batch = pipeline.fit_batch(config.optim.batch_size, len(fold.test), mesh.size)
      probs = train.predict(steps[1], state, inputs, fold.test, test_batch, mesh, fold_dir.name)
      if writer:
        report.write_json(done, {"clip": clips.clip_N[fold.test].tolist(),
                           "subject": clips.subject_N[fold.test].tolist(),
                           "label": clips.label_N[fold.test].tolist(),
                           "probabilities": probs.tolist(),
                           # training + test prediction, as timed by the run that finished it
                           "seconds": round(time.time() - fold_start, 1)})
    if writer:
      histories[fold.name] = [json.loads(line) for line in
                              (fold_dir / "metrics.jsonl").read_text().splitlines()]
      rows.append(json.loads(done.read_text()))
  # Every subject (cross-database: of the training databases only); none when tuning.
  if config.final_model and config.data.score_on == "test":
    everyone = (np.sort(np.r_[folds[0].train, folds[0].val])
                if config_lib.test_datasets_of(config.data) else np.arange(len(clips.label_N)))
    final_dir = workdir / "final"
    final_dir.mkdir(parents=True, exist_ok=True)
    train.fit(config, inputs, everyone, everyone[:0], final_dir, len(folds), mesh, steps,
              progress=progress)
  if not writer:
    return {}

  text = report.protocol(config, clips, len(folds), folds=folds)
  results = report.results(config, clips, folds, rows, text, histories)
  results["model"] = stats
  results["final_model"] = ("final/checkpoints (all subjects)"
                            if config.final_model and config.data.score_on == "test" else None)
  results["floor"] = floor(config, clips, folds, rows)
  results["seconds_this_run"] = round(time.time() - start, 1)  # a rerun of a finished run: ~0
  # The folds' own times, which a rerun leaves alone (None where a fold predates them).
  fold_seconds = [row.get("seconds") for row in rows]
  results["seconds_folds"] = (None if None in fold_seconds
                              else round(float(sum(fold_seconds)), 1))
  if jax.process_count() > 1:
    results["processes"] = jax.process_count()
  report.write_json(workdir / "results.json", results)
  pages.recognition(results, rows, clips, workdir)
  return results


def _out_of_memory(error: Exception, config: config_lib.Config, workdir: Path,
                   writer: bool) -> None:
  """A ValueError naming the batch size for a device out of memory; when nothing was trained
  yet, the workdir is removed again, so that the corrected command starts there."""
  text = str(error)
  if "RESOURCE_EXHAUSTED" not in text and "Out of memory" not in text:
    return
  trained = any(p.name.isdigit() for p in workdir.glob("fold_*/checkpoints/*"))
  if writer and not trained:  # config.json and empty folders: what this run wrote
    (workdir / "config.json").unlink(missing_ok=True)
    for path in sorted(workdir.rglob("*"), key=lambda p: len(p.parts), reverse=True) + [workdir]:
      if path.is_dir() and not any(path.iterdir()):
        path.rmdir()
  first = next((line for line in text.splitlines() if "memory" in line.lower()), text)[:160]
  raise ValueError(f"--config.optim.batch_size {config.optim.batch_size}: the device ran out of "
                   f"memory ({first.strip()}); lower it" + ("" if trained else
                   f" (nothing was trained: {workdir}/config.json was removed)")) from None


def _checked_workdir(config: config_lib.Config, writer: bool) -> Path:
  """check_workdir on process 0; the others learn whether it passed."""
  error = None
  if writer:
    try:
      check_workdir(config)
    except (WorkdirMismatchError, OSError) as e:
      error = e
  if not distributed.agree(error is None):
    raise error or WorkdirMismatchError(f"{config.workdir}: process 0 refused the workdir "
                                        "(its output says why)")
  return Path(config.workdir)


def floor(config: config_lib.Config, clips: pipeline.Clips, folds,
          deep_rows: list[dict] | None = None) -> dict | None:
  """The linear probe on the same folds: protocol, pooled metrics and, beside a deep model's
  rows, the paired difference on the same test clips; None without flow."""
  if not baselines.applies(config.probe, clips.saliency_kind):
    return None
  rows = baselines.cross_validate(config.probe, clips, folds)
  out = {"protocol": report.protocol(config, clips, len(folds),
                                     baselines.description(config.probe), folds),
         "metrics": report.pooled(rows, clips.classes)}
  if deep_rows:
    out["paired"] = report.paired(deep_rows, rows, clips.classes)
  return out


def probe_only(config: config_lib.Config, clips: pipeline.Clips) -> dict:
  """The floor on its own (experiments/linear_probe.py): results.json in the same format."""
  config_lib.validate(config)
  folds = folds_lib.folds_for(config.data, clips.subject_N, config.seed)
  rows = baselines.cross_validate(config.probe, clips, folds)  # refuses a non-flow saliency
  workdir = check_workdir(config)  # written only once the run is valid
  text = report.protocol(config, clips, len(folds), baselines.description(config.probe), folds)
  results = report.results(config, clips, folds, rows, text)
  report.write_json(workdir / "results.json", results)
  pages.recognition(results, rows, clips, workdir)
  return results
