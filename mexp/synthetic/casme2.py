"""The synthetic CASME II twin: `CASME2_RAW_selected/subNN/EPxx_yy/imgN.jpg` + the coding sheet."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from mexp.synthetic.clips import atomic_dir, render_clip, run_all, write_frames
from mexp.synthetic.faces import Face, jitter_face, random_face

# Emotion -> candidate AU sets (one is drawn per clip), as in CASME II's coding.
EMOTION_AUS = {
    "happiness": [(6, 12), (12,), (6, 12)],
    "disgust": [(9,), (10,), (9, 10)],
    "surprise": [(1, 2)],
    "repression": [(14,), (15,), (17,), (14, 17), (15, 17)],
    "sadness": [(1, 4, 15)],
    "fear": [(1, 2, 4, 20)],
    "others": [(7,), (24,), (38,)],
}
EMOTIONS = tuple(EMOTION_AUS)


@dataclasses.dataclass(frozen=True)
class ClipPlan:
  subject: int
  filename: str
  emotion: str
  aus: tuple[int, ...]
  onset: int
  apex: int
  offset: int
  seed: int


def plan(subjects: int, seed: int, clips_per_emotion: int = 2) -> tuple[list[Face], list[ClipPlan]]:
  """Every subject's face and every clip's timing and label, from one seed."""
  rng = np.random.default_rng(seed)
  faces = [random_face(rng) for _ in range(subjects)]
  clips = []
  for s in range(subjects):
    episodes = [e for e in EMOTIONS for _ in range(clips_per_emotion)]
    rng.shuffle(episodes)
    for k, emotion in enumerate(episodes):
      n = int(rng.integers(24, 49))  # 120-240 ms at 200 fps
      onset = int(rng.integers(1, 300))
      apex = onset + int(round(n * rng.uniform(0.35, 0.65)))
      aus = EMOTION_AUS[emotion][rng.integers(len(EMOTION_AUS[emotion]))]
      suffix = "f" if rng.random() < 0.5 else ""
      clips.append(ClipPlan(subject=s + 1, filename=f"EP{k + 1:02d}_{rng.integers(1, 20):02d}{suffix}",
                            emotion=emotion, aus=aus, onset=onset, apex=apex,
                            offset=onset + n - 1, seed=int(rng.integers(2**31))))
  return faces, clips


def _write_clip(out: Path, face: Face, clip: ClipPlan, quality_range=(85, 95)) -> None:
  rng = np.random.default_rng(clip.seed)
  frames = render_clip(jitter_face(face, rng), clip.aus, rng, clip.offset - clip.onset + 1,
                       clip.apex - clip.onset)
  folder = out / "CASME2_RAW_selected" / f"sub{clip.subject:02d}" / clip.filename
  quality = int(rng.integers(*quality_range))
  write_frames(folder, frames, [f"img{clip.onset + i}.jpg" for i in range(len(frames))],
               quality=quality)


# The real sheet's two known annotation quirks, reproduced on fixed rows so the synthetic path
# exercises the same fixes: ApexFrame '/' (sub04/EP12_01f) and an OffsetFrame past the last
# frame on disk (sub16/EP01_08).
QUIRK_APEX_SLASH_ROW, QUIRK_OFFSET_PAST_END_ROW = 3, 5


def write_sheet(path: Path, clips: list[ClipPlan]) -> None:
  """The coding sheet with CASME II's columns, blank-header columns included."""
  import openpyxl
  book = openpyxl.Workbook()
  sheet = book.active
  sheet.append(["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None,
                "Action Units", "Estimated Emotion"])
  for i, c in enumerate(clips):
    apex = "/" if i == QUIRK_APEX_SLASH_ROW else c.apex
    offset = c.offset + 14 if i == QUIRK_OFFSET_PAST_END_ROW else c.offset
    sheet.append([c.subject, c.filename, None, c.onset, apex, offset, None,
                  "+".join(map(str, c.aus)), c.emotion])
  book.save(path)


def generate(out_dir: str | os.PathLike, *, subjects: int = 8, seed: int = 0,
             clips_per_emotion: int = 2, workers: int | None = None, progress: bool = False) -> Path:
  """Writes the synthetic CASME II folder atomically (a temp folder renamed when complete).

  Args:
    out_dir: must not exist yet (or be empty).
    subjects: number of distinct faces.
    seed: everything is deterministic given it.
    clips_per_emotion: clips of each of the 7 emotions per subject.
    workers: threads for rendering (cv2 releases the GIL); all cores when None.
    progress: show a progress bar.

  Returns:
    The folder, ready for `python -m mexp.datasets build casme2 --manual_dir`.
  """
  faces, clips = plan(subjects, seed, clips_per_emotion)
  with atomic_dir(out_dir) as tmp:
    run_all(lambda c: _write_clip(tmp, faces[c.subject - 1], c), clips, workers=workers,
            progress=progress)
    write_sheet(tmp / "CASME2-coding-synthetic.xlsx", clips)
  return Path(out_dir)

