"""SAMM (Davison et al., 2018): the FACS-code sheet + `SAMM/{subject}/{Filename}/` -> Samples.

Layout: `SAMM/006/006_1_2/006_05562.jpg`: subject folder, clip `{subject}_{inducement}_{k}`,
frames `{subject}_{frame:05d}.jpg` numbered as in the whole recording; grey; 200 fps.
Sheet: `SAMM_Micro_FACS_Codes_v2.xlsx` or a dated variant
(`SAMM_20181215_Micro_FACS_Codes_v2.xlsx`), found anywhere under the manual folder; text rows may
sit above the header, which is found by its cells; columns are matched by name. Subject is read
as text with its leading zeros ('006'; the number 6 reads as '006' too).

Fixes, each recorded in `Sample.fixes` (never silent):
  * Apex Frame blank, non-numeric or negative: apex estimated from peak motion, marked.
  * Offset Frame before the last frame of the clip folder: SAMM folders hold the frames from onset
    to offset (MEB checks each folder's first and last frame numbers against them), so the folder
    wins.
    This repairs the one wrong offset of the v2 sheet (MEB sets its data row 56 to 5739; an older
    MEB wrote 5793) without a row index and without choosing between those two numbers.
  * Offset Frame past the last frame on disk: clamped (the rule shared with CASME II).
  * Action Units with 'or' ('4+7 or 43'): the first alternative is kept, the rest named (MEB
    picks per row from optical flow; the AUs are metadata here, never a training label).
  * CELL_FIXES: corrections keyed by (subject, Filename), applied where the cell still holds the
    documented wrong value.
"""

from __future__ import annotations

import collections
import os
import re
from pathlib import Path

from mexp import databases
from mexp import labels
from mexp.io import frames as frames_io
from mexp.io import layout, sheets

FPS = databases.SAMM.fps
SHEET_NAME = re.compile(r"SAMM(?:_(\d{8}))?_Micro_FACS_Codes(?:_v(\d+))?\.xlsx?", re.IGNORECASE)
_SUBJECT_DIR = re.compile(r"\d{3}")
_OR = re.compile(r"\s*\bor\b\s*", re.IGNORECASE)

# (subject, Filename) -> {'onset' | 'apex' | 'offset': (value in the sheet, corrected value, why)}.
# MEB repairs SAMM by 0-based data-row position only (offset: row 56; apex: rows 125, 132, 133,
# set from optical flow; 'or' AUs: rows 15, 18, 41, 64, 154; add 15 for the spreadsheet row when
# the header is on row 14). Which clips those rows are is not public here, so the generic rules
# above repair them and this table holds no entry yet: add one only with the clip's name and the
# source of the correction.
CELL_FIXES: dict[tuple[str, str], dict[str, tuple[int | None, int, str]]] = {}


def subject_id(value) -> str:
  """'006', 6, 6.0, '6' -> '006': the Subject cell as text, zero-padded to SAMM's three digits."""
  text = sheets.text_cell(value)
  if not text.isdigit():
    raise ValueError(f"unreadable Subject {value!r}")
  return text.zfill(3)


def parse_action_units(text: str) -> tuple[str, str | None]:
  """'R12+L14' -> ('R12+L14', None); '4+7 or 43' -> ('4+7', the fix saying what was dropped)."""
  alternatives = [a for a in _OR.split(str(text).strip()) if a]
  if not alternatives:
    return "", None
  kept = "+".join(sheets.split_action_units(alternatives[0]))
  if len(alternatives) == 1:
    return kept, None
  return kept, (f"Action Units {str(text).strip()!r}: alternatives joined by 'or'; the first "
                f"({kept}) kept, {' / '.join(alternatives[1:])!r} dropped")


def find_sheet(root: Path) -> tuple[Path, list[Path]]:
  """(the sheet to read, the other SAMM sheets found): the highest version, then the latest date."""
  found = layout.find_files(root, SHEET_NAME.fullmatch)
  if not found:
    raise FileNotFoundError(f"{root}: no SAMM sheet (looked everywhere below it for SAMM_Micro_"
                            "FACS_Codes_v2.xlsx or SAMM_<date>_Micro_FACS_Codes_v2.xlsx)")

  def rank(path):
    date, version = SHEET_NAME.fullmatch(path.name).groups()
    return int(version or 0), date or "", str(path)
  found.sort(key=rank)
  return found[-1], found[:-1]


def find_tree(root: Path) -> Path:
  """The folder holding the subject folders (006/, 007/, ...): a `SAMM/` folder, or root itself."""
  return layout.find_tree(root, _SUBJECT_DIR, 4, "SAMM",
                          "SAMM frame tree (looked for SAMM/006/006_1_2/...)")


def read_samm(manual_dir: str | os.PathLike, *, skip_invalid: bool = False) -> sheets.SheetReport:
  """Reads SAMM: the FACS-code sheet and the frame tree, both found anywhere below manual_dir.

  Args:
    manual_dir: the folder the SAMM archive was unpacked into.
    skip_invalid: skip unusable rows (listed in the report) instead of failing.

  Returns:
    A SheetReport; its notes say which sheet and which documented forms were found.
  """
  root = Path(manual_dir)
  sheet, others = find_sheet(root)
  tree = find_tree(root)
  keys, body, header_row = sheets.parse_table(sheets.load_rows(sheet), sheet)
  col = layout.me_columns(keys, sheet)
  samples, skipped = [], []
  forms = collections.Counter()
  for row_number, row in body:
    cells = layout.row_cells(row, col)
    where = f"{sheet.name} row {row_number}"
    try:
      samples.append(_sample(where, cells, tree, forms))
    except (sheets.SheetError, ValueError, FileNotFoundError) as e:
      sheets.reject_row(where, e, skip_invalid, skipped)
  sheets.check_unique(samples)
  notes = [f"header on row {header_row}"
           + (f", below {header_row - 1} rows of text" if header_row > 1 else "")]
  notes += [f"other SAMM sheet not read: {p}" for p in others]
  notes += [f"{form}: {n} row(s)" for form, n in sorted(forms.items())]
  return sheets.SheetReport(samples=samples, skipped=skipped, sheet=sheet, tree=tree,
                            notes=tuple(notes))


def _sample(where: str, cells: dict, tree: Path, forms: collections.Counter) -> sheets.Sample:
  """One sheet row -> a Sample, with its fixes; raises naming the row and clip."""
  subject = subject_id(cells["subject"])
  forms["Subject as a number" if isinstance(cells["subject"], (int, float))
        else "Subject as text"] += 1
  clip = sheets.text_cell(cells["filename"])
  source = f"{where} ({subject}/{clip})"
  if not clip:
    raise sheets.SheetError(f"{source}: empty Filename")
  emotion_text = sheets.text_cell(cells["emotion"])
  try:
    emotion = labels.canonical_emotion(emotion_text, databases.SAMM)
  except labels.UnknownEmotionError as e:
    raise sheets.SheetError(f"{source}: {e}") from None
  if emotion_text.lower() != emotion or emotion == "others":  # 'Other' or 'Others': say which
    forms[f"Estimated Emotion {emotion_text!r} read as {emotion}"] += 1
  fixes = []
  value = {k: sheets.int_cell(cells[k]) for k in ("onset", "apex", "offset")}
  for field, (wrong, right, why) in CELL_FIXES.get((subject, clip), {}).items():
    if value[field] == wrong:
      fixes.append(f"{field} {wrong} -> {right} ({why})")
      value[field] = right
  onset, apex, offset = value["onset"], value["apex"], value["offset"]
  if onset is None or offset is None:
    raise sheets.SheetError(f"{source}: Onset Frame {cells['onset']!r} / Offset Frame "
                            f"{cells['offset']!r} must be frame numbers")
  if apex is None or apex < 0:
    shown = repr(sheets.text_cell(cells["apex"])) if sheets.text_cell(cells["apex"]) else "blank"
    fixes.append(f"Apex Frame {shown}: apex estimated from peak motion against the onset frame")
    apex = None
  clip_dir = tree / subject / clip
  on_disk = frames_io.list_frames(clip_dir) if clip_dir.is_dir() else []
  if on_disk and onset <= on_disk[-1][0] and offset < on_disk[-1][0]:
    last, last_path = on_disk[-1]
    fixes.append(f"Offset Frame {offset} but the clip folder runs to {last_path.name}: offset "
                 f"taken as the last frame on disk, {last} (SAMM folders hold onset..offset)")
    offset = last
  frames, offset, frame_fixes = sheets.clip_frames(source, clip_dir, onset, apex, offset)
  aus, au_fix = parse_action_units(sheets.text_cell(cells["aus"]))
  fixes += [au_fix] if au_fix else []
  return sheets.Sample(database="samm", subject=f"samm/{subject}", clip=clip, emotion=emotion,
                       onset=onset, apex=apex, offset=offset, action_units=aus, frames=frames,
                       fixes=tuple(fixes + frame_fixes), source=source)
