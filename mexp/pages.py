"""report.html beside a run's results.json: one self-contained page that opens offline.

The pictures are matplotlib PNGs embedded as data URIs; the page is string.Template files in
mexp/templates, filled with escaped text (no script, no external file).
"""

from __future__ import annotations

import base64
import html
import string
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

from mexp import input_pipeline as pipeline
from mexp import metrics, plots, report
from mexp.io import files

MAX_MISTAKES = 24  # thumbnails on the page; the count says how many there are


def template(name: str) -> string.Template:
  """One of mexp/templates (shipped as package data), ready to substitute."""
  return string.Template(resources.files("mexp").joinpath("templates", name).read_text())


def page(name: str, **fields) -> str:
  """A page template filled in, with the pages' shared style sheet (style.html) as $style."""
  return template(name).substitute(style=template("style.html").template, **fields)


def _figure(path: Path, alt: str, caption: str) -> str:
  data = base64.b64encode(path.read_bytes()).decode("ascii")
  return template("figure.html").substitute(data=data, alt=html.escape(alt),
                                             caption=html.escape(caption)).strip()


def _metric_rows(results: dict) -> str:
  m, fl = results["metrics"], results.get("floor")
  row = template("metric_row.html")
  out = []
  for name in ("uf1", "uar", "accuracy"):
    interval = m.get("interval_95", {}).get(name)
    paired = (fl or {}).get("paired", {}).get(name)
    out.append(row.substitute(
        name=name.upper(), value=f"{m[name]:.3f}",
        interval="" if interval is None else f"[{interval[0]:.3f}, {interval[1]:.3f}]",
        floor="" if not fl else f"{fl['metrics'][name]:.3f}",
        paired="" if paired is None else (f"{paired['difference']:+.3f} "
                                          f"[{paired['interval_95'][0]:+.3f}, "
                                          f"{paired['interval_95'][1]:+.3f}]")).strip())
  return "\n".join(out)


def _mistakes(rows: list[dict], clips: pipeline.Clips, classes, folder: Path) -> list[str]:
  """A thumbnail per misclassified test clip: apex frame, motion, truth, prediction and the
  probabilities."""
  index = {(s, c): i for i, (s, c) in enumerate(zip(clips.subject_N, clips.clip_N))}
  wrong = [row for row in report.per_clip(rows) if row[2] != row[3]]
  out = []
  for s, c, t, pred, p in wrong[:MAX_MISTAKES]:
    i = index[(s, c)]
    raw, sal = clips.raw_NxTxHxWxC[i], clips.saliency_NxTxHxWxS[i]
    path = folder / f"mistake{len(out)}.png"
    plots.clip_thumbnail(path, raw, sal, min(int(clips.apex_index_N[i]), raw.shape[0] - 1),
                         f"{s}/{c}")
    probs = ", ".join(f"{k} {q:.2f}" for k, q in zip(classes, p))
    out.append(_figure(path, f"{s}/{c}", f"{s}/{c}: true {classes[t]}, predicted "
                       f"{classes[pred]} ({probs})"))
  return out


def recognition(results: dict, rows: list[dict], clips: pipeline.Clips, workdir: Path) -> Path:
  """Writes workdir/report.html for a recognition run and returns its path.

  Args:
    results: the run's results (as in results.json).
    rows: the per-fold test predictions (subject, clip, label, probabilities).
    clips: the clips the run read (for the misclassified clips' thumbnails).
    workdir: where results.json, confusion.png and curves.png are.
  """
  classes = results["classes"]
  m = results["metrics"]
  with tempfile.TemporaryDirectory() as tmp:
    folder = Path(tmp)
    per_class = [v["f1"] for v in m["per_class"].values()]
    plots.bars(folder / "per_class.png", list(m["per_class"]), per_class, "F1 per class", "F1")
    subjects = m["per_subject_accuracy"]
    plots.bars(folder / "per_subject.png", list(subjects), list(subjects.values()),
               "accuracy per test subject", "accuracy")
    figures = [_figure(workdir / "confusion.png", "confusion matrix",
                       "rows: true class; cells: counts, shaded by the row's share")]
    figures += [_figure(folder / "per_class.png", "F1 per class", "F1 per class"),
                _figure(folder / "per_subject.png", "accuracy per subject",
                        "accuracy per test subject")]
    curves = ([_figure(workdir / "curves.png", "training curves", "loss and accuracy per fold")]
              if (workdir / "curves.png").exists() else [])
    mistakes = _mistakes(rows, clips, classes, folder)
  wrong = sum(t != pred for _, _, t, pred, _ in report.per_clip(rows))
  fl = results.get("floor")
  text = page(
      "report.html", protocol=html.escape(results["protocol"]),
      floor_protocol=html.escape(fl["protocol"] if fl else "n/a (the linear probe needs flow)"),
      metrics=_metric_rows(results), figures="\n".join(figures),
      curves="\n".join(curves) or html.escape("none: the floor alone trains no network"),
      mistakes_note=html.escape(f"{wrong} of {m['n']} test clips misclassified"
                                + (f"; the first {MAX_MISTAKES} shown" if wrong > MAX_MISTAKES
                                   else "")),
      mistakes="\n".join(mistakes))
  out = workdir / "report.html"
  files.write_text_atomic(out, text)
  return out


def _seconds(video: dict) -> np.ndarray:
  """Each energy value's time: its frame's number (frames missing inside the video skipped, as
  the reader skipped them) less the first, over fps."""
  missing = {n for a, b in video.get("missing_frames", []) for n in range(a, b + 1)}
  numbers, n = [], video["first_frame"]
  while len(numbers) < len(video["energy"]):
    if n not in missing:
      numbers.append(n)
    n += 1
  return (np.array(numbers) - video["first_frame"]) / video["fps"]


def _outcomes(video: dict) -> tuple[list, list]:
  """(truth, spotted) as (onset_s, offset_s, kind, emotion, matched), matched per kind as MEGC
  counts (IoU >= 0.5, maximum matching)."""
  first, fps = video["first_frame"], video["fps"]
  truth, spotted = [], []
  for kind in ("micro", "macro"):
    gt = [t for t in video["truth"] if t[2] == kind]
    pred = [e for e in video["spotted"] if e["source"] == kind]
    pairs = metrics.match_intervals([(e["onset_frame"], e["offset_frame"]) for e in pred],
                                    [(t[0], t[1]) for t in gt])
    hit_pred, hit_gt = {i for i, _ in pairs}, {j for _, j in pairs}
    truth += [((t[0] - first) / fps, (t[1] - first) / fps, kind, t[3], j in hit_gt)
              for j, t in enumerate(gt)]
    spotted += [((e["onset_frame"] - first) / fps, (e["offset_frame"] - first) / fps, kind,
                 e.get("emotion"), i in hit_pred) for i, e in enumerate(pred)]
  return truth, spotted


def spotting(results: dict, out_dir: Path) -> Path:
  """Writes out_dir/report.html for a spotting evaluation (spotting_eval.evaluate's results):
  the protocol, the scores, and one timeline per video."""
  row = template("score_row.html")
  scores = "\n".join(row.substitute(
      kind=kind, tp=s["tp"], spotted=s["tp"] + s["fp"], truth=s["tp"] + s["fn"],
      precision=f"{s['precision']:.3f}", recall=f"{s['recall']:.3f}", f1=f"{s['f1']:.3f}").strip()
      for kind, s in results["spotting"].items())
  rec = results.get("recognition")
  recognition = (f"Recognition on micro true positives: UF1 {rec['uf1']:.3f}, UAR "
                 f"{rec['uar']:.3f} ({rec['n']} clips); STRS {results['strs']:.3f}." if rec
                 else "Recognition: no micro true positive with a label the task maps.")
  timelines = []
  with tempfile.TemporaryDirectory() as tmp:
    for i, video in enumerate(results["videos"]):
      if "energy" not in video:
        continue
      truth, spotted = _outcomes(video)
      path = Path(tmp) / f"video{i}.png"
      name = f"{video['subject']}/{video['video']}" if video.get("subject") else video["video"]
      plots.timeline(path, _seconds(video), video["energy"], video["fps"], truth, spotted, name)
      timelines.append(_figure(path, name, f"{name} ({video['file']}, {video['fps']:g} fps)"))
  text = page(
      "spotting.html", protocol=html.escape(results["protocol"]), scores=scores,
      recognition=html.escape(recognition), timelines="\n".join(timelines))
  out = Path(out_dir) / "report.html"
  out.parent.mkdir(parents=True, exist_ok=True)
  files.write_text_atomic(out, text)
  return out
