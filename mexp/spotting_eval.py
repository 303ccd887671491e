"""Spotting + recognition on long videos with ground truth, scored as in MEGC.

A spotted interval is a true positive when its IoU with a ground-truth interval of the same kind
(micro or macro) is >= 0.5, each ground truth matched at most once. Recognition is scored on the
micro-expression true positives whose emotion the model's task keeps; STRS = F1_spot x UF1_rec.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from mexp import labels, metrics, predict
from mexp.io import files


def evaluate(model_workdir: str | os.PathLike, videos_dir: str | os.PathLike) -> dict:
  """Runs predict's spotter and classifier on every video in ground_truth.json and scores them.

  Args:
    model_workdir: a workdir written by experiments/two_stream.py (its final model is used).
    videos_dir: a folder written by `python -m mexp.synthetic DIR --long_videos N`.

  Returns:
    The results dict: protocol, per-kind spotting scores, recognition and STRS, per video.
  """
  videos_dir = Path(videos_dir)
  truth = json.loads((videos_dir / "ground_truth.json").read_text())
  counts = {"micro": [0, 0, 0], "macro": [0, 0, 0]}  # tp, predicted, truth
  true_labels, pred_labels, per_video, task, seconds = [], [], [], None, 0.0
  predictor = predict.load(model_workdir)  # restored and compiled once for every video
  for video in truth["videos"]:
    start = time.perf_counter()
    result = predict.predict(model_workdir, videos_dir / video["file"], predictor=predictor)
    seconds += time.perf_counter() - start
    task = result["task"]
    matched = []
    for kind in counts:
      pred = [e for e in result["events"] if e["source"] == kind]
      gt = [e for e in video["events"] if e["kind"] == kind]
      pairs = metrics.match_intervals([(e["onset_frame"], e["offset_frame"]) for e in pred],
                                      [(e["onset"], e["offset"]) for e in gt])
      counts[kind] = [c + n for c, n in zip(counts[kind], (len(pairs), len(pred), len(gt)))]
      if kind == "micro":
        for i, j in pairs:
          label = labels.task_label(task, gt[j]["emotion"])
          if label is not None:
            true_labels.append(label)
            pred_labels.append(result["classes"].index(pred[i]["emotion"]))
          matched.append({"truth": [gt[j]["onset"], gt[j]["offset"], gt[j]["emotion"]],
                          "spotted": [pred[i]["onset_frame"], pred[i]["offset_frame"],
                                      pred[i]["emotion"]]})
    per_video.append({"file": video["file"], "spotted": result["events"], "micro_matches": matched})
  spotting = {k: metrics.spotting_scores(*v) for k, v in counts.items()}
  classes = labels.task_classes(task)
  recognition = (metrics.summarise(true_labels, pred_labels, ["all"] * len(true_labels), classes)
                 if true_labels else None)
  uf1 = recognition["uf1"] if recognition else 0.0
  return {
      "protocol": (f"MEGC-style spotting on {len(truth['videos'])} synthetic long videos "
                   f"({truth['frames']} frames at {truth['fps']:g} fps): TP = IoU >= 0.5 with a "
                   f"ground truth of the same kind; recognition ({task}) on micro TPs; "
                   f"model {model_workdir}/final"),
      "spotting": spotting, "recognition": recognition,
      "strs": spotting["micro"]["f1"] * uf1,
      "seconds_per_video": round(seconds / max(1, len(truth["videos"])), 2),
      "videos": per_video,
  }


def table(results: dict) -> str:
  """Every number with its protocol."""
  tag = "[MEGC IoU>=0.5, synthetic long videos]"
  lines = [f"protocol: {results['protocol']}"]
  for kind, s in results["spotting"].items():
    lines.append(f"{kind} spotting: F1 {s['f1']:.3f}  recall {s['recall']:.3f}  precision "
                 f"{s['precision']:.3f}  (TP {s['tp']}, FP {s['fp']}, FN {s['fn']})  {tag}")
  rec = results["recognition"]
  lines.append(f"recognition on micro TPs: UF1 {rec['uf1']:.3f}  UAR {rec['uar']:.3f}  "
               f"(n={rec['n']})  {tag}" if rec else "recognition: no micro TP to score")
  lines.append(f"STRS {results['strs']:.3f}  {tag}")
  return "\n".join(lines)


def write(results: dict, out_dir: str | os.PathLike) -> Path:
  out = Path(out_dir)
  out.mkdir(parents=True, exist_ok=True)
  return files.write_text_atomic(
      out / "results.json", json.dumps(results, indent=1, default=lambda x: np.asarray(x).tolist()))
