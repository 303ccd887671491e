"""MMEW (Ben et al., 2022): the sheet + `Micro_Expression/{emotion}/{Filename}/` -> Samples.

Layout: `MMEW_Final/Micro_Expression/{emotion}/{Filename}/{N}.jpg`, one folder per emotion
(happiness, surprise, disgust, fear, sadness, anger, and `others`, which some copies name
`repression`: unconfirmed, so both are accepted and the summary says which matched); 90 fps.
Sheet: `MMEW_Micro_Exp.xlsx`, found anywhere under the manual folder; columns `Subject, Filename,
OnsetFrame, ApexFrame, OffsetFrame, Action Units, Estimated Emotion, remarks`, matched by name.
Subject ids are stored as `mmew/S01` (S and two digits, whichever of 1, 'S1', 's01' the cell holds).
"""

from __future__ import annotations

import collections
import os
import re
from pathlib import Path

from mexp import databases
from mexp import labels
from mexp.io import layout, sheets

FPS = databases.MMEW.fps
SHEET_NAME = re.compile(r"MMEW_Micro_Exp\.xlsx?", re.IGNORECASE)
# Canonical emotion -> its folder names, in order of preference.
FOLDERS = {e: (e,) for e in databases.MMEW.emotions} | {"others": ("others", "repression")}
_SUBJECT = re.compile(r"s?0*(\d+)", re.IGNORECASE)


def subject_id(value) -> str:
  """1, 1.0, '1', 'S1', 's01' -> 'S01'."""
  match = _SUBJECT.fullmatch(sheets.text_cell(value))
  if match is None:
    raise ValueError(f"unreadable Subject {value!r}")
  return f"S{int(match.group(1)):02d}"


def find_sheet(root: Path) -> tuple[Path, list[Path]]:
  """(the sheet to read, the other MMEW sheets found), the first by path."""
  found = layout.find_files(root, SHEET_NAME.fullmatch)
  if not found:
    raise FileNotFoundError(f"{root}: no MMEW sheet (looked everywhere below it for "
                            "MMEW_Micro_Exp.xlsx)")
  return found[0], found[1:]


def find_tree(root: Path) -> Path:
  """The `Micro_Expression/` folder (under `MMEW_Final/`, or wherever it is unpacked)."""
  for level in layout.levels(root, 5):
    for d in level:
      if d.name.lower() == "micro_expression":
        return d
  raise FileNotFoundError(f"{root}: no MMEW frame tree (looked for "
                          "MMEW_Final/Micro_Expression/happiness/...)")


def emotion_folders(tree: Path) -> dict[str, Path]:
  """Canonical emotion -> its folder in the tree; for `others`, `others/` or `repression/`."""
  out = {}
  for emotion, names in FOLDERS.items():
    found = [tree / n for n in names if (tree / n).is_dir()]
    if found:
      out[emotion] = found[0]
  return out


def read_mmew(manual_dir: str | os.PathLike, *, skip_invalid: bool = False) -> sheets.SheetReport:
  """Reads MMEW's micro-expressions: the sheet and the per-emotion frame tree.

  Args:
    manual_dir: the folder the MMEW archive was unpacked into.
    skip_invalid: skip unusable rows (listed in the report) instead of failing.

  Returns:
    A SheetReport; its notes say which sheet was read and which `others` folder matched.
  """
  root = Path(manual_dir)
  sheet, others = find_sheet(root)
  tree = find_tree(root)
  folders = emotion_folders(tree)
  keys, body, header_row = sheets.parse_table(sheets.load_rows(sheet), sheet)
  col = layout.me_columns(keys, sheet)
  samples, skipped = [], []
  forms = collections.Counter()
  for row_number, row in body:
    cells = layout.row_cells(row, col)
    where = f"{sheet.name} row {row_number}"
    try:
      samples.append(_sample(where, cells, tree, folders, forms))
    except (sheets.SheetError, ValueError, FileNotFoundError) as e:
      sheets.reject_row(where, e, skip_invalid, skipped)
  sheets.check_unique(samples)
  notes = [f"header on row {header_row}"]
  notes += [f"other MMEW sheet not read: {p}" for p in others]
  if "others" in folders:
    notes.append(f"others folder: {folders['others'].name}/ (accepted: others/, repression/)")
  notes += [f"{form}: {n} row(s)" for form, n in sorted(forms.items())]
  return sheets.SheetReport(samples=samples, skipped=skipped, sheet=sheet, tree=tree,
                            notes=tuple(notes))


def _sample(where: str, cells: dict, tree: Path, folders: dict[str, Path],
            forms: collections.Counter) -> sheets.Sample:
  """One sheet row -> a Sample; raises naming the row and clip."""
  subject = subject_id(cells["subject"])
  clip = sheets.text_cell(cells["filename"])
  source = f"{where} ({subject}/{clip})"
  if not clip:
    raise sheets.SheetError(f"{source}: empty Filename")
  emotion_text = sheets.text_cell(cells["emotion"])
  try:
    emotion = labels.canonical_emotion(emotion_text, databases.MMEW)
  except labels.UnknownEmotionError as e:
    raise sheets.SheetError(f"{source}: {e}") from None
  if emotion_text != emotion:
    forms[f"Estimated Emotion {emotion_text!r} read as {emotion}"] += 1
  if emotion not in folders:
    raise sheets.SheetError(f"{source}: no folder for {emotion} in {tree} (looked for "
                            f"{', '.join(n + '/' for n in FOLDERS[emotion])})")
  clip_dir = folders[emotion] / clip
  if not clip_dir.is_dir():
    elsewhere = [f.name for f in folders.values() if (f / clip).is_dir()]
    if elsewhere:
      raise sheets.SheetError(f"{source}: the sheet says {emotion_text!r} but the clip folder is "
                              f"under {elsewhere[0]}/, not {folders[emotion].name}/")
  value = {k: sheets.int_cell(cells[k]) for k in ("onset", "apex", "offset")}
  if value["onset"] is None or value["offset"] is None:
    raise sheets.SheetError(f"{source}: OnsetFrame {cells['onset']!r} / OffsetFrame "
                            f"{cells['offset']!r} must be frame numbers")
  fixes = []
  if value["apex"] is None:
    fixes.append(f"ApexFrame {sheets.text_cell(cells['apex'])!r}: apex estimated from peak "
                 "motion against the onset frame")
  frames, offset, frame_fixes = sheets.clip_frames(source, clip_dir, value["onset"],
                                                   value["apex"], value["offset"])
  aus = "+".join(sheets.split_action_units(sheets.text_cell(cells["aus"])))
  return sheets.Sample(database="mmew", subject=f"mmew/{subject}", clip=clip, emotion=emotion,
                       onset=value["onset"], apex=value["apex"], offset=offset, action_units=aus,
                       frames=frames, fixes=tuple(fixes + frame_fixes), source=source)
