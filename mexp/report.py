"""Reporting: every number with its protocol, as structured fields that the table reads.

The cross-validation (mexp.evaluate) hands over pooled per-fold predictions; this module turns
them into metrics with intervals, results.json, the terminal table and the plots.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from mexp import config as config_lib
from mexp import input_pipeline as pipeline
from mexp import folds as folds_lib
from mexp import metrics, plots
from mexp.io import files


def write_json(path: Path, obj) -> None:
  files.write_text_atomic(path, json.dumps(obj, indent=1))


def _databases(clips: pipeline.Clips, index=None) -> str:
  """'casme2 (24 subjects, 145 clips) + samm (...)' of the clips at `index` (all when None)."""
  subjects = clips.subject_N if index is None else clips.subject_N[index]
  names = sorted(set(map(folds_lib.database_of, subjects)))
  parts = []
  for name in names:
    mine = [s for s in subjects if folds_lib.database_of(s) == name]
    parts.append(f"{name} ({len(set(mine))} subjects, {len(mine)} clips)")
  return " + ".join(parts)


def scheme(data: config_lib.DataConfig) -> str:
  """The evaluation scheme in a few words, for every number's tag: 'LOSO CV', '5-fold
  subject-wise CV' or 'cross-database'; when tuning, '..., VALIDATION subjects only'."""
  folds = "LOSO CV" if data.folds == "loso" else f"{data.folds}-fold subject-wise CV"
  if data.score_on == "validation":
    side = "cross-database training side" if config_lib.test_datasets_of(data) else folds
    return f"{side}, VALIDATION subjects only"
  return "cross-database" if config_lib.test_datasets_of(data) else folds


def protocol(config: config_lib.Config, clips: pipeline.Clips, n_folds: int,
             method: str | None = None, folds=None) -> str:
  """How every number of a run was obtained: folds, data, task, method and model selection."""
  val = (f", {config.data.val_subjects} validation subject(s) per fold from the training side"
         if config.data.val_subjects else "")
  chosen = f", {config.selection}" if config.selection else ""
  method = method or (f"fixed schedule of {config.optim.epochs} epochs, no model selection on "
                      f"test subjects{val}{chosen}")
  task = f"task {config.data.task} ({len(clips.classes)} classes)"
  if config.data.score_on == "validation":
    folds_name = ("LOSO CV" if config.data.folds == "loso"
                  else f"{config.data.folds}-fold subject-wise CV")
    scheme = ("cross-database training side" if config_lib.test_datasets_of(config.data)
              else folds_name)
    seen = np.concatenate([np.r_[f.train, f.test] for f in folds]) if folds else np.arange(0)
    return (f"{scheme}, VALIDATION subjects only ({n_folds} folds, "
            f"{len(set(clips.subject_N[seen].tolist()))} subjects; test subjects never trained on "
            f"or predicted), {config.data.dataset}/{config.data.builder_config}, {task}, {method}, "
            "validation predictions pooled over folds")
  if config_lib.test_datasets_of(config.data):
    fold = folds[0]
    return (f"cross-database: train on {_databases(clips, np.r_[fold.train, fold.val])}, test on "
            f"{_databases(clips, fold.test)}, {config.data.builder_config}, {task}, {method}")
  scheme = "LOSO" if config.data.folds == "loso" else f"{config.data.folds}-fold subject-wise"
  subjects = len(set(clips.subject_N.tolist()))
  names = config_lib.datasets_of(config.data)
  data = (f"{config.data.dataset}/{config.data.builder_config}" if len(names) == 1 else
          f"{config.data.dataset} = {_databases(clips)}, {config.data.builder_config}")
  return (f"{scheme} CV ({n_folds} folds, {subjects} subjects, {len(clips.label_N)} clips), "
          f"{data}, {task}, {method}, test predictions pooled over folds")


def pooled(rows: list[dict], classes) -> dict:
  """Metrics of the pooled predictions; with several databases, also each one's subset (as MEGC
  reports the composite and each database)."""
  true = np.concatenate([r["label"] for r in rows])
  pred = np.concatenate([np.argmax(np.asarray(r["probabilities"]), 1) for r in rows])
  subjects = np.concatenate([r["subject"] for r in rows])
  summary = metrics.summarise(true, pred, subjects, classes)
  summary["interval_95"] = metrics.subject_bootstrap(true, pred, subjects, len(classes))
  database_N = np.array([folds_lib.database_of(s) for s in subjects])
  if len(set(database_N)) > 1:
    summary["per_database"] = {
        name: metrics.summarise(true[database_N == name], pred[database_N == name],
                                subjects[database_N == name], classes)
        for name in sorted(set(database_N))}
  return summary


def per_clip(rows: list[dict]):
  """(subject, clip, true class, predicted class, probabilities) of every test clip of per-fold
  prediction rows, fold by fold."""
  for r in rows:
    for s, c, t, p in zip(r["subject"], r["clip"], r["label"], r["probabilities"]):
      yield s, c, t, int(np.argmax(p)), p


def paired(rows_a: list[dict], rows_b: list[dict], classes) -> dict:
  """Method a minus method b on the same test clips (matched by subject and clip): the pooled
  UF1 and UAR differences with their subject-bootstrap intervals (metrics.paired_bootstrap)."""
  def by_clip(rows):
    return {(s, c): (t, pred) for s, c, t, pred, _ in per_clip(rows)}
  a, b = by_clip(rows_a), by_clip(rows_b)
  if set(a) != set(b):
    raise ValueError(f"paired comparison needs the same test clips: {len(set(a) ^ set(b))} "
                     "differ")
  keys = sorted(a)
  true_N = np.array([a[k][0] for k in keys])
  return metrics.paired_bootstrap(true_N, np.array([a[k][1] for k in keys]),
                                  np.array([b[k][1] for k in keys]),
                                  np.array([k[0] for k in keys]), len(classes))


def results(config: config_lib.Config, clips: pipeline.Clips, folds, rows: list[dict],
           text: str, histories: dict | None = None) -> dict:
  """Pooled metrics of per-fold test predictions, written with confusion.png (and curves.png)."""
  workdir = Path(config.workdir)
  summary = pooled(rows, clips.classes)
  plots.confusion(workdir / "confusion.png", summary["confusion"], clips.classes, text)
  if histories:
    plots.curves(workdir / "curves.png", histories, text)
  clip_rows = sorted(row[:4] for row in per_clip(rows))
  return {
      "protocol": text, "scheme": scheme(config.data), "task": config.data.task,
      "classes": list(clips.classes),
      # Every test clip's true and predicted class id (for intervals over seeds, paired views).
      "predictions": {key: [row[i] for row in clip_rows] for i, key in
                      enumerate(("subject", "clip", "label", "predicted"))},
      "dropped_by_task": clips.dropped, "config": dataclasses.asdict(config), "metrics": summary,
      "folds": [{"name": f.name, "test_subjects": sorted(set(clips.subject_N[f.test].tolist())),
                 "n_train": len(f.train), "n_val": len(f.val), "n_test": len(f.test)}
                for f in folds],
  }


def over_seeds(runs: dict[int, dict]) -> dict:
  """The runs of one experiment with several seeds: each metric's mean and sd over seeds, the
  subject-bootstrap interval of the mean, the floor's, and the paired difference to the floor.

  Args:
    runs: seed -> that run's results (results.json).
  """
  first = next(iter(runs.values()))
  out = {"protocol": first["protocol"], "scheme": first["scheme"], "task": first["task"],
         "seeds": sorted(runs), "metrics": {}, "floor": None, "minus_floor": None}
  for name in ("uf1", "uar"):
    values = [runs[s]["metrics"][name] for s in sorted(runs)]
    out["metrics"][name] = {**metrics.mean_sd(values), "per_seed": values}
  if all("predictions" in r for r in runs.values()):
    p = first["predictions"]
    if all(r["predictions"]["clip"] == p["clip"] for r in runs.values()):
      out["metrics"]["interval_95"] = metrics.seeds_bootstrap(
          p["label"], [runs[s]["predictions"]["predicted"] for s in sorted(runs)], p["subject"],
          len(first["classes"]))
  floors = [runs[s].get("floor") for s in sorted(runs)]
  if all(floors):
    out["floor"] = {"protocol": floors[0]["protocol"], "metrics": floors[0]["metrics"]}
    if all("paired" in f for f in floors):
      out["minus_floor"] = {name: {**metrics.mean_sd(d), "per_seed": d}
                            for name in ("uf1", "uar")
                            for d in [[f["paired"][name]["difference"] for f in floors]]}
  return out


def seeds_table(summary: dict) -> str:
  """The terminal report of over_seeds: mean +- sd over seeds, intervals, the paired view."""
  seeds = ",".join(map(str, summary["seeds"]))
  lines = [f"over seeds {seeds}: {summary['protocol']}"]
  m, fl, d = summary["metrics"], summary["floor"], summary["minus_floor"]
  for name in ("uf1", "uar"):
    interval = (f" [{m['interval_95'][name][0]:.3f}, {m['interval_95'][name][1]:.3f}]"
                if "interval_95" in m else "")
    floor = f"   floor {fl['metrics'][name]:.3f}" if fl else ""
    minus = (f"   minus the floor {metrics.plus_minus(d[name], True, '+-')}" if d else "")
    lines.append(f"{name.upper():<4} {metrics.plus_minus(m[name], sep='+-')}{interval}"
                 f"{floor}{minus}  [{summary['scheme']}, {summary['task']}, "
                 f"{len(summary['seeds'])} seeds]")
  if "interval_95" in m:
    lines.append("intervals: the seeds' mean, from resampling the test subjects (1,000 times)")
  return "\n".join(lines)


def table(results: dict) -> str:
  """The terminal report: every number with its protocol, and the floor beside it."""
  m, p = results["metrics"], results["protocol"]
  how = results["scheme"]
  tag = (f"[{how}, {results['task']}, test database(s) only]" if how == "cross-database" else
         f"[{how}, {results['task']}, pooled over folds]")
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
  if "interval_95" in m:  # results.json written before intervals existed has none
    lines.append("95% intervals, from resampling the test subjects (1,000 times): " + ", ".join(
        f"{name.upper()} [{m['interval_95'][name][0]:.3f}, {m['interval_95'][name][1]:.3f}]"
        + (f" (floor [{fl['metrics']['interval_95'][name][0]:.3f}, "
           f"{fl['metrics']['interval_95'][name][1]:.3f}])" if fl else "")
        for name in ("uf1", "uar")))
  if fl and "paired" in fl:
    d = fl["paired"]
    lines.append("minus the floor, on the same test clips (subject bootstrap, the same draws for "
                 "both): " + ", ".join(
                     f"{name.upper()} {d[name]['difference']:+.3f} "
                     f"[{d[name]['interval_95'][0]:+.3f}"
                     f", {d[name]['interval_95'][1]:+.3f}]" for name in ("uf1", "uar")))
  if "per_database" in m:
    lines.append("per database, its clips' pooled test predictions (UF1 / UAR"
                 + (", floor's UF1 / UAR):" if fl else "):"))
    for name, v in m["per_database"].items():
      f = fl["metrics"]["per_database"][name] if fl else None
      floor_text = f"   {f['uf1']:.3f} / {f['uar']:.3f}" if f else ""
      lines.append(f"  {name:<12} {v['uf1']:.3f} / {v['uar']:.3f}{floor_text}  {v['n']} clips, "
                   f"{len(v['per_subject_accuracy'])} subjects {tag}")
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
