"""The synthetic SAMM twin: `SAMM/006/006_1_2/006_05562.jpg` (grey) + a dated FACS-code sheet.

The sheet carries SAMM's documented quirks on fixed rows: 13 rows of text above the header, a
dated file name, Subject as the number 6 in the first row and as the text '006' elsewhere, a
blank Apex Frame, an Action Units cell with 'or', and an Offset Frame typed 9 frames short of the
clip folder's last frame. Frames are 640x480 grey (the real ones are 960x650).
"""

from __future__ import annotations

import collections
import os
from pathlib import Path

import numpy as np

from mexp import databases
from mexp.synthetic.clips import SheetClip, atomic_dir, render_clip, run_all, write_frames
from mexp.synthetic.faces import Face, jitter_face, random_face

FPS = databases.SAMM.fps
SHEET = "SAMM_20181215_Micro_FACS_Codes_v2.xlsx"
HEADER = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame",
          "Duration", "Micro", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"]
# Emotion as the sheet spells it -> (candidate AU sets, objective class).
EMOTION_AUS = {
    "Anger": ([(4, 7), (4,)], 3),
    "Contempt": ([(14,)], 3),
    "Disgust": ([(9,), (10,), (9, 10)], 4),
    "Fear": ([(1, 2, 4, 20)], 6),
    "Happiness": ([(6, 12), (12,)], 1),
    "Sadness": ([(1, 4, 15)], 5),
    "Surprise": ([(1, 2)], 2),
    "Other": ([(7,), (24,), (38,)], 7),
}
SUBJECTS = tuple(s for s in range(6, 38) if s not in (8, 27, 29))
TEXT_ROWS = 13
# Rows (0-based, below the header) that carry a quirk.
QUIRK_SUBJECT_NUMBER_ROW, QUIRK_APEX_BLANK_ROW, QUIRK_AU_OR_ROW, QUIRK_OFFSET_SHORT_ROW = 0, 1, 2, 4
OFFSET_SHORT_BY = 9


def plan(subjects: int, seed: int, clips_per_emotion: int = 1) -> tuple[list[Face], list[SheetClip]]:
  """Every subject's face and every clip's name, timing and label, from one seed."""
  if not 1 <= subjects <= len(SUBJECTS):
    raise ValueError(f"--subjects must be 1..{len(SUBJECTS)} for SAMM, not {subjects}")
  rng = np.random.default_rng([seed, 2])
  faces = [random_face(rng) for _ in range(subjects)]
  clips = []
  for subject in SUBJECTS[:subjects]:
    episodes = [e for e in EMOTION_AUS for _ in range(clips_per_emotion)]
    rng.shuffle(episodes)
    per_inducement = collections.Counter()
    for emotion in episodes:
      n = int(rng.integers(24, 49))  # 120-240 ms at 200 fps
      onset = int(rng.integers(1000, 9000))
      apex = onset + int(round(n * rng.uniform(0.35, 0.65)))
      choices = EMOTION_AUS[emotion][0]
      inducement = int(rng.integers(1, 8))
      per_inducement[inducement] += 1
      clips.append(SheetClip(subject=subject, filename=f"{subject:03d}_{inducement}_"
                            f"{per_inducement[inducement]}", emotion=emotion,
                            aus=choices[rng.integers(len(choices))], onset=onset, apex=apex,
                            offset=onset + n - 1, seed=int(rng.integers(2**31))))
  return faces, clips


def _write_clip(out: Path, face: Face, clip: SheetClip) -> None:
  rng = np.random.default_rng(clip.seed)
  frames = render_clip(jitter_face(face, rng), clip.aus, rng, clip.offset - clip.onset + 1,
                       clip.apex - clip.onset, fps=FPS)
  subject = f"{clip.subject:03d}"
  write_frames(out / "SAMM" / subject / clip.filename, frames,
               [f"{subject}_{clip.onset + i:05d}.jpg" for i in range(len(frames))], grey=True,
               quality=int(rng.integers(85, 95)))


def write_sheet(path: Path, clips: list[SheetClip]) -> None:
  """The FACS-code sheet: text rows, then SAMM's header and one row per clip, quirks included."""
  import openpyxl
  book = openpyxl.Workbook()
  sheet = book.active
  text = ["SAMM: Spontaneous Micro-Facial Movement Dataset (synthetic twin)",
          "FACS coding of the micro-movements", None,
          "Frame numbers are those of the whole recording (200 fps).",
          "Objective Classes follow Davison et al. (2018).", None]
  for line in (text + [None] * TEXT_ROWS)[:TEXT_ROWS]:
    sheet.append([line])
  sheet.append(HEADER)
  for i, c in enumerate(clips):
    aus = "+".join(map(str, c.aus))
    sheet.append([
        c.subject if i == QUIRK_SUBJECT_NUMBER_ROW else f"{c.subject:03d}", c.filename,
        int(c.filename.split("_")[1]), c.onset, None if i == QUIRK_APEX_BLANK_ROW else c.apex,
        c.offset - OFFSET_SHORT_BY if i == QUIRK_OFFSET_SHORT_ROW else c.offset,
        c.offset - c.onset + 1, "Micro", f"{aus} or 43" if i == QUIRK_AU_OR_ROW else aus,
        c.emotion, EMOTION_AUS[c.emotion][1], None])
  book.save(path)


def generate(out_dir: str | os.PathLike, *, subjects: int = 8, seed: int = 0,
             clips_per_emotion: int = 1, workers: int | None = None,
             progress: bool = False) -> Path:
  """Writes the synthetic SAMM folder atomically.

  Args:
    out_dir: must not exist yet (or be empty).
    subjects: number of distinct faces (SAMM's ids 006, 007, 009, ...).
    seed: everything is deterministic given it.
    clips_per_emotion: clips of each of the 8 emotions per subject.
    workers: rendering threads; all cores when None.
    progress: show a progress bar.

  Returns:
    The folder, ready for `python -m mexp.datasets build samm --manual_dir`.
  """
  faces, clips = plan(subjects, seed, clips_per_emotion)
  if len(clips) <= QUIRK_OFFSET_SHORT_ROW:
    raise ValueError("too few clips to carry every quirk: use more subjects or clips")
  with atomic_dir(out_dir) as tmp:
    run_all(lambda c: _write_clip(tmp, faces[SUBJECTS.index(c.subject)], c), clips,
            workers=workers, progress=progress)
    write_sheet(tmp / SHEET, clips)
  return Path(out_dir)
