"""Emotion vocabularies of each database and the task label sets chosen at load time."""

from __future__ import annotations

# Full vocabularies, as stored in the datasets' `emotion` ClassLabel (sorted, so ids are stable).
CASME2_EMOTIONS = ("disgust", "fear", "happiness", "others", "repression", "sadness", "surprise")
CASME_EMOTIONS = ("contempt", "disgust", "fear", "happiness", "repression", "sadness", "surprise",
                  "tense")
SAMM_EMOTIONS = ("anger", "contempt", "disgust", "fear", "happiness", "others", "sadness",
                 "surprise")
SMIC_EMOTIONS = ("negative", "positive", "surprise")  # its folder names; SMIC has no finer labels
CASME3_EMOTIONS = ("anger", "disgust", "fear", "happiness", "others", "sadness", "surprise")
MMEW_EMOTIONS = ("anger", "disgust", "fear", "happiness", "others", "sadness", "surprise")
CASME_SQ_EMOTIONS = ("negative", "others", "positive", "surprise")  # CAS(ME)^2's emotion column

# Spellings found in each database's files -> canonical name (after trimming and lower-casing).
CASME_ALIASES = {  # CASME and CASME II
    "comtempt": "contempt",  # CASME Section A/B sheets
    "happy": "happiness",
    "surprised": "surprise",
    "sad": "sadness",
    "other": "others",
}
SAMM_ALIASES = {"other": "others"}  # 'Other' in the v2 sheet, 'Others' in some loaders
SMIC_ALIASES: dict[str, str] = {}  # the folder names are the vocabulary
# CAS(ME)^3 Part A's `emotion` column: disgust, surprise, others/Others, fear, anger, sad, happy.
CASME3_ALIASES = {"sad": "sadness", "happy": "happiness", "other": "others"}
MMEW_ALIASES = {"other": "others"}  # the sheet spells the canonical names
CASME_SQ_ALIASES = {"other": "others"}  # CASFEcode_final: negative, positive, surprise, others

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
    # 'others' and CASME's 'tense' have no MEGC class and are dropped. See MEGC3_EXCLUDED too.
    "megc3": (
        ("negative", "positive", "surprise"),
        {"repression": "negative", "anger": "negative", "contempt": "negative",
         "disgust": "negative", "fear": "negative", "sadness": "negative",
         "happiness": "positive", "surprise": "surprise",
         "negative": "negative", "positive": "positive"},  # SMIC is labelled in these classes
    ),
}


# The official MEGC 2019 ground truth leaves CASME II's fear and sadness clips out (145 clips:
# 88 negative, 32 positive, 25 surprise); following it keeps our numbers comparable.
MEGC3_EXCLUDED = {"casme2": frozenset({"fear", "sadness"})}


class UnknownEmotionError(ValueError):
  """An emotion string that no vocabulary knows."""


def canonical_emotion(text: str, vocabulary: tuple[str, ...],
                      aliases: dict[str, str] | None = None) -> str:
  """Normalises a sheet's emotion cell ('Happiness ', 'comtempt') to a name in `vocabulary`.

  Args:
    text: the raw cell text.
    vocabulary: the database's emotion names.
    aliases: the database's spellings -> canonical names; CASME_ALIASES when None.

  Returns:
    The canonical emotion name.

  Raises:
    UnknownEmotionError: when the text is not in the vocabulary, even after known fixes.
  """
  name = str(text).strip().lower()
  name = (CASME_ALIASES if aliases is None else aliases).get(name, name)
  if name not in vocabulary:
    raise UnknownEmotionError(f"unknown emotion {text!r}; expected one of {', '.join(vocabulary)}")
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
  if task == "megc3" and emotion in MEGC3_EXCLUDED.get(database, ()):
    return None
  target = mapping.get(emotion)
  return None if target is None else classes.index(target)


def _task(task: str):
  if task not in TASKS:
    raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
  return TASKS[task]
