"""Long videos with ground-truth expression intervals, for spotting: what every reader returns.

Readers: SAMM-LV (mexp/io/samm_lv.py), CAS(ME)^2 long videos (mexp/io/casme_sq_lv.py), and the
generic synthetic folder (`ground_truth.json` + video files, written by `python -m mexp.synthetic
DIR --long_videos N`), all reached through `long_video_readers.read_long_videos(layout, folder)`.

An interval's kind (micro or macro) is the sheet's; MEGC's rule (micro: at most 0.5 s) is applied
to the spotter's intervals, and rows whose sheet kind disagrees with it are counted in the notes.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import math
import os
from pathlib import Path

from mexp import databases
from mexp.io import frames as frames_io
from mexp.io import sheets

MICRO_SECONDS = 0.5  # MEGC: an expression of at most 0.5 s is a micro-expression
KINDS = ("micro", "macro")
# 'synthetic' (a ground_truth.json folder), then each database's long-video layout.
LAYOUTS = ("synthetic", *databases.LONG_VIDEOS)
NAMES = {"synthetic": "synthetic"} | {k: v.title for k, v in databases.LONG_VIDEOS.items()}


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
  listed, seen = {}, {}
  for video, expression in rows:
    try:
      key = (video, expression.onset, expression.offset, expression.kind)
      if key in seen:
        raise sheets.SheetError(f"{expression.source}: the same interval as {seen[key]}")
      seen[key] = expression.source
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


def gap_notes(videos: list[LongVideo]) -> list[str]:
  """Frames missing inside each frame folder (a recording with dropped or deleted frames)."""
  notes = []
  for v in videos:
    numbers = [n for n, _ in v.frames]
    runs = frames_io.missing_runs(numbers)
    if runs:
      text = ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
      notes.append(f"{v.path}: frame(s) {text} missing ({sum(b - a + 1 for a, b in runs)} of "
                   f"{numbers[-1] - numbers[0] + 1}): the spotter reads the frames on either side "
                   "of a gap as neighbours (at 100 fps or more, a sudden change across it is "
                   "taken for a cut, not a movement)")
  return notes


def summary_notes(videos: list[LongVideo]) -> list[str]:
  """How many videos and intervals of each kind; sheet kinds that disagree with the 0.5 s rule;
  frames missing inside a video."""
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
  return notes + gap_notes(videos)


def _number(value, what: str, where: str, *, integer: bool) -> float:
  """A JSON number, or a SheetError naming `where` and `what`."""
  ok = isinstance(value, int) if integer else isinstance(value, (int, float))
  if isinstance(value, bool) or not ok or not math.isfinite(value):
    kind = "an integer" if integer else "a number"
    raise sheets.SheetError(f"{where}: {what} must be {kind}, not {value!r}")
  return value


def _video_length(path: Path, listed) -> int | None:
  """The video's frame count: as ground_truth.json lists it, else as the file's header says."""
  if listed is not None:
    return listed
  import cv2  # only for files without a listed length
  capture = cv2.VideoCapture(str(path))
  count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
  capture.release()
  return count or None


def _ground_truth_event(e, where: str, frames: int | None) -> Expression:
  """One event of ground_truth.json, checked: integer frames inside the video, onset <= apex <=
  offset, a known kind."""
  if not isinstance(e, dict):
    raise sheets.SheetError(f"{where}: expected an object with onset, offset and kind")
  for key in ("onset", "offset", "kind"):
    if key not in e:
      raise sheets.SheetError(f"{where}: no {key!r}")
  onset = _number(e["onset"], "onset", where, integer=True)
  offset = _number(e["offset"], "offset", where, integer=True)
  apex = None if e.get("apex") is None else _number(e["apex"], "apex", where, integer=True)
  if e["kind"] not in KINDS:
    raise sheets.SheetError(f"{where}: kind {e['kind']!r} is not one of {', '.join(KINDS)}")
  if onset < 0:
    raise sheets.SheetError(f"{where}: onset {onset} is before the first frame (0)")
  if onset > offset:
    raise sheets.SheetError(f"{where}: onset {onset} is after offset {offset}")
  if frames is not None and offset >= frames:
    raise sheets.SheetError(f"{where}: offset {offset} is past the video's last frame "
                            f"({frames - 1})")
  if apex is not None and not onset <= apex <= offset:
    raise sheets.SheetError(f"{where}: apex {apex} is outside onset {onset}..offset {offset}")
  return Expression(onset=onset, apex=apex, offset=offset, kind=e["kind"],
                    emotion=e.get("emotion"), action_units="+".join(map(str, e.get("aus", ()))),
                    fixes=(), source=where)


def read_ground_truth(folder: str | os.PathLike, *, skip_invalid: bool = False) -> LongVideoReport:
  """Reads a generic synthetic folder: `ground_truth.json` and the video files it lists.

  Args:
    folder: written by `python -m mexp.synthetic DIR --long_videos N`.
    skip_invalid: skip unusable events (listed in the report) instead of raising SheetError.

  Returns:
    A LongVideoReport; frames are the files' 0-based indices.

  Raises:
    FileNotFoundError: no ground_truth.json, or a video it lists is missing.
    sheets.SheetError: the file is not valid JSON, its fps is missing or implausible, or (unless
      skip_invalid) an event is malformed, outside its video or given twice; the message names
      the file, video and event.
  """
  folder = Path(folder)
  path = folder / "ground_truth.json"
  if not path.is_file():
    raise FileNotFoundError(f"{folder}: no ground_truth.json (write one with `python -m "
                            "mexp.synthetic DIR --long_videos N`)")
  try:
    truth = json.loads(path.read_text())
  except (json.JSONDecodeError, UnicodeDecodeError) as e:
    raise sheets.SheetError(f"{path}: not valid JSON ({e})") from None
  if not isinstance(truth, dict) or not isinstance(truth.get("videos"), list):
    raise sheets.SheetError(f"{path}: expected an object with a 'videos' list")
  if "fps" not in truth:
    raise sheets.SheetError(f"{path}: no 'fps' (the videos' frame rate)")
  fps = _number(truth["fps"], "fps", str(path), integer=False)
  if not frames_io.PLAUSIBLE_FPS[0] <= fps <= frames_io.PLAUSIBLE_FPS[1]:
    raise sheets.SheetError(f"{path}: fps {fps} is outside the plausible "
                            f"{frames_io.PLAUSIBLE_FPS[0]:g}..{frames_io.PLAUSIBLE_FPS[1]:g}")
  videos, skipped = [], []
  for i, v in enumerate(truth["videos"]):
    where = f"{path} video {i + 1}"
    if not isinstance(v, dict) or not isinstance(v.get("file"), str) or not isinstance(
        v.get("events", []), list):
      raise sheets.SheetError(f"{where}: expected an object with 'file' and an 'events' list")
    file = folder / v["file"]
    if not file.is_file():
      raise FileNotFoundError(f"{where}: {file} not found")
    listed = v.get("frames")
    frames = _video_length(file, None if listed is None else _number(
        listed, "frames", where, integer=True))
    expressions, seen = [], {}
    for j, e in enumerate(v.get("events", [])):
      source = f"{path.name} video {i + 1} event {j + 1}"
      try:
        expression = _ground_truth_event(e, source, frames)
        key = (expression.onset, expression.offset, expression.kind)
        if key in seen:
          raise sheets.SheetError(f"{source}: the same interval as {seen[key]}")
        seen[key] = source
        expressions.append(expression)
      except sheets.SheetError as error:
        if not skip_invalid:
          raise
        skipped.append(str(error))
    name = Path(v["file"]).stem
    videos.append(LongVideo(database="synthetic", subject=f"synthetic/{name}", video=name,
                            fps=float(fps), path=file, frames=(),
                            expressions=tuple(sorted(expressions, key=lambda x: x.onset))))
  notes = tuple(summary_notes(videos)) if videos else ()
  return LongVideoReport(database="synthetic", videos=videos, skipped=skipped, sheet=path,
                         tree=folder, notes=notes)
