"""The synthetic CAS(ME)^2 twin: `rawpic/s15/15_0101disgustingteeth/img001.jpg` + the sheet.

Quirks: `CAS(ME)^2code_final.xlsx` has the data on `CASFEcode_final` with no header, after the
worksheets `naming rule1` (subject number | name | index) and `naming rule2` (code | video name),
which the reader must use; video 0503's folder is misspelt `unnyfarting`, as in the real archive;
and on the first subject: the macro row's offset is 0 (OFFSET0), the surprise row's apex is 0
(APEX0), and one extra micro row has its offset before its apex (BAD_ID, skipped). Frames are
640x480 colour, numbered from img001 in each video.
"""

from __future__ import annotations

import collections
import dataclasses
import os
from pathlib import Path

import numpy as np

from mexp import databases
from mexp.synthetic.clips import atomic_dir, render_clip, run_all, write_frames
from mexp.synthetic.faces import Face, jitter_face, random_face

FPS = databases.CASME_SQ.fps
SHEET = "CAS(ME)^2code_final.xlsx"
WORKSHEETS = ("naming rule1", "naming rule2", "CASFEcode_final")  # the data last, on purpose
SUBJECTS = (15, 16, 19, 20, 21, 22, 23, 24, 25, 26, 27, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38,
            40)  # index 1..22 -> s15..s40, as `naming rule1` says
VIDEOS = {  # code -> (name in naming rule2, folder description; 0503's typo is the real one)
    "0101": ("disgust1", "disgustingteeth"), "0102": ("disgust2", "eatingworms"),
    "0401": ("anger1", "girlcrashing"), "0402": ("anger2", "beatingpregnantwoman"),
    "0502": ("happy1", "funnyerrors"), "0503": ("happy2", "unnyfarting"),
    "0505": ("happy3", "funnyinnovations"), "0507": ("happy4", "climbingthewall"),
    "0508": ("happy5", "funnydunkey"),
}
EMOTION_AUS = {  # emotion column -> candidate AU sets
    "negative": [(4,), (9,), (4, 7)],
    "positive": [(12,), (6, 12)],
    "surprise": [(1, 2)],
    "others": [(7,), (24,)],
}
OFFSET0, APEX0, BAD_ID = "macro offset 0", "apex 0", "happy5_9"
TYPO_CODE = "0503"  # every subject's macro clip is in the misspelt folder


@dataclasses.dataclass(frozen=True)
class CasmeSqClip:
  subject: int  # the index, 1 -> s15
  code: str  # '0401'
  clip: str  # the id: 'anger1_1'
  emotion: str
  kind: str  # 'micro-expression' or 'macro-expression'
  aus: tuple[int, ...]
  onset: int
  apex: int
  offset: int
  seed: int
  quirk: str = ""  # OFFSET0 or APEX0 on the first subject


def plan(subjects: int, seed: int,
         clips_per_emotion: int = 1) -> tuple[list[Face], list[CasmeSqClip]]:
  """Every subject's face and every clip's video, timing and label, from one seed."""
  if not 1 <= subjects <= len(SUBJECTS):
    raise ValueError(f"--subjects must be 1..{len(SUBJECTS)} for CAS(ME)^2, not {subjects}")
  rng = np.random.default_rng([seed, 22])
  faces = [random_face(rng) for _ in range(subjects)]
  clips, codes = [], list(VIDEOS)
  for index in range(1, subjects + 1):
    episodes = [(e, "micro-expression") for e in EMOTION_AUS for _ in range(clips_per_emotion)]
    rng.shuffle(episodes)
    episodes.append(("positive", "macro-expression"))
    end, per_video = collections.Counter(), collections.Counter()
    for i, (emotion, kind) in enumerate(episodes):
      code = TYPO_CODE if kind.startswith("macro") else codes[i % len(codes)]
      n = int(rng.integers(6, 16)) if kind.startswith("micro") else int(rng.integers(20, 32))
      onset = end[code] + int(rng.integers(2, 5))  # neutral frames before, from img001 on
      apex = onset + int(round((n - 1) * rng.uniform(0.35, 0.65)))
      end[code] = onset + n + 1
      per_video[code] += 1
      quirk = "" if index > 1 else OFFSET0 if kind.startswith("macro") else \
          APEX0 if emotion == "surprise" and APEX0 not in [c.quirk for c in clips] else ""
      choices = EMOTION_AUS[emotion]
      clips.append(CasmeSqClip(
          subject=index, code=code, clip=f"{VIDEOS[code][0]}_{per_video[code]}", emotion=emotion,
          kind=kind, aus=choices[rng.integers(len(choices))], onset=onset, apex=apex,
          offset=onset + n - 1, seed=int(rng.integers(2**31)), quirk=quirk))
  return faces, clips


def video_dir(out: Path, subject: int, code: str) -> Path:
  """`rawpic/s15/15_0101disgustingteeth`."""
  number = SUBJECTS[subject - 1]
  return out / "rawpic" / f"s{number}" / f"{number}_{code}{VIDEOS[code][1]}"


def _write_video(out: Path, face: Face, clips: list[CasmeSqClip]) -> None:
  """One long video's folder: neutral frames from img001, each clip's movement in its place."""
  rng = np.random.default_rng(clips[0].seed)
  jittered = jitter_face(face, rng)
  last = max(c.offset for c in clips) + 2
  frames = [None] * (last + 1)
  for c in clips:
    me = render_clip(jittered, c.aus, np.random.default_rng(c.seed), c.offset - c.onset + 1,
                     c.apex - c.onset, fps=FPS)
    for n in range(c.onset, c.offset + 1):
      frames[n] = me[n - c.onset]
    for n in range(max(c.onset - 4, 1), c.onset):
      frames[n] = me[0]
    for n in range(c.offset + 1, min(c.offset + 4, last + 1)):
      frames[n] = me[-1]
  numbers = [n for n in range(1, last + 1) if frames[n] is not None]
  write_frames(video_dir(out, clips[0].subject, clips[0].code),
               np.stack([frames[n] for n in numbers]), [f"img{n:03d}.jpg" for n in numbers],
               quality=int(rng.integers(85, 95)))


def sheet_rows(clips: list[CasmeSqClip]) -> list[list]:
  """`CASFEcode_final`'s rows (no header): the quirks on the first subject, BAD_ID after them."""
  rows = []
  for c in clips:
    apex = 0 if c.quirk == APEX0 else c.apex
    offset = 0 if c.quirk == OFFSET0 else c.offset
    rows.append([c.subject, c.clip, c.onset, apex, offset, "+".join(map(str, c.aus)), c.emotion,
                 c.kind, "self-report"])
  first = clips[0]
  rows.insert(1, [first.subject, BAD_ID, first.onset, first.offset, first.apex, "4", "negative",
                  "micro-expression", ""])  # offset before apex
  return rows


def write_sheet(path: Path, clips: list[CasmeSqClip]) -> None:
  """The workbook: naming rule1, naming rule2, then CASFEcode_final (no header)."""
  import openpyxl
  book = openpyxl.Workbook()
  rule1, rule2, data = book.active, book.create_sheet(), book.create_sheet()
  for sheet, title in zip((rule1, rule2, data), WORKSHEETS):
    sheet.title = title
  for index, number in enumerate(SUBJECTS, 1):
    rule1.append([number, f"casme_{number:03d}", index])
  for code, (name, _) in VIDEOS.items():
    rule2.append([code, name])
  for row in sheet_rows(clips):
    data.append(row)
  book.save(path)


def generate(out_dir: str | os.PathLike, *, subjects: int = 8, seed: int = 0,
             clips_per_emotion: int = 1, workers: int | None = None,
             progress: bool = False) -> Path:
  """Writes the synthetic CAS(ME)^2 folder atomically.

  Args:
    out_dir: must not exist yet (or be empty).
    subjects: number of distinct faces (s15, s16, ...).
    seed: everything is deterministic given it.
    clips_per_emotion: micro-expressions of each of the 4 emotions per subject (plus one macro).
    workers: rendering threads; all cores when None.
    progress: show a progress bar.

  Returns:
    The folder, ready for `python -m mexp.datasets build casme_sq --manual_dir DIR`.
  """
  faces, clips = plan(subjects, seed, clips_per_emotion)
  videos = collections.defaultdict(list)
  for c in clips:
    videos[c.subject, c.code].append(c)
  with atomic_dir(out_dir) as tmp:
    run_all(lambda v: _write_video(tmp, faces[v[0].subject - 1], v), list(videos.values()),
            workers=workers, progress=progress)
    write_sheet(tmp / SHEET, clips)
  return Path(out_dir)
