"""CAS(ME)^3 Part A (Li et al., 2023): the label sheet + `part_A/.../spNO.1/a/color/` -> Samples.

Layout: `part_A/data/part_A/spNO.1/a/color/{N}.jpg`: subject folder, video folder, colour frames
numbered as in the whole video (N may start at 0 and has gaps; `depth/` is not read); 30 fps.
Sheet: `cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx`, found anywhere under the manual folder; the
data is on the worksheet named `label` (picked by name, not position); columns
`Subject | Filename | Onset | Apex | Offset | AU | Objective class | emotion`, matched by name.

Several MEs share one video folder, so sample ids number them in sheet order: the first ME of
video `a` is `a`, the second `a_2`, ... (counted over every row, so skipping a row never renames
the others).

Known bad rows (apex before onset, onset after apex and offset, onset and apex both 0, offset 0,
an offset far past the onset such as 3460 for onset 5) are repaired only by CELL_FIXES, keyed by
(subject, Filename, Onset); otherwise they stop the build naming the row, or with
`skip_invalid` are skipped with the reason. Never silent.
"""

from __future__ import annotations

import collections
import os
import re
from pathlib import Path

from mexp import databases
from mexp import labels
from mexp.io import layout, sheets

FPS = databases.CASME3.fps
WORKSHEET = "label"
SHEET_NAME = re.compile(r"cas\(me\)\^?3_part_?a_ME_label_JpgIndex(?:_v(\d+))?\.xlsx?",
                        re.IGNORECASE)
_SUBJECT_DIR = re.compile(r"spNO\.(\d+)", re.IGNORECASE)
# The longest a row may span, onset to offset. MEs last under 0.5 s; the margin is for the
# sheet's own long MEs. Only typos (3460 for onset 5) exceed it.
MAX_SECONDS = 2.0

# (subject, Filename, Onset as in the sheet) -> {'onset' | 'apex' | 'offset':
# (value in the sheet, corrected value, why)}. Empty: the exact cells of the known bad rows are
# not public here. Add an entry only with the row's keys and the source of the correction.
CELL_FIXES: dict[tuple[str, str, int], dict[str, tuple[int | None, int, str]]] = {}


def subject_id(value) -> str:
  """'spNO.1', 'spno.1 ', 1, 1.0 -> 'spNO.1': the Subject cell as the subject folder's name."""
  text = sheets.text_cell(value)
  match = _SUBJECT_DIR.fullmatch(text)
  if match is None and not text.isdigit():
    raise ValueError(f"unreadable Subject {value!r}")
  return f"spNO.{int(match.group(1) if match else text)}"


def find_sheet(root: Path) -> tuple[Path, list[Path]]:
  """(the sheet to read, the other CAS(ME)^3 Part A sheets found): the highest `_vN` wins."""
  found = layout.find_files(root, SHEET_NAME.fullmatch)
  if not found:
    raise FileNotFoundError(f"{root}: no CAS(ME)^3 Part A sheet (looked everywhere below it for "
                            "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx)")
  found.sort(key=lambda p: (int(SHEET_NAME.fullmatch(p.name).group(1) or 0), str(p)))
  return found[-1], found[:-1]


def find_tree(root: Path) -> Path:
  """The folder holding the subject folders (spNO.1/, ...): `part_A/data/part_A/` or another."""
  found = layout.holders(root, _SUBJECT_DIR, 6)
  if found:
    return found[0]
  raise FileNotFoundError(f"{root}: no CAS(ME)^3 Part A frame tree (looked for "
                          "part_A/data/part_A/spNO.1/a/color/...)")


def read_casme3(manual_dir: str | os.PathLike, *, skip_invalid: bool = False) -> sheets.SheetReport:
  """Reads CAS(ME)^3 Part A's micro-expressions: the label sheet and the colour frames.

  Args:
    manual_dir: the folder the Part A archive was unpacked into.
    skip_invalid: skip unusable rows (listed in the report, with why) instead of failing.

  Returns:
    A SheetReport; its notes say which sheet, worksheet and spellings were found.
  """
  root = Path(manual_dir)
  sheet, others = find_sheet(root)
  tree = find_tree(root)
  keys, body, header_row = sheets.parse_table(sheets.load_rows(sheet, WORKSHEET), sheet)
  col = layout.me_columns(keys, sheet)
  samples, skipped = [], []
  forms, per_video = collections.Counter(), collections.Counter()
  for row_number, row in body:
    cells = layout.row_cells(row, col)
    where = f"{sheet.name} row {row_number}"
    try:
      subject = subject_id(cells["subject"])
      video = sheets.text_cell(cells["filename"])
      if not video:
        raise sheets.SheetError(f"{where} ({subject}): empty Filename")
      per_video[subject, video] += 1
      k = per_video[subject, video]
      clip = video if k == 1 else f"{video}_{k}"
      samples.append(_sample(where, cells, tree, subject, video, clip, forms))
    except (sheets.SheetError, ValueError, FileNotFoundError) as e:
      sheets.reject_row(where, e, skip_invalid, skipped)
  sheets.check_unique(samples)
  shared = sorted(f"{s}/{v}" for (s, v), n in per_video.items() if n > 1)
  notes = [f"worksheet {WORKSHEET!r} (picked by name), header on row {header_row}"]
  notes += [f"other CAS(ME)^3 sheet not read: {p}" for p in others]
  notes += [f"{len(shared)} video(s) hold several MEs, numbered a, a_2, ...: {', '.join(shared)}"
            ] if shared else []
  notes += [f"{form}: {n} row(s)" for form, n in sorted(forms.items())]
  return sheets.SheetReport(samples=samples, skipped=skipped, sheet=sheet, tree=tree,
                            notes=tuple(notes))


def check_timing(onset: int | None, apex: int | None, offset: int | None) -> str | None:
  """Why a row's Onset/Apex/Offset cannot be used, or None when they can."""
  if onset is None or apex is None or offset is None:
    return "Onset, Apex and Offset must all be frame numbers"
  if onset == 0 and apex == 0:
    return "Onset and Apex are both 0 (not annotated)"
  if offset == 0:
    return "Offset is 0 (not annotated)"
  if onset > apex and onset > offset:
    return f"Onset {onset} is after Apex {apex} and Offset {offset}"
  if apex < onset:
    return f"Apex {apex} is before Onset {onset}"
  if apex > offset:
    return f"Apex {apex} is after Offset {offset}"
  if offset - onset > MAX_SECONDS * FPS:
    return (f"Offset {offset} is {offset - onset} frames after Onset {onset} "
            f"({(offset - onset) / FPS:.1f} s at {FPS:g} fps; an ME lasts under {MAX_SECONDS:g} s)")
  return None


def _sample(where: str, cells: dict, tree: Path, subject: str, video: str, clip: str,
            forms: collections.Counter) -> sheets.Sample:
  """One sheet row -> a Sample, with its fixes; raises naming the row and clip."""
  source = f"{where} ({subject}/{clip})"
  emotion_text = sheets.text_cell(cells["emotion"])
  try:
    emotion = labels.canonical_emotion(emotion_text, databases.CASME3)
  except labels.UnknownEmotionError as e:
    raise sheets.SheetError(f"{source}: {e}") from None
  if emotion_text != emotion:
    forms[f"emotion {emotion_text!r} read as {emotion}"] += 1
  value = {k: sheets.int_cell(cells[k]) for k in ("onset", "apex", "offset")}
  fixes = []
  for field, (wrong, right, why) in CELL_FIXES.get((subject, video, value["onset"]), {}).items():
    if value[field] == wrong:
      fixes.append(f"{field} {wrong} -> {right} ({why})")
      value[field] = right
  why = check_timing(value["onset"], value["apex"], value["offset"])
  if why:
    raise sheets.SheetError(f"{source}: {why}; not in CELL_FIXES (keyed by subject, Filename, "
                            "Onset)")
  frames, offset, frame_fixes = sheets.clip_frames(source, tree / subject / video / "color",
                                                   value["onset"], value["apex"], value["offset"])
  aus = "+".join(sheets.split_action_units(sheets.text_cell(cells["aus"])))
  return sheets.Sample(database="casme3", subject=f"casme3/{subject}", clip=clip, emotion=emotion,
                       onset=value["onset"], apex=value["apex"], offset=offset, action_units=aus,
                       frames=frames, fixes=tuple(fixes + frame_fixes), source=source)
