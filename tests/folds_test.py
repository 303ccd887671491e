import numpy as np
import pytest

from mexp import folds as folds_lib

SUBJECTS = np.array([f"casme2/sub{s:02d}" for s in (1, 1, 2, 3, 3, 3, 4, 5, 5, 6)])


@pytest.mark.parametrize("scheme,val", [("loso", 0), ("loso", 2), ("3", 0), ("2", 1)])
def test_no_subject_on_two_sides(scheme, val):
  folds = folds_lib.make_folds(SUBJECTS, scheme, val_subjects=val, seed=3)
  assert len(folds) == (6 if scheme == "loso" else int(scheme))
  tested = np.concatenate([f.test for f in folds])
  assert sorted(tested) == list(range(len(SUBJECTS)))  # every clip tested exactly once
  for f in folds:
    sides = [set(SUBJECTS[getattr(f, k)]) for k in ("train", "val", "test")]
    assert not (sides[0] & sides[2]) and not (sides[0] & sides[1]) and not (sides[1] & sides[2])
    assert len(sides[1]) == val
    assert len(f.train) + len(f.val) + len(f.test) == len(SUBJECTS)


def test_loso_fold_names_are_the_test_subjects():
  folds = folds_lib.make_folds(SUBJECTS, "loso")
  assert [f.name for f in folds] == ["sub01", "sub02", "sub03", "sub04", "sub05", "sub06"]
  assert folds[2].test.tolist() == [3, 4, 5]


def test_leakage_guard_fires():
  fold = folds_lib.Fold("bad", train=np.array([0, 2]), val=np.array([], int), test=np.array([1]))
  with pytest.raises(folds_lib.LeakageError, match="sub01.*train and test"):
    folds_lib.check_no_leakage(fold, SUBJECTS)


def test_bad_fold_counts():
  with pytest.raises(ValueError) as e:
    folds_lib.make_folds(SUBJECTS, "7")
  assert str(e.value) == "--config.data.folds 7: with 6 subjects, choose 2..6 folds (or 'loso')"
  with pytest.raises(ValueError, match=r"--config.data.folds 1: with 6 subjects, choose 2\.\.6"):
    folds_lib.make_folds(SUBJECTS, "1")
  with pytest.raises(ValueError) as e:
    folds_lib.make_folds(SUBJECTS, "abc")
  assert str(e.value) == "--config.data.folds 'abc': expected 'loso' or a number of folds"
  with pytest.raises(ValueError, match="validation"):
    folds_lib.make_folds(SUBJECTS, "loso", val_subjects=5)
