"""CAS(ME)^2 short clips (Qu et al., 2018): `CAS(ME)^2code_final.xlsx` + `rawpic/` -> Samples.

Layout: `rawpic/s15/15_0101disgustingteeth/img001.jpg`: subject folder, one folder per long video
named `{subject number}_{video code}{description}`, frames numbered from 1; 30 fps. Folders are
matched by their `{subject number}_{code}` prefix only (one description is misspelt `unnyfarting`).
Sheet: `CAS(ME)^2code_final.xlsx`, found anywhere under the manual folder. Worksheets, by name:
  * `CASFEcode_final`, no header; columns A-I: subject index (1-22) | id (`anger1_1`) | onset |
    apex | offset | AUs | emotion | type (macro-expression / micro-expression) | self-report;
  * `naming rule1`: subject number (15 or s15) | (a name, not read) | subject index;
  * `naming rule2`: video code (0101) | video name (disgust1).
The id `anger1_1` names video `anger1`, whose code is 0401; the sample id is the id itself.

Quirks, never silent:
  * offset 0 (macro rows): the apex is used as the end, recorded in `fixes`;
  * apex 0: apex left None, estimated from peak motion at build time and marked;
  * offset before apex: the row is skipped, listed with the reason (which cell is wrong is unknown).
Anything else wrong stops the read naming the row, or with `skip_invalid` is skipped and listed.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import re
from pathlib import Path

from mexp import databases
from mexp import labels
from mexp.io import layout, sheets

FPS = databases.CASME_SQ.fps
SHEET_NAME = "CAS(ME)^2code_final"
DATA, RULE1, RULE2 = "CASFEcode_final", "naming rule1", "naming rule2"
COLUMNS = ("subject", "id", "onset", "apex", "offset", "aus", "emotion", "type", "self_report")
TYPES = ("micro-expression", "macro-expression")
SUBJECT_DIR = re.compile(r"s(\d+)", re.IGNORECASE)
_VIDEO_DIR = re.compile(r"(\d+)_(\d{4})")
WORKSHEETS_NOTE = (f"worksheets {DATA!r}, {RULE1!r}, {RULE2!r} (picked by name; {DATA!r} has no "
                   "header)")


def find_sheet(root: Path) -> Path:
  """The first `CAS(ME)^2code_final.xlsx` (or .xls) below root, by path."""
  found = layout.find_files(root, lambda n: Path(n).stem.lower() == SHEET_NAME.lower()
                           and Path(n).suffix.lower() in (".xlsx", ".xls"))
  if not found:
    raise FileNotFoundError(f"{root}: no CAS(ME)^2 sheet (looked everywhere below it for "
                            f"{SHEET_NAME}.xlsx)")
  return sorted(found)[0]


def find_tree(root: Path) -> Path:
  """The folder holding s15/, ...: `rawpic/` first, else another (`longVideoFaceCropped/`)."""
  return layout.find_tree(root, SUBJECT_DIR, 6, "rawpic", "CAS(ME)^2 frame tree (looked for "
                          "rawpic/s15/15_0101disgustingteeth/img001.jpg)")


def subject_rule(rows: list[list], path: Path) -> dict[int, str]:
  """`naming rule1` -> {subject index: folder}: rows `15 | ... | 1` give {1: 's15'}."""
  out = {}
  for row in rows:
    cells = [sheets.text_cell(c) for c in row[:3]] + [""] * 3
    match = SUBJECT_DIR.fullmatch(cells[0]) or re.fullmatch(r"(\d+)", cells[0])
    index = sheets.int_cell(cells[2])
    if match and index is not None:
      out[index] = f"s{int(match.group(1)):02d}"
  if not out:
    raise sheets.SheetError(f"{path.name}: worksheet {RULE1!r} has no row "
                            "'subject number | name | subject index'")
  return out


def video_rule(rows: list[list], path: Path) -> dict[str, str]:
  """`naming rule2` -> {video name: code}: `0401 | anger1` (401 too) -> {'anger1': '0401'}."""
  out = {}
  for row in rows:
    cells = [sheets.text_cell(c) for c in row[:2]] + [""] * 2
    if re.fullmatch(r"\d{1,4}", cells[0]) and cells[1]:
      out[cells[1].lower()] = f"{int(cells[0]):04d}"
  if not out:
    raise sheets.SheetError(f"{path.name}: worksheet {RULE2!r} has no row 'code | video name'")
  return out


def video_folders(subject_dir: Path) -> dict[str, Path]:
  """{code: folder} of one subject, by the `{subject number}_{code}` prefix, not the description."""
  number = int(SUBJECT_DIR.fullmatch(subject_dir.name).group(1))
  out = {}
  for d in layout.subdirs(subject_dir):
    match = _VIDEO_DIR.match(d.name)
    if match and int(match.group(1)) == number:
      out.setdefault(match.group(2), d)
  return out


def read_casme_sq(manual_dir: str | os.PathLike, *, macro: bool = False,
                  skip_invalid: bool = False) -> sheets.SheetReport:
  """Reads CAS(ME)^2's annotated expressions as short clips of the long videos.

  Args:
    manual_dir: the folder the CAS(ME)^2 archive was unpacked into.
    macro: keep macro-expression rows too (else micro-expressions only).
    skip_invalid: skip unusable rows (listed in the report, with why) instead of failing.

  Returns:
    A SheetReport; its notes say which worksheets were read and how many rows of each type.
  """
  root = Path(manual_dir)
  sheet = find_sheet(root)
  tree = find_tree(root)
  folders = {}
  samples, skipped, types = read_rows(
      sheet, lambda row: _sample(row, tree, folders), skip_invalid=skip_invalid,
      keep=lambda kind: macro or kind != "macro-expression",
      apex_fix="apex estimated from peak motion against the onset frame")
  sheets.check_unique(samples)
  notes = [WORKSHEETS_NOTE]
  notes += [f"{kind}: {types[kind]} row(s)" + ("" if macro or kind == TYPES[0] else
                                               " left out (casme_sq_all keeps them)")
            for kind in TYPES if types[kind]]
  return sheets.SheetReport(samples=samples, skipped=skipped, sheet=sheet, tree=tree,
                            notes=tuple(notes))


@dataclasses.dataclass(frozen=True)
class Row:
  """One usable row of `CASFEcode_final`, through the naming rules, quirks fixed."""
  subject: str  # the folder: 's15'
  clip: str  # the id: 'anger1_1'
  code: str  # the video's code: '0401'
  kind: str  # one of TYPES
  emotion: str
  onset: int
  apex: int | None  # None: apex 0 in the sheet
  offset: int
  action_units: str
  fixes: tuple[str, ...]
  source: str  # 'CAS(ME)^2code_final.xlsx CASFEcode_final row 3 (s15/anger1_1)'


def read_rows(sheet: Path, build, *, keep, skip_invalid: bool, apex_fix: str):
  """build(Row) of every data row whose type `keep(type)` accepts.

  Args:
    sheet: the workbook; its naming rules map subject index and video name to folders.
    build: Row -> what the caller keeps; its errors are handled as the row's own.
    keep: type ('micro-expression' or 'macro-expression') -> whether to build the row.
    skip_invalid: skip unusable rows (listed, with why) instead of raising SheetError.
    apex_fix: what happens to an apex of 0, for its fix text.

  Returns:
    (built rows, skipped rows with why, Counter of rows by type).
  """
  subjects = subject_rule(sheets.load_rows(sheet, RULE1), sheet)
  videos = video_rule(sheets.load_rows(sheet, RULE2), sheet)
  built, skipped, types = [], [], collections.Counter()
  for i, row in enumerate(sheets.load_rows(sheet, DATA)):
    if not any(sheets.text_cell(c) for c in row):
      continue
    cells = dict(zip(COLUMNS, list(row) + [None] * len(COLUMNS)))
    where = f"{sheet.name} {DATA} row {i + 1}"
    try:
      kind = sheets.text_cell(cells["type"]).lower()
      if kind not in TYPES:
        raise sheets.SheetError(f"{where}: type {cells['type']!r} is not " + " or ".join(TYPES))
      types[kind] += 1
      if keep(kind):
        built.append(build(parse_row(where, cells, subjects, videos, kind, apex_fix)))
    except _Skip as e:
      skipped.append(str(e))
    except (sheets.SheetError, ValueError, FileNotFoundError) as e:
      sheets.reject_row(where, e, skip_invalid, skipped)
  return built, skipped, types


class _Skip(sheets.SheetError):
  """A row skipped as documented (offset before apex), with or without skip_invalid."""


def _clip_dir(source: str, tree: Path, subject: str, code: str, folders: dict) -> Path:
  if subject not in folders:
    subject_dir = tree / subject
    if not subject_dir.is_dir():
      raise FileNotFoundError(f"{source}: subject folder {subject_dir} not found")
    folders[subject] = video_folders(subject_dir)
  if code not in folders[subject]:
    raise FileNotFoundError(f"{source}: no folder {subject[1:]}_{code}* in {tree / subject}")
  return folders[subject][code]


def parse_row(where: str, cells: dict, subjects: dict[int, str], videos: dict[str, str],
              kind: str, apex_fix: str) -> Row:
  """One sheet row -> a Row, its quirks fixed or skipped (_Skip); raises naming the row and clip."""
  index = sheets.int_cell(cells["subject"])
  if index not in subjects:
    raise sheets.SheetError(f"{where}: subject index {cells['subject']!r} is not in {RULE1!r}")
  subject, clip = subjects[index], sheets.text_cell(cells["id"])
  source = f"{where} ({subject}/{clip})"
  name = clip.rsplit("_", 1)[0].lower()
  if not clip or name not in videos:
    raise sheets.SheetError(f"{source}: video {name!r} is not in {RULE2!r}")
  try:
    emotion = labels.canonical_emotion(sheets.text_cell(cells["emotion"]),
                                       databases.CASME_SQ)
  except labels.UnknownEmotionError as e:
    raise sheets.SheetError(f"{source}: {e}") from None
  onset, apex, offset = (sheets.int_cell(cells[k]) for k in ("onset", "apex", "offset"))
  if onset is None or apex is None or offset is None:
    raise sheets.SheetError(f"{source}: onset, apex and offset must all be frame numbers")
  fixes = []
  if offset == 0:
    if apex == 0:
      raise sheets.SheetError(f"{source}: apex and offset are both 0 (no end)")
    fixes.append(f"offset 0 (not annotated): the apex {apex} is used as the end")
    offset = apex
  if apex == 0:
    fixes.append(f"apex 0 (not annotated): {apex_fix}")
    apex = None
  elif offset < apex:
    raise _Skip(f"{source}: offset {offset} is before apex {apex}; row skipped, as documented "
                "(which of the two is wrong is unknown)")
  return Row(subject=subject, clip=clip, code=videos[name], kind=kind, emotion=emotion,
             onset=onset, apex=apex, offset=offset,
             action_units="+".join(sheets.split_action_units(sheets.text_cell(cells["aus"]))),
             fixes=tuple(fixes), source=source)


def _sample(row: Row, tree: Path, folders: dict) -> sheets.Sample:
  """A Row -> a short-clip Sample, its frames checked on disk."""
  clip_dir = _clip_dir(row.source, tree, row.subject, row.code, folders)
  frames, offset, frame_fixes = sheets.clip_frames(row.source, clip_dir, row.onset, row.apex,
                                                   row.offset)
  return sheets.Sample(database="casme_sq", subject=f"casme_sq/{row.subject}", clip=row.clip,
                       emotion=row.emotion, onset=row.onset, apex=row.apex, offset=offset,
                       action_units=row.action_units, frames=frames,
                       fixes=row.fixes + tuple(frame_fixes), source=row.source,
                       kind=row.kind.split("-")[0])
