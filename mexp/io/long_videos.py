"""Long videos with ground-truth expression intervals, for spotting: what every reader returns.

Readers: SAMM-LV (mexp/io/samm_lv.py), CAS(ME)^2 long videos (mexp/io/casme_sq_lv.py), and the
generic synthetic folder (`ground_truth.json` + video files, written by `python -m mexp.synthetic
DIR --long_videos N`), all reached through `read_long_videos(layout, folder)`.

An interval's kind (micro or macro) is the sheet's; MEGC's rule (micro: at most 0.5 s) is applied
to the spotter's intervals, and rows whose sheet kind disagrees with it are counted in the notes.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
from pathlib import Path

from mexp.io import frames as frames_io
from mexp.io import sheets

MICRO_SECONDS = 0.5  # MEGC: an expression of at most 0.5 s is a micro-expression
KINDS = ("micro", "macro")
LAYOUTS = ("synthetic", "samm_lv", "casme_sq_lv")
NAMES = {"synthetic": "synthetic", "samm_lv": "SAMM-LV", "casme_sq_lv": "CAS(ME)^2"}


@dataclasses.dataclass(frozen=True)
class Expression:
  """One ground-truth interval of a long video, in the video's frame numbers (inclusive)."""
  onset: int
  apex: int | None  # None where the sheet gives none (SAMM-LV -1, CAS(ME)^2 0)
  offset: int
  kind: str  # 'micro' or 'macro'
  emotion: str | None  # canonical name; None where the database gives none (SAMM-LV)
  action_units: str
  fixes: tuple[str, ...]
  source: str  # 'SAMM_LongVideos_V1_Release.xlsx row 12 (006_1_2)'


@dataclasses.dataclass(frozen=True)
class LongVideo:
  """One long video: its frames (a folder) or its file, its rate and its ground truth."""
  database: str  # 'samm_lv'
  subject: str  # unique across databases, the short-clip reader's id: 'samm/006'
  video: str  # '006_1'
  fps: float
  path: Path  # the frame folder, or the video file
  frames: tuple[tuple[int, Path], ...]  # (frame number, path), numeric order; () for a file
  expressions: tuple[Expression, ...]  # by onset


@dataclasses.dataclass(frozen=True)
class LongVideoReport:
  """What a long-video reader returns: the videos, every row it skipped (with why), notes."""
  database: str
  videos: list[LongVideo]
  skipped: list[str]
  sheet: Path | None
  tree: Path
  notes: tuple[str, ...] = ()


def rounded_frame(value) -> tuple[int | None, bool]:
  """A frame cell -> (number rounded half up, whether it was fractional): 12.5 -> (13, True)."""
  number = sheets.int_cell(value)
  if number is not None:
    return number, False
  try:
    number = float(str(value).strip())
  except ValueError:
    return None, False
  return (int(number + 0.5), True) if number >= 0 else (int(number), False)


def _check(expression: Expression, frames: list[tuple[int, Path]],
                     folder: Path) -> Expression:
  """The expression checked against the frames on disk: offset clamped to the last one (a fix)."""
  _, offset, fixes = sheets.clip_frames(
      expression.source, folder, expression.onset, expression.apex, expression.offset,
      on_disk=frames, gap="the spotter sees the frames on either side as neighbours")
  return dataclasses.replace(expression, offset=offset, fixes=expression.fixes + tuple(fixes))


def assemble(database: str, fps: float, folders: dict[str, tuple[str, Path]],
             rows: list[tuple[str, Expression]], skipped: list[str], *,
             skip_invalid: bool) -> tuple[list[LongVideo], list[str]]:
  """Every video folder (annotated or not) with its rows' expressions, checked against disk.

  Args:
    database: the reader's name ('samm_lv').
    fps: the database's frame rate.
    folders: video id -> (namespaced subject, frame folder).
    rows: (video id, expression) of every usable sheet row, frame numbers as in the sheet.
    skipped: the rows skipped so far; unusable rows are added when `skip_invalid`.
    skip_invalid: skip unusable rows (listed) instead of raising SheetError.

  Returns:
    (videos sorted by subject and id, skipped rows).
  """
  by_video = collections.defaultdict(list)
  listed = {}
  for video, expression in rows:
    try:
      if video not in folders:
        raise sheets.SheetError(f"{expression.source}: no frame folder for video {video}")
      subject, folder = folders[video]
      if video not in listed:
        listed[video] = frames_io.list_frames(folder)
      by_video[video].append(_check(expression, listed[video], folder))
    except (sheets.SheetError, frames_io.FrameReadError) as e:
      if not skip_invalid:
        raise sheets.SheetError(str(e)) from None
      skipped = skipped + [str(e)]
  videos = []
  for video, (subject, folder) in sorted(folders.items(), key=lambda kv: (kv[1][0], kv[0])):
    frames = listed.get(video) or frames_io.list_frames(folder)
    if not frames:
      skipped = skipped + [f"{folder}: no frames (video {video} left out)"]
      continue
    videos.append(LongVideo(database=database, subject=subject, video=video, fps=fps,
                            path=folder, frames=tuple(frames), expressions=tuple(
                                sorted(by_video[video], key=lambda e: (e.onset, e.offset)))))
  return videos, skipped


def summary_notes(videos: list[LongVideo]) -> list[str]:
  """How many videos and intervals of each kind; sheet kinds that disagree with the 0.5 s rule."""
  kinds = collections.Counter(e.kind for v in videos for e in v.expressions)
  notes = [f"{len(videos)} video(s), " + ", ".join(f"{kinds[k]} {k}" for k in KINDS)
           + f" interval(s); {sum(not v.expressions for v in videos)} video(s) without one "
           "(scored too: whatever is spotted there is a false positive)"]
  for kind in KINDS:
    odd = sum(e.kind == kind and ((e.offset - e.onset + 1) / v.fps <= MICRO_SECONDS) != (
        kind == "micro") for v in videos for e in v.expressions)
    if odd:
      notes.append(f"{odd} {kind} interval(s) whose length says otherwise at {videos[0].fps:g} "
                   f"fps (MEGC: micro = at most {MICRO_SECONDS:g} s); the sheet's kind is kept")
  return notes


def read_ground_truth(folder: str | os.PathLike) -> LongVideoReport:
  """Reads a generic synthetic folder: `ground_truth.json` and the video files it lists.

  Args:
    folder: written by `python -m mexp.synthetic DIR --long_videos N`.

  Returns:
    A LongVideoReport; frames are the files' 0-based indices.
  """
  folder = Path(folder)
  path = folder / "ground_truth.json"
  if not path.is_file():
    raise FileNotFoundError(f"{folder}: no ground_truth.json (write one with `python -m "
                            "mexp.synthetic DIR --long_videos N`)")
  truth = json.loads(path.read_text())
  videos = []
  for i, v in enumerate(truth["videos"]):
    expressions = tuple(Expression(
        onset=e["onset"], apex=e.get("apex"), offset=e["offset"], kind=e["kind"],
        emotion=e.get("emotion"), action_units="+".join(map(str, e.get("aus", ()))), fixes=(),
        source=f"{path.name} video {i + 1} event {j + 1}") for j, e in enumerate(v["events"]))
    name = Path(v["file"]).stem
    videos.append(LongVideo(database="synthetic", subject=f"synthetic/{name}", video=name,
                            fps=float(truth["fps"]), path=folder / v["file"], frames=(),
                            expressions=expressions))
  notes = (f"{truth['frames']} frames a video",) + tuple(summary_notes(videos))
  return LongVideoReport(database="synthetic", videos=videos, skipped=[], sheet=path,
                         tree=folder, notes=notes)


def read_long_videos(layout: str, folder: str | os.PathLike, *,
                     skip_invalid: bool = False) -> LongVideoReport:
  """Reads the long videos of one layout.

  Args:
    layout: one of LAYOUTS ('synthetic': a ground_truth.json folder).
    folder: the manual folder the database was unpacked into (or its synthetic twin).
    skip_invalid: skip unusable rows (listed in the report) instead of failing.

  Returns:
    A LongVideoReport.
  """
  if layout == "synthetic":
    return read_ground_truth(folder)
  if layout == "samm_lv":
    from mexp.io import samm_lv
    return samm_lv.read_samm_lv(folder, skip_invalid=skip_invalid)
  if layout == "casme_sq_lv":
    from mexp.io import casme_sq_lv
    return casme_sq_lv.read_casme_sq_lv(folder, skip_invalid=skip_invalid)
  raise ValueError(f"unknown long-video layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
