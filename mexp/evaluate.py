"""Subject-wise cross-validation: fit each fold, pool test predictions, report with the protocol."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import jax
import numpy as np

from mexp import baselines
from mexp import config as config_lib
from mexp import input_pipeline as pipeline
from mexp import folds as folds_lib
from mexp import distributed, metrics, models, plots, train
from mexp.io import files


class WorkdirMismatchError(ValueError):
  """The workdir holds a run made with another config, or a config.json that cannot be read."""


def _write_json(path: Path, obj) -> None:
  files.write_text_atomic(path, json.dumps(obj, indent=1))


def check_workdir(config: config_lib.Config) -> Path:
  """Creates the workdir with config.json, or checks that the run there is this one.

  Only what defines the run counts: a workdir that was moved or copied resumes where it now lives.
  Call it once the config is valid (config.validate, folds.make_folds): it is a run's first write.
  """
  workdir = Path(config.workdir)
  saved = workdir / "config.json"
  if not saved.exists():
    workdir.mkdir(parents=True, exist_ok=True)
    _write_json(saved, json.loads(json.dumps(dataclasses.asdict(config))))
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


def protocol(config: config_lib.Config, clips: pipeline.Clips, n_folds: int,
             method: str | None = None) -> str:
  """How every number of a run was obtained: folds, data, task, method and model selection."""
  folds = "LOSO" if config.data.folds == "loso" else f"{config.data.folds}-fold subject-wise"
  subjects = len(set(clips.subject_N.tolist()))
  val = (f", {config.data.val_subjects} validation subject(s) per fold from the training side"
         if config.data.val_subjects else "")
  method = method or (f"fixed schedule of {config.optim.epochs} epochs, no model selection on "
                      f"test subjects{val}")
  return (f"{folds} CV ({n_folds} folds, {subjects} subjects, {len(clips.label_N)} clips), "
          f"{config.data.dataset}/{config.data.builder_config}, task {config.data.task} "
          f"({len(clips.classes)} classes), {method}, test predictions pooled over folds")


def model_stats(config: config_lib.Config, clips: pipeline.Clips) -> dict:
  """Parameter count and forward GFLOPs per clip of the configured model on these clips."""
  model = models.TwoStream3DCNN(config.model, len(clips.classes))
  raw, sal = pipeline.to_float(clips.raw_NxTxHxWxC[:1], clips.saliency_NxTxHxWxS[:1])
  params = model.init(jax.random.key(0), raw, sal, train=False)["params"]
  return {"parameters": models.parameter_count(params),
          "forward_gflops_per_clip": round(models.forward_gflops(model, params, raw, sal), 4),
          "input_raw": list(clips.raw_NxTxHxWxC.shape[1:]),
          "input_saliency": list(clips.saliency_NxTxHxWxS.shape[1:])}


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
  folds = folds_lib.make_folds(clips.subject_N, config.data.folds,
                               val_subjects=config.data.val_subjects, seed=config.seed)
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
  for number, fold in enumerate(folds):
    fold_dir = workdir / f"fold_{fold.name}"
    fold_dir.mkdir(parents=True, exist_ok=True)
    done = fold_dir / "predictions.json"
    if not distributed.agree(writer and done.exists()):
      state, _ = train.fit(config, clips, fold.train, fold.val, fold_dir, number, mesh, steps,
                           progress=progress)
      probs = train.predict(steps[1], state, clips, fold.test, config.optim.batch_size, mesh)
      if writer:
        _write_json(done, {"clip": clips.clip_N[fold.test].tolist(),
                           "subject": clips.subject_N[fold.test].tolist(),
                           "label": clips.label_N[fold.test].tolist(),
                           "probabilities": probs.tolist()})
    if writer:
      histories[fold.name] = [json.loads(line) for line in
                              (fold_dir / "metrics.jsonl").read_text().splitlines()]
      rows.append(json.loads(done.read_text()))
  if config.final_model:
    everyone = np.arange(len(clips.label_N))
    final_dir = workdir / "final"
    final_dir.mkdir(parents=True, exist_ok=True)
    train.fit(config, clips, everyone, everyone[:0], final_dir, len(folds), mesh, steps,
              progress=progress)
  if not writer:
    return {}

  results = report(config, clips, folds, rows, protocol(config, clips, len(folds)), histories)
  results["model"] = stats
  results["final_model"] = "final/checkpoints (all subjects)" if config.final_model else None
  results["floor"] = floor(config, clips, folds)
  results["seconds_this_run"] = round(time.time() - start, 1)
  if jax.process_count() > 1:
    results["processes"] = jax.process_count()
  _write_json(workdir / "results.json", results)
  return results


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


def _pooled(rows: list[dict], classes) -> dict:
  true = np.concatenate([r["label"] for r in rows])
  pred = np.concatenate([np.argmax(np.asarray(r["probabilities"]), 1) for r in rows])
  subjects = np.concatenate([r["subject"] for r in rows])
  return metrics.summarise(true, pred, subjects, classes)


def floor(config: config_lib.Config, clips: pipeline.Clips, folds) -> dict | None:
  """The linear probe on the same folds: protocol and pooled metrics; None without flow."""
  if not baselines.applies(clips.saliency_kind):
    return None
  rows = baselines.cross_validate(config.probe, clips, folds)
  return {"protocol": protocol(config, clips, len(folds), baselines.description(config.probe)),
          "metrics": _pooled(rows, clips.classes)}


def report(config: config_lib.Config, clips: pipeline.Clips, folds, rows: list[dict],
           text: str, histories: dict | None = None) -> dict:
  """Pooled metrics of per-fold test predictions, written with confusion.png (and curves.png)."""
  workdir = Path(config.workdir)
  summary = _pooled(rows, clips.classes)
  plots.confusion(workdir / "confusion.png", summary["confusion"], clips.classes, text)
  if histories:
    plots.curves(workdir / "curves.png", histories, text)
  return {
      "protocol": text, "task": config.data.task, "classes": list(clips.classes),
      "dropped_by_task": clips.dropped, "config": dataclasses.asdict(config), "metrics": summary,
      "folds": [{"name": f.name, "test_subjects": sorted(set(clips.subject_N[f.test].tolist())),
                 "n_train": len(f.train), "n_val": len(f.val), "n_test": len(f.test)}
                for f in folds],
  }


def probe_only(config: config_lib.Config, clips: pipeline.Clips) -> dict:
  """The floor on its own (experiments/linear_probe.py): results.json in the same format."""
  config_lib.validate(config)
  folds = folds_lib.make_folds(clips.subject_N, config.data.folds,
                               val_subjects=config.data.val_subjects, seed=config.seed)
  rows = baselines.cross_validate(config.probe, clips, folds)  # refuses a non-flow saliency
  workdir = check_workdir(config)  # written only once the run is valid
  text = protocol(config, clips, len(folds), baselines.description(config.probe))
  results = report(config, clips, folds, rows, text)
  _write_json(workdir / "results.json", results)
  return results


def table(results: dict) -> str:
  """The terminal report: every number with its protocol, and the floor beside it."""
  m, p = results["metrics"], results["protocol"]
  tag = f"[{p.split(' (')[0]}, {results['task']}, pooled over folds]"
  fl = results.get("floor")
  lines = [f"protocol: {p}"]
  if fl:
    lines.append(f"floor:    {fl['protocol']}")
  elif "floor" in results:
    lines.append("floor:    n/a (the linear probe needs a flow saliency: flow or ststnet)")
  lines.append(f"{'metric':<10} {'value':>7} {'floor' if fl else '':>7}  protocol")
  for name in ("uf1", "uar", "accuracy"):
    floor_value = f"{fl['metrics'][name]:>7.3f}" if fl else " " * 7
    lines.append(f"{name.upper():<10} {m[name]:>7.3f} {floor_value}  {tag}")
  lines.append("per class (recall / F1 / support):")
  for c, v in m["per_class"].items():
    recall = "  n/a" if v["recall"] is None else f"{v['recall']:.3f}"
    f1 = "  n/a" if v["f1"] is None else f"{v['f1']:.3f}"
    lines.append(f"  {c:<12} {recall} / {f1} / {v['support']}")
  if m["absent_classes"]:
    lines.append(f"absent from the ground truth (excluded from UF1/UAR): {m['absent_classes']}")
  if results["dropped_by_task"]:
    lines.append(f"dropped by task {results['task']}: {results['dropped_by_task']}")
  return "\n".join(lines)
