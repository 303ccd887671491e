"""The spotter alone on long videos: MEGC counts without a model, and thresholds set on training
videos (never on the evaluated ones).

The face is tracked once per video; each candidate SpotConfig then replays the aligned frames
through the same core (spotting.Spotter) that predict and stream use.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Iterable, Iterator

import cv2
import numpy as np

from mexp import metrics, spotting, tracking
from mexp.preprocess import stabilise
from mexp.io import long_videos

KINDS = ("micro", "macro")


@dataclasses.dataclass(frozen=True)
class Tracked:
  """One video's stabilised face: what the core needs to replay it under any thresholds."""
  fps: float
  keep_HxW: np.ndarray  # energy_mask of the (last) track
  frames: list  # (index, aligned float32 HxW, pose, rebased), or (index, None, None, same face)
  # where the track restarted
  numbers: np.ndarray  # frame number of each index (the video's own numbering)


def grey_frames(video: long_videos.LongVideo) -> Iterator[np.ndarray]:
  """The video's frames as uint8 grey, from its file or its frame folder."""
  if video.frames:
    for _, path in video.frames:
      yield cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    return
  capture = cv2.VideoCapture(str(video.path))
  try:
    while True:
      ok, bgr = capture.read()
      if not ok:
        return
      yield cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
  finally:
    capture.release()


def track(frames: Iterable[np.ndarray], fps: float, numbers=None) -> Tracked:
  """Stabilises every frame once (tracking.FaceTracker)."""
  tracker, out = tracking.FaceTracker(fps), []
  for grey in frames:
    aligned, lost = tracker.update(grey)
    if lost:
      out.append((tracker.t, None, None, tracker.same_face))
    elif aligned is not None:
      out.append((tracker.t, aligned, tracker.pose, tracker.track.rebased))
  keep = tracker.keep if tracker.keep is not None else tracking.energy_mask(stabilise.SIZE)
  numbers = np.arange(tracker.t + 1) if numbers is None else np.asarray(numbers)
  return Tracked(fps, keep, out, numbers)


def replay(tracked: Tracked, config: spotting.SpotConfig) -> list[spotting.Interval]:
  """The core's final intervals (corrections applied), in the video's frame numbers."""
  spotter, events = spotting.Spotter(tracked.fps, tracked.keep_HxW, config), []
  for t, aligned, pose, rebased in tracked.frames:
    events += (spotter.cut(same_face=rebased) if aligned is None
               else spotter.update(t, aligned.astype(np.float32), pose, rebased))
  last = len(tracked.numbers) - 1
  return [dataclasses.replace(i, onset=int(tracked.numbers[min(i.onset, last)]),
                              offset=int(tracked.numbers[min(i.offset, last)]))
          for i in spotting.resolve(events + spotter.finish())]


def count(intervals: list[spotting.Interval], truth) -> dict:
  """{kind: [TP, spotted, truth]} under MEGC (IoU >= 0.5, same kind, each truth matched once),
  and 'iou': the IoU of each micro TP."""
  out = {"iou": []}
  for kind in KINDS:
    pred = [(i.onset, i.offset) for i in intervals if i.kind == kind]
    gt = [(e.onset, e.offset) for e in truth if e.kind == kind]
    pairs = metrics.match_intervals(pred, gt)
    out[kind] = [len(pairs), len(pred), len(gt)]
    if kind == "micro":
      out["iou"] = [metrics.interval_iou(pred[i], gt[j]) for i, j in pairs]
  return out


def score(per_video: list[dict]) -> dict:
  """Pooled counts -> {kind: spotting_scores}, plus the mean IoU of the micro TPs."""
  out = {k: metrics.spotting_scores(*np.sum([c[k] for c in per_video], axis=0).tolist())
         for k in KINDS}
  ious = [x for c in per_video for x in c["iou"]]
  out["micro_iou"] = float(np.mean(ious)) if ious else 0.0
  return out


def fit(tracked: list[Tracked], truths: list, grid: dict,
        base: spotting.SpotConfig = spotting.SpotConfig()) -> tuple[spotting.SpotConfig, list]:
  """The grid point with the best pooled micro F1 on these (training) videos.

  Args:
    tracked: the training videos, tracked once.
    truths: each video's ground-truth expressions (objects with onset, offset, kind).
    grid: SpotConfig field -> candidate values.
    base: the fields not in the grid.

  Returns:
    (best config, rows of (overrides, scores)). The points within one expression of the best
    micro F1 (1 / the number of micro ground truths: one TP more or less is noise, not a
    plateau) are the plateau; of those within 0.01 of its best micro IoU, the one of median k_on
    (then of best IoU): the middle of the plateau, not its edge, since unseen faces shift it.
  """
  rows = []
  for values in itertools.product(*grid.values()):
    overrides = dict(zip(grid, values))
    config = dataclasses.replace(base, **overrides)
    scores = score([count(replay(v, config), t) for v, t in zip(tracked, truths)])
    rows.append((overrides, scores))
  return dataclasses.replace(base, **choose(rows)), rows


def choose(rows: list) -> dict:
  """The overrides `fit` takes from its rows (see fit)."""
  top = max(r[1]["micro"]["f1"] for r in rows)
  micro = rows[0][1]["micro"]
  tolerance = 1.0 / max(1, micro["tp"] + micro["fn"]) + 1e-9
  plateau = [r for r in rows if r[1]["micro"]["f1"] >= top - tolerance]
  iou = max(r[1]["micro_iou"] for r in plateau)
  plateau = sorted((r for r in plateau if r[1]["micro_iou"] >= iou - 0.01),
                   key=lambda r: (r[0].get("k_on", 0), -r[1]["micro_iou"]))
  return plateau[(len(plateau) - 1) // 2][0]
