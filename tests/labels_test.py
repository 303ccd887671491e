import pytest

from mexp import databases
from mexp import labels


def test_canonical_emotion_fixes_case_space_and_known_misspelling():
  assert labels.canonical_emotion(" Happiness ", databases.CASME2) == "happiness"
  assert labels.canonical_emotion("comtempt", databases.CASME) == "contempt"


def test_each_database_has_its_own_spellings():
  assert labels.canonical_emotion("Other", databases.SAMM) == "others"
  assert labels.canonical_emotion("Others", databases.SAMM) == "others"
  assert labels.canonical_emotion("Anger", databases.SAMM) == "anger"
  assert labels.canonical_emotion("negative", databases.SMIC) == \
      "negative"
  with pytest.raises(labels.UnknownEmotionError, match="'comtempt'"):  # a CASME misspelling only
    labels.canonical_emotion("comtempt", databases.SAMM)
  with pytest.raises(labels.UnknownEmotionError, match="'happy'; expected one of negative"):
    labels.canonical_emotion("happy", databases.SMIC)


def test_unknown_emotion_names_it():
  with pytest.raises(labels.UnknownEmotionError, match="'joy'"):
    labels.canonical_emotion("joy", databases.CASME2)
  with pytest.raises(labels.UnknownEmotionError, match="'tense'"):
    labels.canonical_emotion("tense", databases.CASME2)  # a CASME emotion, not CASME II


@pytest.mark.parametrize("task,emotion,database,expected", [
    ("seed6", "disgust", "casme2", 0),
    ("seed6", "surprise", "casme2", 5),
    ("seed6", "others", "casme2", None),
    ("casme2_5", "others", "casme2", 4),
    ("casme2_5", "fear", "casme2", None),
    ("casme2_5", "happiness", "casme2", 0),
    ("megc3", "repression", "casme2", 0),
    ("megc3", "disgust", "casme2", 0),
    ("megc3", "happiness", "casme2", 1),
    ("megc3", "surprise", "casme2", 2),
    ("megc3", "fear", "casme2", None),  # MEGC 2019 left CASME II fear/sadness out
    ("megc3", "sadness", "casme2", None),
    ("megc3", "others", "casme2", None),
    ("megc3", "contempt", "casme", 0),
    ("megc3", "fear", "casme", 0),
    ("megc3", "tense", "casme", None),
    ("megc3", "anger", "samm", 0),  # MEGC 2019: SAMM's Anger, Contempt, Disgust, Fear, Sadness
    ("megc3", "contempt", "samm", 0),
    ("megc3", "fear", "samm", 0),
    ("megc3", "sadness", "samm", 0),
    ("megc3", "happiness", "samm", 1),
    ("megc3", "surprise", "samm", 2),
    ("megc3", "others", "samm", None),  # Other is left out
    ("megc3", "negative", "smic", 0),  # SMIC-HS: as labelled
    ("megc3", "positive", "smic", 1),
    ("megc3", "surprise", "smic", 2),
])
def test_task_label(task, emotion, database, expected):
  assert labels.task_label(task, emotion, database) == expected


def test_task_classes_and_unknown_task():
  assert labels.task_classes("megc3") == ("negative", "positive", "surprise")
  assert len(labels.task_classes("seed6")) == 6
  with pytest.raises(ValueError, match="seed7"):
    labels.task_classes("seed7")


def test_every_task_target_is_a_vocabulary_emotion():
  known = (set(databases.CASME2.emotions) | set(databases.CASME.emotions) | set(databases.SAMM.emotions)
           | set(databases.SMIC.emotions))
  for task, (classes, mapping) in labels.TASKS.items():
    assert set(mapping) <= known, task
    assert set(mapping.values()) == set(classes), task
