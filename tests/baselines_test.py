import jax.numpy as jnp
import numpy as np
import pytest

from mexp import baselines
from mexp import config as config_lib
from mexp import folds as folds_lib
from mexp import input_pipeline as pipeline


def test_flow_features_pool_the_apex_frame():
  sal = np.full((2, 3, 4, 4, 3), 5.0, np.float16)  # frames other than the apex: ignored
  sal[0, 1] = 0
  sal[0, 1, :, :2, 0] = -1.0  # u = -1 in the left half of clip 0's apex frame only
  sal[1, 2] = 0
  sal[1, 2, 0, 0, :2] = [3.0, 4.0]  # |flow| 5 at one pixel of clip 1's apex frame
  sal[1, 2, 2:, 2:, 0] = [[1.0, -1.0], [1.0, -1.0]]  # cancels in u, not in |flow|
  out = baselines.flow_features(sal, np.array([1, 2]), grid=2)
  assert out.shape == (2, 2 * 2 * 3) and out.dtype == np.float32
  f0 = out[0].reshape(2, 2, 3)
  np.testing.assert_array_equal(f0[..., 0], [[-1, 0], [-1, 0]])  # left grid columns only
  np.testing.assert_array_equal(f0[..., 1], 0)
  np.testing.assert_array_equal(f0[..., 2], np.abs(f0[..., 0]))
  f1 = out[1].reshape(2, 2, 3)
  np.testing.assert_allclose(f1[..., 0], [[0.75, 0], [0, 0]])  # 3 / 4 pixels, and 1 - 1 = 0
  np.testing.assert_allclose(f1[..., 1], [[1, 0], [0, 0]])
  np.testing.assert_allclose(f1[..., 2], [[1.25, 0], [0, 1]])  # mean of |flow|, not |mean|


def test_flow_features_without_pooling_keep_each_pixel():
  rng = np.random.default_rng(0)
  sal = rng.normal(size=(1, 2, 4, 4, 2)).astype(np.float16)
  out = baselines.flow_features(sal, np.array([0]), grid=4).reshape(4, 4, 3)
  uv = sal[0, 0].astype(np.float32)
  np.testing.assert_allclose(out[..., :2], uv)
  np.testing.assert_allclose(out[..., 2], np.hypot(uv[..., 0], uv[..., 1]), rtol=1e-6)


def test_balanced_weights_known_answer():
  w = baselines.balanced_weights(np.array([0, 0, 0, 1]), 3)  # class 2 absent
  np.testing.assert_allclose(w, [2 / 3, 2 / 3, 2 / 3, 2])  # 4 / (2 present * count)
  assert w.dtype == np.float32
  np.testing.assert_allclose(baselines.balanced_weights(np.array([1, 0, 1, 0]), 2), 1)


def _separable(n=20, seed=0):
  rng = np.random.default_rng(seed)
  y = np.arange(n) % 2
  x = rng.normal(0, 0.5, (n, 2)) + np.where(y[:, None] == 1, [2.0, 1.0], [-2.0, -1.0])
  return x.astype(np.float32), y.astype(np.int32)


def _fit(x, y, c, w=None, steps=100):
  w = np.ones(len(y), np.float32) if w is None else w
  p = baselines.fit_logistic(jnp.asarray(x), jnp.asarray(y), jnp.asarray(w), c, num_classes=2,
                             steps=steps)
  return np.asarray(p["w"]), np.asarray(p["b"])


def test_fit_logistic_classifies_a_separable_set():
  x, y = _separable()
  w, b = _fit(x, y, 1.0)
  assert w.shape == (2, 2) and b.shape == (2,)
  np.testing.assert_array_equal(np.argmax(x @ w + b, 1), y)
  np.testing.assert_allclose(w[:, 0], -w[:, 1], atol=1e-4)  # the L2 penalty splits it evenly


def _newton_logistic(x, y, sample_w, iters=50):
  """Unregularised weighted binary logistic regression: (beta, bias) by Newton's method."""
  xb = np.concatenate([x, np.ones((len(x), 1))], 1).astype(np.float64)
  beta = np.zeros(xb.shape[1])
  for _ in range(iters):
    p = 1 / (1 + np.exp(-xb @ beta))
    grad = xb.T @ (sample_w * (p - y))
    hess = (xb * (sample_w * p * (1 - p))[:, None]).T @ xb
    beta -= np.linalg.solve(hess, grad)
  return beta[:-1], beta[-1]


def test_fit_logistic_with_a_huge_c_is_the_unregularised_solution():
  rng = np.random.default_rng(1)
  y = (np.arange(30) % 3 == 0).astype(np.int32)  # 10 vs 20: imbalanced, overlapping
  x = (rng.normal(0, 1, (30, 2)) + y[:, None] * [1.0, -0.5]).astype(np.float32)
  sample_w = baselines.balanced_weights(y, 2)
  beta, bias = _newton_logistic(x, y, sample_w)
  w, b = _fit(x, y, 1e4, sample_w, steps=300)
  # Two softmax classes: the logit difference is the binary model.
  np.testing.assert_allclose(w[:, 1] - w[:, 0], beta, rtol=1e-3, atol=1e-3)
  assert b[1] - b[0] == pytest.approx(bias, abs=1e-3)


def test_fit_logistic_with_a_tiny_c_shrinks_the_weights_to_zero():
  x, y = _separable()
  w, _ = _fit(x, y, 1e-8)
  assert np.abs(w).max() < 1e-6
  big, _ = _fit(x, y, 1.0)
  assert np.abs(big).max() > 0.1


def test_probe_fold_is_invariant_to_feature_scale():
  x, y = _separable(24, seed=2)
  train, test = np.arange(16), np.arange(16, 24)
  probe = config_lib.ProbeConfig(grid=1, c=0.1, steps=50)
  probs = baselines.probe_fold(x, y, train, test, 2, probe)
  assert probs.shape == (8, 2)
  np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
  np.testing.assert_array_equal(np.argmax(probs, 1), y[test])
  # Standardised with training statistics: an affine change of units changes nothing.
  scaled = baselines.probe_fold(x * [1000.0, 0.01] + [5.0, -3.0], y, train, test, 2, probe)
  np.testing.assert_allclose(scaled, probs, atol=1e-4)


def _flow_clips(kind="flow"):
  """3 classes moving left, right or down at their apex frame; other frames mislead."""
  rng = np.random.default_rng(0)
  n, t = 12, 4
  label = (np.arange(n) % 3).astype(np.int32)
  apex = (np.arange(n) % t).astype(np.int32)
  sal = rng.normal(0, 0.05, (n, t, 8, 8, 3 if kind == "ststnet" else 2)).astype(np.float16)
  direction = {0: (-1, 0), 1: (1, 0), 2: (0, 1)}
  for i in range(n):
    for k in range(t):  # the other frames: the next class's direction
      sal[i, k, 2:6, 2:6, :2] += direction[(label[i] + (k != apex[i])) % 3]
  return pipeline.Clips(
      raw_NxTxHxWxC=np.zeros((n, t, 8, 8, 1), np.uint8), saliency_NxTxHxWxS=sal,
      label_N=label, subject_N=np.array([f"casme2/sub{i // 3:02d}" for i in range(n)]),
      clip_N=np.array([f"EP{i:02d}" for i in range(n)]), classes=("a", "b", "c"), dropped={},
      saliency_kind=kind, apex_index_N=apex)


@pytest.mark.parametrize("kind", ["flow", "ststnet"])
def test_cross_validate_predicts_every_clip_once_from_the_apex(kind):
  clips = _flow_clips(kind)
  folds = folds_lib.make_folds(clips.subject_N, "loso")
  rows = baselines.cross_validate(config_lib.ProbeConfig(grid=2, c=0.1, steps=50), clips, folds)
  assert len(rows) == 4
  assert sorted(sum((r["clip"] for r in rows), [])) == clips.clip_N.tolist()
  for r, fold in zip(rows, folds):
    assert r["subject"] == clips.subject_N[fold.test].tolist()
    assert r["label"] == clips.label_N[fold.test].tolist()
    probs = np.asarray(r["probabilities"])
    assert probs.shape == (3, 3)
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
    np.testing.assert_array_equal(np.argmax(probs, 1), r["label"])


@pytest.mark.parametrize("kind", ["median", "onset", "strain"])
def test_check_flow_refuses_other_kinds(kind):
  for features in ("flow", "flow+raw_diff"):
    with pytest.raises(ValueError, match=f"needs a flow saliency .*not '{kind}'"):
      baselines.check_flow(config_lib.ProbeConfig(features=features), kind)
  clips = _flow_clips()
  clips = pipeline.Clips(**{**clips.__dict__, "saliency_kind": kind})
  with pytest.raises(ValueError, match="needs a flow saliency"):
    baselines.cross_validate(config_lib.ProbeConfig(), clips, [])
  baselines.check_flow(config_lib.ProbeConfig(features="raw_diff"), kind)  # reads no flow


def test_check_flow_accepts_flow_kinds():
  for kind in ("flow", "ststnet"):
    baselines.check_flow(config_lib.ProbeConfig(), kind)  # no error


def test_raw_diff_features_are_apex_minus_onset_pooled():
  raw = np.full((2, 3, 4, 4, 1), 100, np.uint8)
  raw[0, 2, :2] = 110  # clip 0's apex (index 2): top half 10 grey levels brighter than onset
  raw[1, 0, :, :2] = 50  # clip 1's onset darker on the left: apex (index 1) minus onset = +50
  raw[1, 2] = 0  # a frame other than the apex and onset: ignored
  out = baselines.raw_diff_features(raw, np.array([2, 1]), grid=2)
  assert out.shape == (2, 4) and out.dtype == np.float32
  np.testing.assert_array_equal(out[0].reshape(2, 2), [[10, 10], [0, 0]])
  np.testing.assert_array_equal(out[1].reshape(2, 2), [[50, 0], [50, 0]])  # no uint8 wrap-around


def _raw_moving_clips():
  """3 classes whose apex frame brightens the top, the left or the bottom of a random face."""
  rng = np.random.default_rng(1)
  n, t = 12, 3
  label = (np.arange(n) % 3).astype(np.int32)
  raw = np.repeat(rng.integers(60, 200, (n, 1, 8, 8, 1)), t, axis=1).astype(np.uint8)
  region = {0: np.s_[:4, :], 1: np.s_[:, :4], 2: np.s_[4:, :]}
  for i in range(n):
    raw[i, 1][region[label[i]]] += 20
  clips = _flow_clips("median")  # no flow at all
  return pipeline.Clips(**{**clips.__dict__, "raw_NxTxHxWxC": raw, "label_N": label,
                           "apex_index_N": np.ones(n, np.int32)})


def test_cross_validate_on_raw_differences_without_flow():
  clips = _raw_moving_clips()
  folds = folds_lib.make_folds(clips.subject_N, "loso")
  probe = config_lib.ProbeConfig(grid=2, c=0.1, steps=50, features="raw_diff")
  rows = baselines.cross_validate(probe, clips, folds)
  for r in rows:  # each subject's face differs; the movement does not
    np.testing.assert_array_equal(np.argmax(r["probabilities"], 1), r["label"])


def test_features_side_by_side_in_the_named_order():
  clips = _flow_clips()
  both = baselines.features(config_lib.ProbeConfig(grid=2, features="flow+raw_diff"), clips)
  flow = baselines.flow_features(clips.saliency_NxTxHxWxS, clips.apex_index_N, 2)
  raw = baselines.raw_diff_features(clips.raw_NxTxHxWxC, clips.apex_index_N, 2)
  np.testing.assert_array_equal(both, np.concatenate([flow, raw], 1))


def test_probe_config_defaults_and_description():
  probe = config_lib.ProbeConfig()
  assert (probe.grid, probe.c, probe.steps) == (8, 0.1, 300)
  text = baselines.description(probe)
  assert text.startswith("linear probe: onset->apex flow (u, v, |flow|) area-pooled to 8x8")
  assert "C=0.1" in text and probe.features == "flow"
  both = baselines.description(config_lib.ProbeConfig(features="flow+raw_diff"))
  assert both.startswith("linear probe: onset->apex flow (u, v, |flow|) and apex-minus-onset "
                         "raw grey levels area-pooled to 8x8")
