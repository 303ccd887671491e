"""Recognition metrics over pooled predictions: accuracy, UF1, UAR, confusion, per subject.

A class absent from the ground truth has no recall and no meaningful F1, so UF1 and UAR average
over the classes present in the ground truth only; the absent ones are listed in the result
(`absent_classes`), never dropped silently. Predicting an absent class still costs the true class
its recall and F1.
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(true_N: np.ndarray, pred_N: np.ndarray, num_classes: int) -> np.ndarray:
  """Counts, rows = true class, columns = predicted class."""
  matrix = np.zeros((num_classes, num_classes), np.int64)
  np.add.at(matrix, (np.asarray(true_N), np.asarray(pred_N)), 1)
  return matrix


def per_class(confusion_KxK: np.ndarray) -> dict[str, np.ndarray]:
  """Per-class recall and F1 = 2TP / (2TP + FP + FN); NaN for classes absent from the truth."""
  tp = np.diag(confusion_KxK).astype(np.float64)
  support = confusion_KxK.sum(axis=1)
  predicted = confusion_KxK.sum(axis=0)
  present = support > 0
  with np.errstate(invalid="ignore", divide="ignore"):
    recall = np.where(present, tp / support, np.nan)
    f1 = np.where(present, 2 * tp / (support + predicted), np.nan)
  return {"recall": recall, "f1": f1, "support": support}


def uf1(true_N, pred_N, num_classes: int) -> float:
  """Unweighted F1: the mean F1 over the classes present in the truth."""
  stats = per_class(confusion_matrix(true_N, pred_N, num_classes))
  return float(np.mean(stats["f1"][stats["support"] > 0]))


def summarise(true_N, pred_N, subject_N, classes: tuple[str, ...]) -> dict:
  """Every reported metric of one pooled set of predictions.

  Args:
    true_N: true class ids.
    pred_N: predicted class ids.
    subject_N: subject of each prediction.
    classes: class names.

  Returns:
    accuracy, uf1, uar, per-class recall/F1/support, confusion matrix, per-subject accuracy and
    the classes absent from the ground truth.
  """
  true_N, pred_N, subject_N = map(np.asarray, (true_N, pred_N, subject_N))
  confusion = confusion_matrix(true_N, pred_N, len(classes))
  stats = per_class(confusion)
  present = stats["support"] > 0
  return {
      "accuracy": float(np.mean(true_N == pred_N)),
      "uf1": float(np.mean(stats["f1"][present])),
      "uar": float(np.mean(stats["recall"][present])),
      "per_class": {c: {"recall": None if np.isnan(r) else float(r),
                        "f1": None if np.isnan(f) else float(f), "support": int(s)}
                    for c, r, f, s in zip(classes, stats["recall"], stats["f1"], stats["support"])},
      "absent_classes": [c for c, p in zip(classes, present) if not p],
      "confusion": confusion.tolist(),
      "per_subject_accuracy": {s: float(np.mean(true_N[subject_N == s] == pred_N[subject_N == s]))
                               for s in sorted(set(subject_N.tolist()))},
      "n": int(len(true_N)),
  }


def _resampled(true_N, pred_N, which_N, counts_RxS, num_classes: int):
  """(UF1, UAR) of each resample, (R,) each: the drawn subjects' pooled confusion matrices."""
  confusions_SxKxK = np.zeros((counts_RxS.shape[1], num_classes, num_classes), np.int64)
  np.add.at(confusions_SxKxK, (which_N, true_N, pred_N), 1)
  pooled_RxKxK = np.einsum("rs,skl->rkl", counts_RxS, confusions_SxKxK)
  tp_RxK = np.einsum("rkk->rk", pooled_RxKxK).astype(np.float64)
  support_RxK, predicted_RxK = pooled_RxKxK.sum(2), pooled_RxKxK.sum(1)
  present = support_RxK > 0
  with np.errstate(invalid="ignore", divide="ignore"):
    f1 = np.where(present, 2 * tp_RxK / (support_RxK + predicted_RxK), np.nan)
    recall = np.where(present, tp_RxK / support_RxK, np.nan)
  return np.nanmean(f1, 1), np.nanmean(recall, 1)


def _draws(subject_N, resamples: int, seed: int):
  """(subject index of each prediction, how often each subject is drawn per resample (R, S))."""
  names, which_N = np.unique(np.asarray(subject_N), return_inverse=True)
  draws_RxS = np.random.default_rng(seed).integers(0, len(names), (resamples, len(names)))
  return which_N, np.stack([np.bincount(d, minlength=len(names)) for d in draws_RxS])


def _percentiles(x_R, level: float) -> list[float]:
  tail = 100 * (1 - level) / 2
  return [float(v) for v in np.percentile(x_R, [tail, 100 - tail])]


def subject_bootstrap(true_N, pred_N, subject_N, num_classes: int, *, resamples: int = 1000,
                      seed: int = 0, level: float = 0.95) -> dict[str, list[float]]:
  """Percentile intervals of the pooled UF1 and UAR from resampling the test subjects.

  Subjects, not clips, are drawn with replacement (a subject's clips are not independent of each
  other); each resample pools the drawn subjects' predictions and recomputes both metrics over
  the classes present in it.

  Args:
    true_N, pred_N: true and predicted class ids.
    subject_N: subject of each prediction.
    num_classes: K.
    resamples: how many bootstrap samples.
    seed: the resampling's seed.
    level: the interval's coverage.

  Returns:
    {'uf1': [low, high], 'uar': [low, high], 'resamples': n, 'subjects': S}.
  """
  which_N, counts_RxS = _draws(subject_N, resamples, seed)
  uf1_R, uar_R = _resampled(np.asarray(true_N), np.asarray(pred_N), which_N, counts_RxS,
                            num_classes)
  return {"uf1": _percentiles(uf1_R, level), "uar": _percentiles(uar_R, level),
          "resamples": resamples, "subjects": counts_RxS.shape[1]}


def paired_bootstrap(true_N, pred_a_N, pred_b_N, subject_N, num_classes: int, *,
                     resamples: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
  """How far apart two methods are on the same test clips: UF1(a) - UF1(b) and UAR(a) - UAR(b),
  each with a percentile interval from resampling the test subjects (the same draws for both
  methods, so what the subjects share cancels).

  Returns:
    {'uf1': {'difference': d, 'interval_95': [low, high]}, 'uar': {...}, 'resamples': n,
    'subjects': S}; an interval that excludes 0 says the methods differ on these subjects.
  """
  true_N = np.asarray(true_N)
  which_N, counts_RxS = _draws(subject_N, resamples, seed)
  everyone = np.ones((1, counts_RxS.shape[1]), np.int64)
  out = {"resamples": resamples, "subjects": counts_RxS.shape[1]}
  observed = [_resampled(true_N, np.asarray(p), which_N, everyone, num_classes)
              for p in (pred_a_N, pred_b_N)]
  resampled = [_resampled(true_N, np.asarray(p), which_N, counts_RxS, num_classes)
               for p in (pred_a_N, pred_b_N)]
  for i, name in enumerate(("uf1", "uar")):
    out[name] = {"difference": float(observed[0][i][0] - observed[1][i][0]),
                 "interval_95": _percentiles(resampled[0][i] - resampled[1][i], level)}
  return out


def mean_sd(values) -> dict[str, float | None]:
  """{'mean', 'sd'} of values over seeds; the sample sd (ddof 1), None for a single value (one
  seed says nothing of the spread over seeds)."""
  return {"mean": float(np.mean(values)),
          "sd": float(np.std(values, ddof=1)) if len(values) > 1 else None}


def plus_minus(m: dict, signed: bool = False, sep: str = "±") -> str:
  """'mean ± sd' of a mean_sd dict, or the mean alone when there is no sd (one seed)."""
  mean = f"{m['mean']:+.3f}" if signed else f"{m['mean']:.3f}"
  return mean if m["sd"] is None else f"{mean} {sep} {m['sd']:.3f}"


def seeds_bootstrap(true_N, pred_SxN, subject_N, num_classes: int, *, baseline_SxN=None,
                    resamples: int = 1000, seed: int = 0,
                    level: float = 0.95) -> dict[str, list[float]]:
  """Percentile intervals of the seeds' mean pooled UF1 and UAR: each resample of the test
  subjects scores every seed's predictions on the drawn subjects, then averages over seeds.
  With `baseline_SxN` (another method's predictions, per seed), the interval of the seeds' mean
  difference, this method minus that one, on the same draws (paired).

  Returns:
    {'uf1': [low, high], 'uar': [low, high], 'resamples': n, 'subjects': S, 'seeds': n_seeds}.
  """
  which_N, counts_RxS = _draws(subject_N, resamples, seed)

  def mean_over_seeds(preds):
    per_seed = [_resampled(np.asarray(true_N), np.asarray(p), which_N, counts_RxS, num_classes)
                for p in preds]
    return [np.mean([s[i] for s in per_seed], axis=0) for i in (0, 1)]
  uf1_R, uar_R = mean_over_seeds(pred_SxN)
  if baseline_SxN is not None:
    base_uf1_R, base_uar_R = mean_over_seeds(baseline_SxN)
    uf1_R, uar_R = uf1_R - base_uf1_R, uar_R - base_uar_R
  return {"uf1": _percentiles(uf1_R, level), "uar": _percentiles(uar_R, level),
          "resamples": resamples, "subjects": counts_RxS.shape[1], "seeds": len(pred_SxN)}


def interval_iou(a: tuple[int, int], b: tuple[int, int]) -> float:
  """IoU of two inclusive frame intervals (onset, offset)."""
  inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
  union = (a[1] - a[0] + 1) + (b[1] - b[0] + 1) - max(inter, 0)
  return max(inter, 0) / union


def match_intervals(pred: list[tuple[int, int]], truth: list[tuple[int, int]],
                    min_iou: float = 0.5) -> list[tuple[int, int]]:
  """MEGC's TPs: a maximum one-to-one matching of (pred index, truth index) pairs with IoU >=
  min_iou ("a <= m and a <= n": each prediction and each truth counted once). Among the maximum
  matchings, the one of the largest summed IoU. A greedy best-IoU-first pass undercounts when
  truths overlap: truths (30,41), (29,48) and predictions (28,42), (32,40) hold two TPs, not one.
  """
  if not pred or not truth:
    return []
  from scipy.optimize import linear_sum_assignment
  iou = np.array([[interval_iou(p, t) for t in truth] for p in pred])
  valid = iou >= min_iou
  # Each valid pair outweighs every summed IoU (at most min(m, n) < n + 1): cardinality first.
  weight = np.where(valid, len(pred) + len(truth) + iou, 0.0)
  rows, cols = linear_sum_assignment(weight, maximize=True)
  return sorted((int(i), int(j)) for i, j in zip(rows, cols) if valid[i, j])


def strs(spot_f1: float, true_N, pred_N, truth_classes) -> float:
  """MEGC 2023's spot-then-recognise score, as its organisers compute it: spotting F1 times the
  mean, over every emotion class of the ground truth, of that class's F1 on the matched (TP)
  intervals; a class with no TP counts 0.

  Args:
    spot_f1: the spotting F1 (micro-expressions).
    true_N: class id of each TP's ground truth.
    pred_N: class id predicted for each TP.
    truth_classes: class ids of every ground-truth interval (TP or not).
  """
  classes = sorted(set(int(c) for c in truth_classes))
  if not classes:
    return 0.0
  true_N, pred_N = np.asarray(true_N, int), np.asarray(pred_N, int)
  f1 = []
  for c in classes:
    tp = int(np.sum((true_N == c) & (pred_N == c)))
    wrong = int(np.sum(true_N == c)) + int(np.sum(pred_N == c)) - 2 * tp
    f1.append(2 * tp / (2 * tp + wrong) if tp else 0.0)
  return float(spot_f1 * np.mean(f1))


def spotting_scores(tp: int, n_pred: int, n_truth: int) -> dict:
  """Precision, recall and F1 = 2TP / (2TP + FP + FN) of spotted intervals."""
  fp, fn = n_pred - tp, n_truth - tp
  return {"tp": tp, "fp": fp, "fn": fn,
          "precision": tp / n_pred if n_pred else 0.0,
          "recall": tp / n_truth if n_truth else 0.0,
          "f1": 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else 0.0}
