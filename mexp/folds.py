"""Subject-wise folds (LOSO or k folds) and the guard that no subject sits on two sides."""

from __future__ import annotations

import dataclasses

import numpy as np


class LeakageError(AssertionError):
  """A subject on both sides of a fold."""


@dataclasses.dataclass(frozen=True)
class Fold:
  name: str
  train: np.ndarray  # indices
  val: np.ndarray
  test: np.ndarray


def check_no_leakage(fold: Fold, subject_N: np.ndarray) -> None:
  """Raises LeakageError when any subject sits on two sides of the fold."""
  sides = {k: set(subject_N[getattr(fold, k)]) for k in ("train", "val", "test")}
  for a, b in (("train", "test"), ("train", "val"), ("val", "test")):
    if sides[a] & sides[b]:
      raise LeakageError(f"fold {fold.name}: subjects {sorted(sides[a] & sides[b])} are in both "
                         f"{a} and {b}")


def make_folds(subject_N: np.ndarray, scheme: str, *, val_subjects: int = 0,
               seed: int = 0) -> list[Fold]:
  """Subject-wise folds: 'loso' (one test subject each), or k folds over subjects.

  Validation subjects, when asked for, come from each fold's training subjects only.

  Args:
    subject_N: the subject of every clip.
    scheme: 'loso' or a number k.
    val_subjects: how many training subjects each fold holds out for validation.
    seed: shuffles the subjects for k folds and picks the validation subjects.

  Returns:
    The folds, each checked for leakage.
  """
  subjects = sorted(set(subject_N))
  # Fold names drop the database ('sub01'), unless several databases could share a subject name.
  several = len({database_of(s) for s in subjects}) > 1
  short = (lambda s: s.replace("/", "_")) if several else (lambda s: s.split("/")[-1])
  if scheme == "loso":
    groups = [[s] for s in subjects]
  else:
    try:
      k = int(scheme)
    except ValueError:
      raise ValueError(f"--config.data.folds {scheme!r}: expected 'loso' or a number of "
                       "folds") from None
    if not 2 <= k <= len(subjects):
      raise ValueError(f"--config.data.folds {k}: with {len(subjects)} subjects, choose "
                       f"2..{len(subjects)} folds (or 'loso')")
    order = np.random.default_rng(seed).permutation(len(subjects))
    groups = [[subjects[i] for i in sorted(part)] for part in np.array_split(order, k)]
  folds = []
  for i, test_subjects in enumerate(groups):
    rest = [s for s in subjects if s not in test_subjects]
    if len(rest) - val_subjects < 1:
      raise ValueError(f"{val_subjects} validation subjects leave none of {len(rest)} to train on")
    rng = np.random.default_rng([seed, i])
    val = set(rng.choice(rest, size=val_subjects, replace=False)) if val_subjects else set()
    fold = Fold(name="+".join(map(short, test_subjects)),
                train=np.flatnonzero([s not in val and s in rest for s in subject_N]),
                val=np.flatnonzero([s in val for s in subject_N]),
                test=np.flatnonzero(np.isin(subject_N, test_subjects)))
    check_no_leakage(fold, subject_N)
    folds.append(fold)
  return folds


def database_of(subject: str) -> str:
  """'samm' for 'samm/006': subject ids are namespaced by their database."""
  return subject.split("/", 1)[0]


def cross_database_fold(subject_N: np.ndarray, test_databases, *, val_subjects: int = 0,
                        seed: int = 0) -> Fold:
  """One fold: train on every other database's subjects, test on `test_databases`' subjects.

  Args:
    subject_N: the namespaced subject of every clip ('casme2/sub01').
    test_databases: database names, e.g. ('samm',).
    val_subjects: training subjects held out for validation.
    seed: picks the validation subjects.

  Returns:
    The fold, checked for leakage.
  """
  database_N = np.array([database_of(s) for s in subject_N])
  test = np.isin(database_N, list(test_databases))
  missing = sorted(set(test_databases) - set(database_N))
  if missing or test.all():
    raise ValueError(f"cross-database: no clips of {', '.join(missing)} to test on" if missing
                     else "cross-database: no training database left")
  rest = sorted(set(subject_N[~test]))
  if len(rest) - val_subjects < 1:
    raise ValueError(f"{val_subjects} validation subjects leave none of {len(rest)} to train on")
  val = (set(np.random.default_rng([seed, 0]).choice(rest, size=val_subjects, replace=False))
         if val_subjects else set())
  in_val = np.isin(subject_N, sorted(val))
  fold = Fold(name="+".join(test_databases), train=np.flatnonzero(~test & ~in_val),
              val=np.flatnonzero(in_val), test=np.flatnonzero(test))
  check_no_leakage(fold, subject_N)
  return fold


def folds_for(data, subject_N: np.ndarray, seed: int = 0) -> list[Fold]:
  """The folds a DataConfig asks for: one cross-database fold, or subject-wise CV; with
  score_on 'validation', each fold's validation subjects as its test side."""
  from mexp import config as config_lib
  test = config_lib.test_datasets_of(data)
  if test:
    folds = [cross_database_fold(subject_N, test, val_subjects=data.val_subjects, seed=seed)]
  else:
    folds = make_folds(subject_N, data.folds, val_subjects=data.val_subjects, seed=seed)
  if data.score_on == "validation":  # model selection: the test subjects drop out entirely
    folds = [Fold(f.name, f.train, f.val[:0], f.val) for f in folds]
  return folds
