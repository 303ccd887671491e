"""The synthetic CAS(ME)^2 long-video twin: `rawpic/s15/15_0503unnyfarting/img001.jpg` + the sheet.

The sheet is the short-clip twin's (mexp/synthetic/casme_sq.py): `CAS(ME)^2code_final.xlsx` with
the naming rules and a headerless `CASFEcode_final`, one row per event, micro- and
macro-expressions, frame numbers from 1; 30 fps. Quirks: the first video is in the misspelt
folder (`unnyfarting`); its macro row has offset 0 (OFFSET0: the apex is the end), its first
micro row has apex 0 (APEX0), and an extra row with its offset before its apex follows the first
row (BAD_ID, skipped). Frames are 640x480 colour.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mexp import databases
from mexp.synthetic import casme_sq, long_twins

FPS = databases.CASME_SQ.long_videos.fps
KINDS = {"micro": "micro-expression", "macro": "macro-expression"}
EMOTIONS = {"happiness": "positive", "surprise": "surprise", "others": "others"}  # else negative
CODES = (casme_sq.TYPO_CODE,) + tuple(c for c in casme_sq.VIDEOS if c != casme_sq.TYPO_CODE)


def plan(videos: int, seed: int, seconds: float = 8.0,
         micro: int = 3) -> list[tuple[int, str, long_twins.TwinVideo]]:
  """(subject index, video code, planned video) of each video, two a subject, from one seed."""
  if not 1 <= videos <= 2 * len(casme_sq.SUBJECTS):
    raise ValueError(f"--long_videos must be 1..{2 * len(casme_sq.SUBJECTS)} for CAS(ME)^2, "
                     f"not {videos}")
  rng = np.random.default_rng([seed, 32])
  return [(v // 2 + 1, CODES[v % 2], long_twins.plan_video(rng, seconds, FPS, micro))
          for v in range(videos)]


def clips(planned) -> list[casme_sq.CasmeSqClip]:
  """The sheet's rows as the short-clip twin's records, frames from 1, quirks on video 0."""
  out = []
  for v, (subject, code, twin) in enumerate(planned):
    first_micro = next((e for e in twin.events if e.kind == "micro"), None)
    for k, e in enumerate(twin.events, 1):
      quirk = "" if v else casme_sq.OFFSET0 if e.kind == "macro" else \
          casme_sq.APEX0 if e is first_micro else ""
      out.append(casme_sq.CasmeSqClip(
          subject=subject, code=code, clip=f"{casme_sq.VIDEOS[code][0]}_{k}",
          emotion=EMOTIONS.get(e.emotion, "negative"), kind=KINDS[e.kind], aus=e.aus,
          onset=e.onset + 1, apex=e.apex + 1, offset=e.offset + 1, seed=0, quirk=quirk))
  return out


def generate(out_dir: str | os.PathLike, *, videos: int = 2, seed: int = 0, seconds: float = 8.0,
             micro: int = 3, workers: int | None = None, progress: bool = False) -> Path:
  """Writes the synthetic CAS(ME)^2 long-video folder atomically.

  Args:
    out_dir: must not exist yet (or be empty).
    videos: long videos, two a subject (s15's 0503 and 0101, s16's, ...).
    seed: everything is deterministic given it.
    seconds: each video's length.
    micro: micro-expressions a video, besides one macro-expression.
    workers: rendering threads; all cores when None.
    progress: show a progress bar.

  Returns:
    The folder, ready for `mexp.io.casme_sq_lv.read_casme_sq_lv`.
  """
  planned = plan(videos, seed, seconds, micro)
  placed = [(casme_sq.video_dir(Path(), subject, code), subject, twin, "img{:03d}.jpg".format)
            for subject, code, twin in planned]
  return long_twins.write_twin(
      out_dir, placed, fps=FPS, seed=[seed, 33], grey=False, workers=workers, progress=progress,
      write_sheet=lambda tmp: casme_sq.write_sheet(tmp / casme_sq.SHEET, clips(planned)))
