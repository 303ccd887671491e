"""The synthetic MMEW twin: `MMEW_Final/Micro_Expression/{emotion}/{Filename}/{N}.jpg` + its sheet.

Quirk: the `others` clips sit in `repression/` (one of the two folder names MMEW copies are said
to use). Frames are 640x480 colour, numbered from 1 within each clip folder; 90 fps.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mexp import databases
from mexp.synthetic.clips import SheetClip, atomic_dir, render_clip, run_all, write_frames
from mexp.synthetic.faces import Face, jitter_face, random_face

FPS = databases.MMEW.fps
SHEET = "MMEW_Micro_Exp.xlsx"
HEADER = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units",
          "Estimated Emotion", "remarks"]
EMOTION_AUS = {
    "happiness": [(6, 12), (12,)],
    "surprise": [(1, 2)],
    "disgust": [(9,), (10,), (4, 9)],
    "fear": [(1, 2, 4, 20)],
    "sadness": [(1, 4, 15)],
    "anger": [(4, 7), (4,)],
    "others": [(7,), (24,), (38,)],
}
OTHERS_FOLDER = "repression"
SUBJECTS = tuple(range(1, 31))


def plan(subjects: int, seed: int, clips_per_emotion: int = 1) -> tuple[list[Face], list[SheetClip]]:
  """Every subject's face and every clip's name, timing and label, from one seed."""
  if not 1 <= subjects <= len(SUBJECTS):
    raise ValueError(f"--subjects must be 1..{len(SUBJECTS)} for MMEW, not {subjects}")
  rng = np.random.default_rng([seed, 5])
  faces = [random_face(rng) for _ in range(subjects)]
  clips = []
  for subject in SUBJECTS[:subjects]:
    for emotion, choices in EMOTION_AUS.items():
      for k in range(clips_per_emotion):
        n = int(rng.integers(18, 43))  # 200-470 ms at 90 fps
        onset = int(rng.integers(1, 4))  # folders hold a frame or two before the onset
        clips.append(SheetClip(subject=subject, filename=f"S{subject:02d}_{emotion}_{k + 1:02d}",
                              emotion=emotion, aus=choices[rng.integers(len(choices))],
                              onset=onset, apex=onset + int(round(n * rng.uniform(0.35, 0.65))),
                              offset=onset + n - 1, seed=int(rng.integers(2**31))))
  return faces, clips


def folder(emotion: str) -> str:
  """The emotion folder's name in the twin."""
  return OTHERS_FOLDER if emotion == "others" else emotion


def _write_clip(out: Path, face: Face, clip: SheetClip) -> None:
  rng = np.random.default_rng(clip.seed)
  frames = render_clip(jitter_face(face, rng), clip.aus, rng, clip.offset - clip.onset + 1,
                       clip.apex - clip.onset, fps=FPS)
  frames = np.concatenate([np.repeat(frames[:1], clip.onset - 1, axis=0), frames, frames[-1:]])
  write_frames(out / "MMEW_Final" / "Micro_Expression" / folder(clip.emotion) / clip.filename,
               frames, [f"{n}.jpg" for n in range(1, len(frames) + 1)],
               quality=int(rng.integers(85, 95)))


def write_sheet(path: Path, clips: list[SheetClip]) -> None:
  """The micro-expression sheet: MMEW's header and one row per clip."""
  import openpyxl
  book = openpyxl.Workbook()
  for row in [HEADER] + [[f"S{c.subject:02d}", c.filename, c.onset, c.apex, c.offset,
                          "+".join(map(str, c.aus)), c.emotion, None] for c in clips]:
    book.active.append(row)
  book.save(path)


def generate(out_dir: str | os.PathLike, *, subjects: int = 8, seed: int = 0,
             clips_per_emotion: int = 1, workers: int | None = None,
             progress: bool = False) -> Path:
  """Writes the synthetic MMEW folder atomically.

  Args:
    out_dir: must not exist yet (or be empty).
    subjects: number of distinct faces (S01, S02, ...).
    seed: everything is deterministic given it.
    clips_per_emotion: clips of each of the 7 emotions per subject.
    workers: rendering threads; all cores when None.
    progress: show a progress bar.

  Returns:
    The folder, ready for `python -m mexp.datasets build mmew --manual_dir`.
  """
  faces, clips = plan(subjects, seed, clips_per_emotion)
  with atomic_dir(out_dir) as tmp:
    run_all(lambda c: _write_clip(tmp, faces[SUBJECTS.index(c.subject)], c), clips,
            workers=workers, progress=progress)
    write_sheet(tmp / SHEET, clips)
  return Path(out_dir)
