"""SAMM long videos (SAMM-LV; Yap et al., 2020): the movement sheet + frame folders -> LongVideos.

Layout: `SAMM_longvideos/006_1/006_1_0001.jpg`: one folder per video `{subject}_{inducement}`,
frames numbered from 1, 4-digit (wider padding is read too); grey; 200 fps.
Sheet: `SAMM_LongVideos_V1_Release.xlsx` (V2 and V3 too; the highest version is read), found
anywhere under the manual folder; worksheet `FACS_Movement_Only`, with about 9 rows of notes above
the header, which is found by its cells: `Subject | Filename | Inducement Code | Onset | Apex |
Offset | Duration | Type | Action Units | Notes`. `Type` is `Macro` or `Micro - 1/2`. The video of
a row is the first two parts of its Filename (`006_1_2` -> `006_1`). No emotion column; one named
Estimated Emotion is read where a version has it.

Quirks, never silent (each recorded in `Expression.fixes`):
  * fractional frame numbers (macro rows): rounded half up;
  * onset 0 (macro rows): frames are numbered from 1, so the onset is the first frame;
  * apex -1 (or blank): not annotated, apex None;
  * offset past the last frame on disk: clamped to it.
Anything else wrong (unknown Type, unreadable frame cells, no folder for the video, onset after
offset, an unknown emotion) stops the read naming the file and row, or with `skip_invalid` is
skipped and listed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from mexp import databases
from mexp import labels
from mexp.io import layout, long_videos, samm, sheets

FPS = databases.SAMM.long_videos.fps
WORKSHEET = "FACS_Movement_Only"
SHEET_NAME = re.compile(r"SAMM_LongVideos_V(\d+)(?:_Release)?\.xlsx?", re.IGNORECASE)
TYPES = {"macro": "macro", "micro-1/2": "micro"}  # the Type cell, lower case, without spaces
_VIDEO_DIR = re.compile(r"(\d{3})_(\d+)")


def find_sheet(root: Path) -> tuple[Path, list[Path]]:
  """(the sheet to read, the other SAMM-LV sheets found): the highest version."""
  found = layout.find_files(root, SHEET_NAME.fullmatch)
  if not found:
    raise FileNotFoundError(f"{root}: no SAMM-LV sheet (looked everywhere below it for "
                            "SAMM_LongVideos_V1_Release.xlsx, or V2, V3)")
  found.sort(key=lambda p: (int(SHEET_NAME.fullmatch(p.name).group(1)), str(p)))
  return found[-1], found[:-1]


def find_tree(root: Path) -> Path:
  """The folder holding the video folders (006_1/, ...): `SAMM_longvideos/` or another."""
  return layout.find_tree(root, _VIDEO_DIR, 4, "SAMM_longvideos", "SAMM-LV frame tree (looked "
                          "for SAMM_longvideos/006_1/006_1_0001.jpg)")


def video_folders(tree: Path) -> dict[str, tuple[str, Path]]:
  """{video id: ('samm/006', folder)} of every `{subject}_{inducement}` folder in the tree."""
  return {d.name: (f"samm/{m.group(1)}", d) for d in layout.subdirs(tree)
          if (m := _VIDEO_DIR.fullmatch(d.name))}


def video_id(filename: str) -> str:
  """'006_1_2' -> '006_1': the first two parts of a Filename."""
  parts = filename.split("_")
  if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
    raise ValueError(f"Filename {filename!r} is not '{{subject}}_{{inducement}}_{{k}}'")
  return "_".join(parts[:2])


def read_samm_lv(manual_dir: str | os.PathLike, *,
                 skip_invalid: bool = False) -> long_videos.LongVideoReport:
  """Reads SAMM-LV: the movement sheet and the video folders, both found below manual_dir.

  Args:
    manual_dir: the folder the SAMM-LV archive was unpacked into.
    skip_invalid: skip unusable rows (listed in the report, with why) instead of failing.

  Returns:
    A LongVideoReport of every video folder, annotated or not; notes say which sheet was read.
  """
  root = Path(manual_dir)
  sheet, others = find_sheet(root)
  tree = find_tree(root)
  keys, body, header_row = sheets.parse_table(sheets.load_rows(sheet, WORKSHEET), sheet)
  col = layout.me_columns(keys, sheet, optional=("aus", "emotion"))
  col["type"] = sheets.column(keys, sheet, "type")
  folders = video_folders(tree)
  rows, skipped = [], []
  for row_number, row in body:
    where = f"{sheet.name} {WORKSHEET} row {row_number}"
    try:
      rows.append(_expression(where, layout.row_cells(row, col)))
    except (sheets.SheetError, ValueError) as e:
      sheets.reject_row(where, e, skip_invalid, skipped)
  videos, skipped = long_videos.assemble("samm_lv", FPS, folders, rows, skipped,
                                         skip_invalid=skip_invalid)
  notes = [f"worksheet {WORKSHEET!r}, header on row {header_row}"
           + (f", below {header_row - 1} rows of notes" if header_row > 1 else "")]
  notes += [f"other SAMM-LV sheet not read: {p}" for p in others]
  notes += long_videos.summary_notes(videos)
  return long_videos.LongVideoReport(database="samm_lv", videos=videos, skipped=skipped,
                                     sheet=sheet, tree=tree, notes=tuple(notes))


def _expression(where: str, cells: dict) -> tuple[str, long_videos.Expression]:
  """One sheet row -> (video id, Expression with its fixes); raises naming the row."""
  subject = samm.subject_id(cells["subject"])
  filename = sheets.text_cell(cells["filename"])
  source = f"{where} ({filename or subject})"
  video = video_id(filename)
  if video.split("_")[0] != subject:
    raise sheets.SheetError(f"{source}: Filename {filename!r} is not of Subject {subject}")
  kind = TYPES.get(re.sub(r"\s+", "", sheets.text_cell(cells["type"]).lower()))
  if kind is None:
    raise sheets.SheetError(f"{source}: Type {cells['type']!r} is not 'Macro' or 'Micro - 1/2'")
  emotion = None
  if sheets.text_cell(cells["emotion"]):
    try:
      emotion = labels.canonical_emotion(sheets.text_cell(cells["emotion"]),
                                         databases.SAMM)
    except labels.UnknownEmotionError as e:
      raise sheets.SheetError(f"{source}: {e}") from None
  value, fixes = {}, []
  for field in ("onset", "apex", "offset"):
    number, fractional = long_videos.rounded_frame(cells[field])
    if fractional:
      fixes.append(f"{field.capitalize()} {sheets.text_cell(cells[field])} is fractional: "
                   f"rounded to {number}")
    value[field] = number
  if value["onset"] is None or value["offset"] is None:
    raise sheets.SheetError(f"{source}: Onset {cells['onset']!r} / Offset {cells['offset']!r} "
                            "must be frame numbers")
  if value["onset"] == 0:
    fixes.append("Onset 0 (frames are numbered from 1): onset taken as the first frame, 1")
    value["onset"] = 1
  if value["apex"] is None or value["apex"] < 0:
    shown = sheets.text_cell(cells["apex"]) or "blank"
    fixes.append(f"Apex {shown} (not annotated): apex unknown")
    value["apex"] = None
  return video, long_videos.Expression(
      onset=value["onset"], apex=value["apex"], offset=value["offset"], kind=kind, emotion=emotion,
      action_units="+".join(sheets.split_action_units(sheets.text_cell(cells["aus"]))),
      fixes=tuple(fixes), source=source)

