"""The synthetic SAMM-LV twin: `SAMM_longvideos/006_1/006_1_0001.jpg` (grey) + the movement sheet.

`SAMM_LongVideos_V1_Release.xlsx`: the data on worksheet `FACS_Movement_Only` (after another
worksheet, so it must be picked by name), 9 rows of notes above the header, one row per event
(`Type` Macro or `Micro - 1/2`, Filename `006_1_k`), frame numbers from 1; 200 fps. Quirks, as
in the real sheet: the first video starts on its macro-expression, whose row says onset 0
(QUIRK_ONSET0); the last video's macro row has fractional onset and offset (QUIRK_FRACTION; the
offset only where that is the same row); the first video's second event, a micro-expression, has
apex -1 (QUIRK_APEX). Frames are 640x480 grey.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mexp import databases
from mexp.synthetic import long_twins
from mexp.synthetic.samm import SUBJECTS

FPS = databases.SAMM.long_videos.fps
SHEET = "SAMM_LongVideos_V1_Release.xlsx"
WORKSHEET = "FACS_Movement_Only"
HEADER = ["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration", "Type",
          "Action Units", "Notes"]
NOTES = ["SAMM Long Videos (synthetic twin)", "FACS coding of every movement, macro and micro",
         None, "Frames are numbered from 1; 200 fps.", "Type: Macro, or Micro - 1/2 (under 0.5 s)",
         "Apex -1: not annotated.", None, "Onset 0: the movement was under way at the start.",
         None]
TYPES = {"macro": "Macro", "micro": "Micro - 1/2"}
QUIRK_ONSET0, QUIRK_FRACTION, QUIRK_APEX = "onset 0", "fractional frames", "apex -1"


def video_id(v: int) -> tuple[int, str]:
  """Video v (from 0) -> (subject, '006_1'): two videos a subject."""
  subject = SUBJECTS[v // 2]
  return subject, f"{subject:03d}_{v % 2 + 1}"


def plan(videos: int, seed: int, seconds: float = 6.0,
         micro: int = 3) -> list[tuple[str, int, long_twins.TwinVideo]]:
  """(video id, subject, planned video) of each video, from one seed."""
  if not 1 <= videos <= 2 * len(SUBJECTS):
    raise ValueError(f"--long_videos must be 1..{2 * len(SUBJECTS)} for SAMM-LV, not {videos}")
  if micro < 1:
    raise ValueError("SAMM-LV's twin needs a micro-expression a video (--micro 1 or more)")
  rng = np.random.default_rng([seed, 30])
  return [(video_id(v)[1], video_id(v)[0],
           long_twins.plan_video(rng, seconds, FPS, micro, macro_first=v == 0))
          for v in range(videos)]


def quirks(v: int, videos: int, k: int, event) -> tuple[str, ...]:
  """The quirks the row of video v's k-th event (from 0) carries; see the module docstring."""
  macro = event.kind == "macro"
  return tuple(q for q, on in ((QUIRK_ONSET0, v == 0 and macro),
                               (QUIRK_FRACTION, v == videos - 1 and macro),
                               (QUIRK_APEX, v == 0 and k == 1)) if on)


def sheet_rows(planned) -> list[list]:
  """One row per event, frame numbers from 1, the quirks on their rows."""
  rows = []
  for v, (video, subject, twin) in enumerate(planned):
    for k, e in enumerate(twin.events):
      onset, apex, offset = e.onset + 1, e.apex + 1, e.offset + 1
      q = quirks(v, len(planned), k, e)
      if QUIRK_FRACTION in q:  # rounds (half up) back to the frame
        onset, offset = onset - 0.5, offset + 0.25
      if QUIRK_ONSET0 in q:
        onset = 0
      if QUIRK_APEX in q:
        apex = -1
      rows.append([f"{subject:03d}", f"{video}_{k + 1}", int(video.split("_")[1]), onset, apex,
                   offset, e.offset - e.onset + 1, TYPES[e.kind], "+".join(map(str, e.aus)),
                   "; ".join(q) or None])
  return rows


def write_sheet(path: Path, planned) -> None:
  """The workbook: a worksheet of notes, then FACS_Movement_Only (notes, header, rows)."""
  import openpyxl
  book = openpyxl.Workbook()
  book.active.title = "About"
  book.active.append(["Synthetic twin of the SAMM-LV release sheet"])
  sheet = book.create_sheet(WORKSHEET)
  for line in NOTES:
    sheet.append([line])
  sheet.append(HEADER)
  for row in sheet_rows(planned):
    sheet.append(row)
  book.save(path)


def generate(out_dir: str | os.PathLike, *, videos: int = 2, seed: int = 0, seconds: float = 6.0,
             micro: int = 3, workers: int | None = None, progress: bool = False) -> Path:
  """Writes the synthetic SAMM-LV folder atomically.

  Args:
    out_dir: must not exist yet (or be empty).
    videos: long videos, two a subject (006_1, 006_2, 007_1, ...).
    seed: everything is deterministic given it.
    seconds: each video's length (the first is cut to start on its macro-expression).
    micro: micro-expressions a video, besides one macro-expression.
    workers: rendering threads; all cores when None.
    progress: show a progress bar.

  Returns:
    The folder, ready for `mexp.io.samm_lv.read_samm_lv`.
  """
  planned = plan(videos, seed, seconds, micro)
  placed = [(Path("SAMM_longvideos", video), subject, twin,
             lambda n, video=video: f"{video}_{n:04d}.jpg") for video, subject, twin in planned]
  return long_twins.write_twin(out_dir, placed, fps=FPS, seed=[seed, 31], grey=True,
                               write_sheet=lambda tmp: write_sheet(tmp / SHEET, planned),
                               workers=workers, progress=progress)
