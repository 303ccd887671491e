import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mexp import config as config_lib
from mexp import input_pipeline as pipeline

SUBJECTS = np.array([f"casme2/sub{s:02d}" for s in (1, 1, 2, 3, 3, 3, 4, 5, 5, 6)])


@pytest.mark.parametrize("scheme,val", [("loso", 0), ("loso", 2), ("3", 0), ("2", 1)])
def test_no_subject_on_two_sides(scheme, val):
  folds = pipeline.make_folds(SUBJECTS, scheme, val_subjects=val, seed=3)
  assert len(folds) == (6 if scheme == "loso" else int(scheme))
  tested = np.concatenate([f.test for f in folds])
  assert sorted(tested) == list(range(len(SUBJECTS)))  # every clip tested exactly once
  for f in folds:
    sides = [set(SUBJECTS[getattr(f, k)]) for k in ("train", "val", "test")]
    assert not (sides[0] & sides[2]) and not (sides[0] & sides[1]) and not (sides[1] & sides[2])
    assert len(sides[1]) == val
    assert len(f.train) + len(f.val) + len(f.test) == len(SUBJECTS)


def test_leakage_guard_fires():
  fold = pipeline.Fold("bad", train=np.array([0, 2]), val=np.array([], int), test=np.array([1]))
  with pytest.raises(pipeline.LeakageError, match="sub01.*train and test"):
    pipeline.check_no_leakage(fold, SUBJECTS)


def test_bad_fold_counts():
  with pytest.raises(ValueError, match="7 folds"):
    pipeline.make_folds(SUBJECTS, "7")
  with pytest.raises(ValueError, match="validation"):
    pipeline.make_folds(SUBJECTS, "loso", val_subjects=5)


def test_class_weights_inverse_frequency_mean_one():
  w = pipeline.class_weights(np.array([0, 0, 0, 1]), 3)
  assert w[2] == 0 and w[1] == pytest.approx(3 * w[0])
  assert w[:2].mean() == pytest.approx(1.0)


def test_batches_are_padded_and_masked():
  batches = list(pipeline.batch_indices(np.arange(5), 4))
  assert [m.tolist() for _, m in batches] == [[1, 1, 1, 1], [1, 0, 0, 0]]
  assert batches[1][0].tolist() == [4, 0, 0, 0]
  a = [i.tolist() for i, _ in pipeline.batch_indices(np.arange(8), 4, shuffle_seed=[0, 1])]
  b = [i.tolist() for i, _ in pipeline.batch_indices(np.arange(8), 4, shuffle_seed=[0, 1])]
  assert a == b and sorted(sum(a, [])) == list(range(8))


def test_flow_decodes_signed():
  raw, sal = pipeline.decode(jnp.array([255], jnp.uint8), jnp.array([1, 128, 255], jnp.uint8),
                             "flow")
  np.testing.assert_allclose(raw, [1.0])
  np.testing.assert_allclose(sal, [-1.0, 0.0, 1.0])


def test_inputs_standardized_per_clip_and_channel():
  rng = np.random.default_rng(0)
  raw = jnp.asarray(rng.integers(0, 255, (2, 4, 5, 5, 3)), jnp.uint8)
  sal = jnp.zeros((2, 4, 5, 5, 1), jnp.uint8).at[1, 2, 2, 2].set(200)
  r, s = pipeline.to_float(raw, sal, "median")
  np.testing.assert_allclose(r.mean(axis=(1, 2, 3)), 0, atol=1e-5)
  np.testing.assert_allclose(r.std(axis=(1, 2, 3)), 1, atol=1e-2)
  assert np.all(s[0] == 0)  # nothing moved: stays exactly zero
  assert float(s[1, 2, 2, 2, 0]) == float(s[1].max()) > 5


def _aug(seed, raw, sal, kind="median", **kw):
  cfg = config_lib.AugmentConfig(**{"flip": True, "max_shift": 0, "max_time_shift": 0, **kw})
  return pipeline.augment(jax.random.key(seed), raw, sal, cfg, kind)


def test_augment_same_transform_on_both_streams():
  x = jax.random.uniform(jax.random.key(0), (4, 6, 6, 1))
  for seed in range(6):
    r, s = _aug(seed, x, x, max_shift=2, max_time_shift=1)
    np.testing.assert_array_equal(r, s)


def test_flip_mirrors_and_negates_flow_u():
  raw = jnp.arange(4.0).reshape(1, 1, 4, 1) * jnp.ones((2, 3, 4, 1))
  flow = jnp.concatenate([jnp.full((2, 3, 4, 1), 0.5), jnp.full((2, 3, 4, 1), 0.25)], -1)
  flipped = [k for k in range(20) if _aug(k, raw, flow, "flow")[0][0, 0, 0, 0] == 3.0]
  kept = [k for k in range(20) if _aug(k, raw, flow, "flow")[0][0, 0, 0, 0] == 0.0]
  assert flipped and kept  # both outcomes happen
  r, s = _aug(flipped[0], raw, flow, "flow")
  np.testing.assert_array_equal(r[0, 0, :, 0], [3, 2, 1, 0])
  np.testing.assert_allclose(s[0, 0, 0], [-0.5, 0.25])
  _, s = _aug(kept[0], raw, flow, "flow")
  np.testing.assert_allclose(s[0, 0, 0], [0.5, 0.25])


def test_shift_pads_with_the_edge():
  x = jnp.arange(5.0).reshape(5, 1, 1, 1) * jnp.ones((5, 2, 2, 1))
  outs = {tuple(np.asarray(_aug(k, x, x, flip=False, max_time_shift=1)[0][:, 0, 0, 0]).tolist())
          for k in range(30)}
  assert outs == {(0, 1, 2, 3, 4), (0, 0, 1, 2, 3), (1, 2, 3, 4, 4)}
