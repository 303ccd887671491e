"""The task label sets chosen at load time (each database's vocabulary is its mexp.databases row)."""

from __future__ import annotations

from mexp import databases

# Task -> (class names, {emotion: class name}). Emotions outside the map are dropped by the task.
TASKS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "seed6": (
        ("disgust", "fear", "happiness", "repression", "sadness", "surprise"),
        {e: e for e in ("disgust", "fear", "happiness", "repression", "sadness", "surprise")},
    ),
    "casme2_5": (
        ("happiness", "surprise", "disgust", "repression", "others"),
        {e: e for e in ("happiness", "surprise", "disgust", "repression", "others")},
    ),
    # MEGC 2019 composite: negative = repression, anger, contempt, disgust, fear, sadness.
    # 'others' and CASME's 'tense' have no MEGC class and are dropped. See Database.megc3_excluded too.
    "megc3": (
        ("negative", "positive", "surprise"),
        {"repression": "negative", "anger": "negative", "contempt": "negative",
         "disgust": "negative", "fear": "negative", "sadness": "negative",
         "happiness": "positive", "surprise": "surprise",
         "negative": "negative", "positive": "positive"},  # SMIC is labelled in these classes
    ),
}



class UnknownEmotionError(ValueError):
  """An emotion string that no vocabulary knows."""


def canonical_emotion(text: str, database: databases.Database) -> str:
  """Normalises a sheet's emotion cell ('Happiness ', 'comtempt') to a name of the database's.

  Args:
    text: the raw cell text.
    database: the database's row (its emotions and the spellings found in its files).

  Returns:
    The canonical emotion name.

  Raises:
    UnknownEmotionError: when the text is not in the vocabulary, even after known fixes.
  """
  name = str(text).strip().lower()
  name = database.aliases.get(name, name)
  if name not in database.emotions:
    raise UnknownEmotionError(f"unknown emotion {text!r}; expected one of "
                              f"{', '.join(database.emotions)}")
  return name


def task_classes(task: str) -> tuple[str, ...]:
  """The ordered class names of a task."""
  return _task(task)[0]


def task_label(task: str, emotion: str, database: str | None = None) -> int | None:
  """The task's class id for an emotion, or None when the task drops that emotion.

  Args:
    task: one of TASKS ('seed6', 'casme2_5', 'megc3').
    emotion: a canonical emotion name.
    database: 'casme2', 'casme', ...; megc3 drops CASME II's fear and sadness, as MEGC 2019 did.

  Returns:
    The class index into `task_classes(task)`, or None.
  """
  classes, mapping = _task(task)
  row = databases.ROWS.get(database)
  if task == "megc3" and row is not None and emotion in row.megc3_excluded:
    return None
  target = mapping.get(emotion)
  return None if target is None else classes.index(target)


def _task(task: str):
  if task not in TASKS:
    raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
  return TASKS[task]
