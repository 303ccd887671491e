"""Spotting + recognition on long videos with ground truth, scored as in MEGC.

The videos come from a long-video reader (mexp/io/long_videos.py): SAMM-LV, CAS(ME)^2, their
synthetic twins, or a generic synthetic folder with ground_truth.json. Each is spotted at its
database's own frame rate, so MEGC's rule (micro-expression: at most 0.5 s) holds in seconds.
A spotted interval is a true positive when its IoU with a ground-truth interval of the same kind
(micro or macro) is >= 0.5, each ground truth matched at most once; counts are pooled over
videos. A maximum matching, as MEGC's "a <= m and a <= n" asks. Recognition is scored on the
micro-expression true positives whose emotion the model's task keeps; STRS is MEGC 2023's
organisers' definition (metrics.strs): micro spotting F1 times the mean F1 on the TPs over every
emotion class of the ground truth, a class without a TP counting 0. Without emotion labels
(SAMM-LV) STRS is undefined and reported as None.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np

from mexp import labels, metrics, predict
from mexp.io import files, long_video_readers, long_videos


def evaluate(model_workdir: str | os.PathLike, videos_dir: str | os.PathLike,
             layout: str = "synthetic", *, skip_invalid: bool = False, spot=None) -> dict:
  """Runs predict's spotter and classifier on every long video of a layout and scores them.

  Args:
    model_workdir: a workdir written by experiments/two_stream.py (its final model is used).
    videos_dir: a folder with ground_truth.json (layout 'synthetic', written by
      `python -m mexp.synthetic DIR --long_videos N`), or the folder SAMM-LV or CAS(ME)^2 was
      unpacked into (or its twin, `--layout samm_lv|casme_sq_lv`).
    layout: one of long_videos.LAYOUTS.
    skip_invalid: skip unusable sheet rows (listed in the results) instead of failing.
    spot: the spotter's mexp.spotting.SpotConfig (None: its defaults).

  Returns:
    The results dict: protocol, per-kind spotting scores, recognition and STRS, per video, and
    what the reader skipped and fixed.
  """
  report = long_video_readers.read_long_videos(layout, videos_dir, skip_invalid=skip_invalid)
  if not report.videos:
    raise FileNotFoundError(f"{videos_dir}: no {long_videos.NAMES[layout]} long video to spot")
  counts = {"micro": [0, 0, 0], "macro": [0, 0, 0]}  # tp, predicted, truth
  true_labels, pred_labels, per_video, task, seconds = [], [], [], None, 0.0
  truth_classes, unmapped = [], 0  # task labels of every micro ground truth; TPs the task drops
  predictor = predict.load(model_workdir)  # restored and compiled once for every video
  for video in report.videos:
    start = time.perf_counter()
    trace = []
    result = predict.predict(model_workdir, video.path, fps=video.fps, predictor=predictor,
                             spot=spot, trace=trace)
    seconds += time.perf_counter() - start
    task = result["task"]
    matched = []
    for kind in counts:
      pred = [e for e in result["events"] if e["source"] == kind]
      gt = [e for e in video.expressions if e.kind == kind]
      pairs = metrics.match_intervals([(e["onset_frame"], e["offset_frame"]) for e in pred],
                                      [(e.onset, e.offset) for e in gt])
      counts[kind] = [c + n for c, n in zip(counts[kind], (len(pairs), len(pred), len(gt)))]
      if kind == "micro":
        mapped = [labels.task_label(task, e.emotion) if e.emotion else None for e in gt]
        truth_classes += [c for c in mapped if c is not None]
        for i, j in pairs:
          label = mapped[j]
          unmapped += gt[j].emotion is not None and label is None
          if label is not None:
            true_labels.append(label)
            pred_labels.append(result["classes"].index(pred[i]["emotion"]))
          matched.append({"truth": [gt[j].onset, gt[j].offset, gt[j].emotion],
                          "spotted": [pred[i]["onset_frame"], pred[i]["offset_frame"],
                                      pred[i]["emotion"]]})
    per_video.append({"file": video.path.name, "video": video.video, "subject": video.subject,
                      "spotted": result["events"], "micro_matches": matched,
                      "fps": video.fps, "first_frame": result.get("first_frame", 0),
                      "missing_frames": result.get("missing_frames", []),
                      "truth": [[e.onset, e.offset, e.kind, e.emotion]
                                for e in video.expressions],
                      # Each frame's energy in baseline deviations (None: no face, or warm-up).
                      "energy": [None if math.isnan(z) else round(float(z), 2) for z in trace]})
  spotting = {k: metrics.spotting_scores(*v) for k, v in counts.items()}
  # MEGC's overall score: the counts of both kinds pooled (a TP still needs a same-kind match).
  spotting["overall"] = metrics.spotting_scores(*map(sum, zip(*counts.values())))
  classes = labels.task_classes(task)
  recognition = (metrics.summarise(true_labels, pred_labels, ["all"] * len(true_labels), classes)
                 if true_labels else None)
  strs = (metrics.strs(spotting["micro"]["f1"], true_labels, pred_labels, truth_classes)
          if truth_classes else None)
  name = long_videos.NAMES[layout]
  return {
      "protocol": (f"MEGC spotting on {len(report.videos)} {name} long videos from {videos_dir} "
                   f"({report.videos[0].fps:g} fps; micro-expression: at most "
                   f"{long_videos.MICRO_SECONDS:g} s): TP = IoU >= 0.5 with a ground truth of the "
                   f"same kind, maximum matching, counts pooled over videos; recognition ({task}) on "
                   "micro TPs; STRS (MEGC 2023 organisers'): micro F1 x mean F1 over the "
                   "ground truth's emotion classes on the TPs, 0 for a class without one; "
                   f"model {model_workdir}/final"),
      "database": name,
      "spotting": spotting, "recognition": recognition,
      "strs": strs,
      "unmapped_tps": unmapped,  # micro TPs whose emotion the model's task has no class for
      "seconds_per_video": round(seconds / len(report.videos), 2),
      "ground_truth": {"intervals": {k: v[2] for k, v in counts.items()},
                       "notes": list(report.notes), "skipped": report.skipped,
                       "fixes": [f"{e.source}: {f}" for v in report.videos
                                 for e in v.expressions for f in e.fixes]},
      "videos": per_video,
  }


def table(results: dict) -> str:
  """Every number with its protocol."""
  tag = f"[MEGC IoU>=0.5, {results.get('database', 'synthetic')} long videos]"
  lines = [f"protocol: {results['protocol']}"]
  if "ground_truth" in results:
    truth = results["ground_truth"]
    lines.append("ground truth: " + ", ".join(f"{n} {k}" for k, n in truth["intervals"].items())
                 + f" interval(s); {len(truth['skipped'])} row(s) skipped, {len(truth['fixes'])} "
                 "fix(es) applied (results.json lists them)")
    lines += [f"note: {n}" for n in truth["notes"] if " missing (" in n]  # gaps in a video
  for kind, s in results["spotting"].items():
    lines.append(f"{kind} spotting: F1 {s['f1']:.3f}  recall {s['recall']:.3f}  precision "
                 f"{s['precision']:.3f}  (TP {s['tp']}, FP {s['fp']}, FN {s['fn']})  {tag}")
  rec = results["recognition"]
  tps = results["spotting"]["micro"]["tp"]
  why = ("no micro TP to score" if not tps else
         f"undefined: none of the {tps} micro TP(s) has an emotion label the task maps")
  lines.append(f"recognition on micro TPs: UF1 {rec['uf1']:.3f}  UAR {rec['uar']:.3f}  "
               f"(n={rec['n']} of {tps} micro TPs)  {tag}" if rec else f"recognition: {why}")
  if results.get("unmapped_tps"):
    lines.append(f"note: {results['unmapped_tps']} of {tps} micro TP(s) left out of recognition "
                 "and STRS: their emotion has no class in the model's task")
  lines.append(f"STRS {results['strs']:.3f}  {tag}" if results["strs"] is not None else
               "STRS: undefined (the ground truth has no emotion labels the task maps)")
  return "\n".join(lines)


def write(results: dict, out_dir: str | os.PathLike) -> Path:
  out = Path(out_dir)
  out.mkdir(parents=True, exist_ok=True)
  return files.write_text_atomic(
      out / "results.json", json.dumps(results, indent=1, default=lambda x: np.asarray(x).tolist()))
