import numpy as np
import pytest

from mexp import metrics


def test_hand_computed_three_classes():
  true = [0, 0, 0, 1, 1, 2]
  pred = [0, 0, 1, 1, 2, 2]
  # class 0: TP 2, FN 1, FP 0 -> recall 2/3, F1 4/5
  # class 1: TP 1, FN 1, FP 1 -> recall 1/2, F1 2/4
  # class 2: TP 1, FN 0, FP 1 -> recall 1,   F1 2/3
  m = metrics.summarise(true, pred, ["a"] * 3 + ["b"] * 3, ("x", "y", "z"))
  assert m["accuracy"] == pytest.approx(4 / 6)
  assert m["uar"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
  assert m["uf1"] == pytest.approx((4 / 5 + 1 / 2 + 2 / 3) / 3)
  assert m["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
  assert m["per_subject_accuracy"] == {"a": pytest.approx(2 / 3), "b": pytest.approx(2 / 3)}
  assert m["absent_classes"] == [] and m["n"] == 6


def test_absent_class_is_listed_and_left_out_of_the_means():
  true = [0, 0, 1, 1]
  pred = [0, 2, 1, 1]  # class 2 never true, predicted once
  m = metrics.summarise(true, pred, ["s"] * 4, ("x", "y", "z"))
  assert m["absent_classes"] == ["z"]
  assert m["per_class"]["z"] == {"recall": None, "f1": None, "support": 0}
  # class 0: TP 1, FN 1 -> recall 1/2, F1 2/3 ; class 1: recall 1, F1 1
  assert m["uar"] == pytest.approx(0.75)
  assert m["uf1"] == pytest.approx((2 / 3 + 1) / 2)


def test_all_wrong_is_zero_not_nan():
  m = metrics.summarise([0, 1], [1, 0], ["s", "s"], ("x", "y"))
  assert m["uf1"] == 0 and m["uar"] == 0 and m["accuracy"] == 0


def test_confusion_counts_every_pair():
  c = metrics.confusion_matrix(np.array([2, 2, 0]), np.array([2, 0, 0]), 3)
  assert c.tolist() == [[1, 0, 0], [0, 0, 0], [1, 0, 1]]


def test_interval_iou_and_megc_matching():
  assert metrics.interval_iou((10, 19), (10, 19)) == 1.0
  assert metrics.interval_iou((10, 19), (15, 24)) == pytest.approx(5 / 15)
  assert metrics.interval_iou((0, 4), (5, 9)) == 0.0
  truth = [(100, 129), (300, 339)]
  pred = [(105, 130), (98, 125), (200, 220), (305, 345)]
  pairs = metrics.match_intervals(pred, truth)
  # (105,130) vs (100,129): IoU 25/31; (98,125) vs it: 26/32 -> the better one wins, once.
  assert sorted(pairs) == [(1, 0), (3, 1)]
  s = metrics.spotting_scores(len(pairs), len(pred), len(truth))
  assert (s["tp"], s["fp"], s["fn"]) == (2, 2, 0)
  assert s["f1"] == pytest.approx(4 / 6) and s["recall"] == 1.0 and s["precision"] == 0.5


def test_matching_is_maximum_not_greedy():
  # Greedy best-IoU-first pairs (28,42) with (30,41) (IoU 12/15) and leaves (32,40) unmatched
  # against (29,48) (IoU 9/20); the maximum matching finds both.
  truth, pred = [(30, 41), (29, 48)], [(28, 42), (32, 40)]
  assert metrics.match_intervals(pred, truth) == [(0, 1), (1, 0)]
  assert metrics.match_intervals([], truth) == [] and metrics.match_intervals(pred, []) == []
  # Each prediction and each truth at most once, even where one prediction fits two truths.
  assert len(metrics.match_intervals([(10, 20)], [(10, 20), (10, 21)])) == 1


def test_strs_as_the_organisers_compute_it():
  # GT negative [0,9], positive [20,29], positive [40,49], surprise [60,69]; predictions negative
  # [0,8] and positive [42,49] match (IoU 0.9, 0.8), negative [12,17], positive [72,77] do not.
  truth = [(0, 9), (20, 29), (40, 49), (60, 69)]
  truth_classes = [0, 1, 1, 2]  # negative, positive, surprise
  pred = [(0, 8), (42, 49), (12, 17), (72, 77)]
  pred_classes = [0, 1, 0, 1]
  pairs = metrics.match_intervals(pred, truth)
  assert pairs == [(0, 0), (1, 2)]
  spot = metrics.spotting_scores(len(pairs), len(pred), len(truth))
  assert spot["f1"] == 0.5
  score = metrics.strs(spot["f1"], [truth_classes[j] for _, j in pairs],
                       [pred_classes[i] for i, _ in pairs], truth_classes)
  assert score == pytest.approx(1 / 3)  # surprise had no TP: 0.5 * (1 + 1 + 0) / 3
  assert metrics.strs(0.5, [], [], truth_classes) == 0.0
  assert metrics.strs(1.0, [0, 0], [0, 1], [0, 1]) == pytest.approx((2 / 3 + 0) / 2)


def test_subject_bootstrap_known_answers_and_a_plain_loop():
  rng = np.random.default_rng(0)
  subjects = np.repeat([f"s{i}" for i in range(6)], 5)
  true = rng.integers(0, 3, 30)
  perfect = metrics.subject_bootstrap(true, true, subjects, 3, resamples=200)
  assert perfect["uf1"] == [1.0, 1.0] and perfect["uar"] == [1.0, 1.0]
  assert perfect["subjects"] == 6 and perfect["resamples"] == 200
  one = metrics.subject_bootstrap(true, (true + 1) % 3, np.full(30, "s"), 3, resamples=50)
  assert one["uf1"] == [0.0, 0.0]  # one subject: every resample is the same set
  pred = np.where(rng.random(30) < 0.7, true, rng.integers(0, 3, 30))
  got = metrics.subject_bootstrap(true, pred, subjects, 3, resamples=300, seed=4)
  assert got == metrics.subject_bootstrap(true, pred, subjects, 3, resamples=300, seed=4)
  assert got["uf1"][0] <= metrics.uf1(true, pred, 3) <= got["uf1"][1]
  # The same resamples, drawn and pooled one at a time.
  draws = np.random.default_rng(4).integers(0, 6, (300, 6))
  names = np.unique(subjects)
  values = []
  for d in draws:
    keep = np.concatenate([np.flatnonzero(subjects == names[i]) for i in d])
    values.append(metrics.uf1(true[keep], pred[keep], 3))
  np.testing.assert_allclose(got["uf1"], np.percentile(values, [2.5, 97.5]))


def test_paired_bootstrap_known_answers_and_a_plain_loop():
  rng = np.random.default_rng(1)
  subjects = np.repeat([f"s{i}" for i in range(6)], 5)
  true = rng.integers(0, 3, 30)
  same = metrics.paired_bootstrap(true, true, true, subjects, 3, resamples=100)
  assert same["uf1"] == {"difference": 0.0, "interval_95": [0.0, 0.0]}
  apart = metrics.paired_bootstrap(true, true, (true + 1) % 3, subjects, 3, resamples=100)
  assert apart["uf1"] == {"difference": 1.0, "interval_95": [1.0, 1.0]}  # perfect vs all wrong
  a = np.where(rng.random(30) < 0.8, true, rng.integers(0, 3, 30))
  b = np.where(rng.random(30) < 0.5, true, rng.integers(0, 3, 30))
  got = metrics.paired_bootstrap(true, a, b, subjects, 3, resamples=300, seed=2)
  assert got["uar"]["difference"] == pytest.approx(
      metrics.summarise(true, a, subjects, (0, 1, 2))["uar"]
      - metrics.summarise(true, b, subjects, (0, 1, 2))["uar"])
  # The same draws for both methods, pooled one resample at a time.
  draws = np.random.default_rng(2).integers(0, 6, (300, 6))
  names = np.unique(subjects)
  differences = []
  for d in draws:
    keep = np.concatenate([np.flatnonzero(subjects == names[i]) for i in d])
    differences.append(metrics.uf1(true[keep], a[keep], 3) - metrics.uf1(true[keep], b[keep], 3))
  np.testing.assert_allclose(got["uf1"]["interval_95"], np.percentile(differences, [2.5, 97.5]))


def test_seeds_bootstrap_is_the_mean_over_seeds_of_each_resample():
  rng = np.random.default_rng(3)
  subjects = np.repeat([f"s{i}" for i in range(5)], 4)
  true = rng.integers(0, 3, 20)
  preds = [np.where(rng.random(20) < q, true, rng.integers(0, 3, 20)) for q in (0.9, 0.4)]
  got = metrics.seeds_bootstrap(true, preds, subjects, 3, resamples=200, seed=1)
  assert got["seeds"] == 2 and got["subjects"] == 5
  draws = np.random.default_rng(1).integers(0, 5, (200, 5))
  names = np.unique(subjects)
  means = []
  for d in draws:
    keep = np.concatenate([np.flatnonzero(subjects == names[i]) for i in d])
    means.append(np.mean([metrics.uf1(true[keep], p[keep], 3) for p in preds]))
  np.testing.assert_allclose(got["uf1"], np.percentile(means, [2.5, 97.5]))
  one = metrics.seeds_bootstrap(true, preds[:1], subjects, 3, resamples=200, seed=1)
  assert one["uf1"] == metrics.subject_bootstrap(true, preds[0], subjects, 3, resamples=200,
                                                 seed=1)["uf1"]


def test_mean_sd_gives_no_sd_for_one_seed():
  assert metrics.mean_sd([0.5, 0.7]) == {"mean": 0.6, "sd": np.std([0.5, 0.7], ddof=1)}
  assert metrics.mean_sd([0.5]) == {"mean": 0.5, "sd": None}
  assert metrics.plus_minus({"mean": 0.5, "sd": None}) == "0.500"
  assert metrics.plus_minus({"mean": -0.05, "sd": 0.01}, signed=True) == "-0.050 ± 0.010"
