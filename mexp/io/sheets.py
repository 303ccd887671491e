"""Annotation sheets + clip folders of CASME II and CASME -> Sample records, quirks included.

SAMM, SMIC, CAS(ME)^3, MMEW and CAS(ME)^2 have their own modules (mexp/io/samm.py, smic.py,
casme3.py, mmew.py, casme_sq.py), reached through `read_samm`, ..., `read_casme_sq` here; they
share this module's records and helpers.

Known fixes, each recorded in `Sample.fixes` (never silent):
  * ApexFrame '/' (or blank): apex left None here; the builder estimates it from peak motion
    against the onset frame and marks `apex_estimated`.
  * OffsetFrame past the last frame on disk: offset clamped to the last frame on disk.
  * Frames missing inside onset..offset: temporal resampling interpolates across the gap by
    frame number, so the clip's timing is kept.
Everything else that is wrong (missing folder, onset > offset, onset or apex not on disk, unknown
emotion, unreadable subject) raises SheetError naming sheet, row and clip, or with
`skip_invalid=True` is skipped and listed.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from mexp import databases
from mexp import labels
from mexp.io import frames as frames_io


class SheetError(ValueError):
  """A sheet row or clip folder that cannot be used; the message names sheet, row and clip."""


class MissingFramesError(SheetError):
  """A frame the sheet needs is not on disk."""


@dataclasses.dataclass(frozen=True)
class Sample:
  """One annotated clip: where its frames are and what the sheet says about it."""
  database: str
  subject: str  # unique across databases: 'casme2/sub01'
  clip: str  # the sheet's Filename, e.g. 'EP02_01f'
  emotion: str  # canonical name from the database's vocabulary
  onset: int
  apex: int | None  # None when the sheet gives none ('/'); estimated at build time
  offset: int
  action_units: str
  frames: tuple[tuple[int, Path], ...]  # (frame number, path) for onset..offset, numeric order
  fixes: tuple[str, ...]
  source: str  # 'CASME2-coding-20140508.xlsx row 61'
  kind: str = "micro"  # 'micro' or 'macro' (CAS(ME)^2 annotates both)


@dataclasses.dataclass(frozen=True)
class SheetReport:
  """What a reader returns: the usable samples and every row it skipped, with why."""
  samples: list[Sample]
  skipped: list[str]
  sheet: Path | None  # None where labels come from folder names (SMIC)
  tree: Path
  notes: tuple[str, ...] = ()  # which of several documented forms the files matched


# ----------------------------------------------------------------------------- tables


def _key(header) -> str:
  return re.sub(r"[^a-z]", "", str(header or "").lower())


def _read_rows(path: Path, worksheet: str | None) -> list[list]:
  if path.suffix.lower() == ".xls":
    import xlrd
    book = xlrd.open_workbook(str(path))
    index = 0 if worksheet is None else _worksheet_index(path, book.sheet_names(), worksheet)
    sheet = book.sheet_by_index(index)
    return [sheet.row_values(i) for i in range(sheet.nrows)]
  import openpyxl
  book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
  try:
    index = 0 if worksheet is None else _worksheet_index(path, book.sheetnames, worksheet)
    return [list(r) for r in book.worksheets[index].iter_rows(values_only=True)]
  finally:
    book.close()


def _worksheet_index(path: Path, names: list[str], worksheet: str) -> int:
  """The position of the worksheet called `worksheet` (trimmed, any case)."""
  found = [i for i, n in enumerate(names) if n.strip().lower() == worksheet.lower()]
  if not found:
    raise SheetError(f"{path.name}: no worksheet named {worksheet!r} (it has "
                     f"{', '.join(map(repr, names))})")
  return found[0]


def read_table(path: Path) -> tuple[list[str], list[tuple[int, list]]]:
  """Reads the first worksheet of an .xlsx/.xls file.

  Args:
    path: the sheet file.

  Returns:
    (normalised header keys, [(spreadsheet row number, cell values)]). The header row is the first
    row with both a 'Subject' and a 'Filename' cell; blank-header columns get key ''.
  """
  keys, body, _ = parse_table(load_rows(path), path)
  return keys, body


def load_rows(path: Path, worksheet: str | None = None) -> list[list]:
  """Every row of a worksheet (by name, else the first); no workbook or no such name: SheetError."""
  try:
    return _read_rows(path, worksheet)
  except SheetError:
    raise
  except OSError as e:
    raise SheetError(f"{path}: cannot read the sheet ({e.strerror or e})") from None
  except Exception as e:  # openpyxl/xlrd/zipfile raise many types for a damaged workbook
    head = path.read_bytes()[:512]
    hint = ("it is text (a CSV renamed?); save it as an Excel workbook" if head and
            all(32 <= b < 127 or b in b"\t\r\n" for b in head) else "damaged or not a workbook")
    raise SheetError(f"{path}: cannot read the sheet ({type(e).__name__}: {e}); {hint}") from None


def reject_row(where: str, error: Exception, skip_invalid: bool, skipped: list[str]) -> None:
  """A row that cannot be used: SheetError naming it (`where`), or with skip_invalid listed."""
  message = str(error) if str(error).startswith(where) else f"{where}: {error}"
  if not skip_invalid:
    raise SheetError(message) from None
  skipped.append(message)


def parse_table(rows: list[list], path: Path) -> tuple[list[str], list[tuple[int, list]], int]:
  """(header keys, body rows as in `read_table`, the header's spreadsheet row number)."""
  for i, row in enumerate(rows):
    keys = [_key(c) for c in row]
    if "subject" in keys and "filename" in keys:
      body = [(i + 2 + j, r) for j, r in enumerate(rows[i + 1:])
              if any(str(c).strip() for c in r if c is not None)]
      if not body:
        raise SheetError(f"{path}: no data rows below the header (row {i + 1})")
      return keys, body, i + 1
  raise SheetError(f"{path.name}: no header row with 'Subject' and 'Filename' columns")


def column(keys: list[str], path: Path, *names: str, required: bool = True) -> int | None:
  """The index of the first of `names` among the header keys (so the order is a preference)."""
  for name in names:
    if name in keys:
      return keys.index(name)
  if not required:
    return None
  raise SheetError(f"{path.name}: no column {names[0]!r} in the header")


def int_cell(value) -> int | None:
  """46, 46.0, '46' -> 46; '/', '', None -> None."""
  if value is None:
    return None
  if isinstance(value, (int, float)):
    return int(value) if float(value).is_integer() else None
  text = str(value).strip()
  return int(text) if re.fullmatch(r"\d+(\.0*)?", text) else None


def text_cell(value) -> str:
  """A cell as trimmed text: 12.0 -> '12', None -> ''."""
  if isinstance(value, float) and value.is_integer():
    return str(int(value))
  return "" if value is None else str(value).strip()


def split_action_units(text: str) -> tuple[str, ...]:
  """'R12+L14 + (25)' -> ('R12', 'L14', '25'): split on '+', side prefixes (L, R) kept."""
  return tuple(t.strip(" ()").upper() for t in str(text).split("+") if t.strip(" ()"))


def subject_folder(value) -> str:
  """1, 1.0, '1', '01', 'sub01' -> 'sub01'."""
  number = int_cell(value)
  if number is None:
    match = re.fullmatch(r"sub(\d+)", str(value).strip().lower())
    if match is None:
      raise ValueError(f"unreadable Subject {value!r}")
    number = int(match.group(1))
  return f"sub{number:02d}"


def _newest(root: Path, patterns: tuple[str, ...], what: str) -> Path:
  """The last by name of the files matching `patterns` in root or one level down."""
  found = sorted({p for pat in patterns for p in [*root.glob(pat), *root.glob(f"*/{pat}")]},
                 key=lambda p: p.name)
  if not found:
    raise FileNotFoundError(f"{root}: no {what} (looked for {', '.join(patterns)})")
  return found[-1]


def _find_dir(root: Path, names: tuple[str, ...], what: str) -> Path:
  """The first of `names` found in root or one level down (so the order is a preference)."""
  for name in names:
    for candidate in [root / name, *sorted(root.glob(f"*/{name}"))]:
      if candidate.is_dir():
        return candidate
  raise FileNotFoundError(f"{root}: no {what} (looked for {', '.join(names)})")


# ----------------------------------------------------------------------------- rows -> samples


def clip_frames(source: str, clip_dir: Path, onset: int, apex: int | None, offset: int,
                on_disk=None, gap: str = "resampled across the gap"):
  """Checks onset/apex/offset against the folder or its listing; (frames, offset, fixes)."""
  if on_disk is None and not clip_dir.is_dir():
    raise SheetError(f"{source}: clip folder {clip_dir} not found")
  on_disk = frames_io.list_frames(clip_dir) if on_disk is None else on_disk
  if not on_disk:
    raise MissingFramesError(f"{source}: clip folder {clip_dir} holds no frames")
  if onset > offset:
    raise SheetError(f"{source}: OnsetFrame {onset} is after OffsetFrame {offset}")
  if apex is not None and not onset <= apex <= offset:
    raise SheetError(f"{source}: ApexFrame {apex} is outside OnsetFrame {onset}..OffsetFrame {offset}")
  numbers = {n for n, _ in on_disk}
  first, last = on_disk[0][0], on_disk[-1]
  fixes = []
  if onset not in numbers:
    raise MissingFramesError(f"{source}: OnsetFrame {onset} is not on disk in {clip_dir} "
                             f"(frames {first}..{last[0]})")
  if offset > last[0]:
    if apex is not None and apex > last[0]:
      raise MissingFramesError(f"{source}: ApexFrame {apex} but the last frame on disk is "
                               f"{last[1].name}")
    fixes.append(f"OffsetFrame {offset} but the last frame on disk is {last[1].name}: "
                 f"offset clamped to {last[0]}")
    offset = last[0]
  if apex is not None and apex not in numbers:
    raise MissingFramesError(f"{source}: ApexFrame {apex} is not on disk in {clip_dir}")
  missing = sorted(set(range(onset, offset + 1)) - numbers)
  if missing:
    fixes.append(f"frame(s) {_ranges(missing)} missing on disk: {gap}")
  clip = tuple((n, p) for n, p in on_disk if onset <= n <= offset)
  return clip, offset, fixes


def _ranges(numbers: list[int]) -> str:
  spans, start = [], numbers[0]
  for a, b in zip(numbers, numbers[1:] + [None]):
    if b != a + 1:
      spans.append(str(start) if start == a else f"{start}-{a}")
      start = b
  return ",".join(spans)


def _rows_to_samples(*, database: databases.Database, sheet: Path, rows, keys, clip_root,
                     emotion_keys, skip_invalid: bool, skip_blank_emotion: bool) -> SheetReport:
  col = {
      "subject": column(keys, sheet, "subject"),
      "filename": column(keys, sheet, "filename"),
      "onset": column(keys, sheet, "onsetframe", "onsetf", "onset"),
      "apex": column(keys, sheet, "apexframe", "apexf", "apex"),  # CASME: ApexF1 before ApexF2
      "offset": column(keys, sheet, "offsetframe", "offsetf", "offset"),
      "aus": column(keys, sheet, "actionunits", "actionunit", "aus", "au", required=False),
      "emotion": column(keys, sheet, *emotion_keys),
  }
  samples, skipped = [], []
  for row_number, row in rows:
    cell = lambda name: row[col[name]] if col[name] is not None and col[name] < len(row) else None  # noqa: E731
    clip = text_cell(cell("filename"))
    where = f"{sheet.name} row {row_number}"
    try:
      subject = subject_folder(cell("subject"))
      source = f"{where} ({subject}/{clip})"
      if not clip:
        raise SheetError(f"{source}: empty Filename")
      emotion_text = text_cell(cell("emotion"))
      if not emotion_text and skip_blank_emotion:
        skipped.append(f"{source}: no emotion in the sheet (row skipped, as documented)")
        continue
      try:
        emotion = labels.canonical_emotion(emotion_text, database)
      except labels.UnknownEmotionError as e:
        raise SheetError(f"{source}: {e}") from None
      onset, offset = int_cell(cell("onset")), int_cell(cell("offset"))
      if onset is None or offset is None:
        raise SheetError(f"{source}: OnsetFrame {cell('onset')!r} / OffsetFrame "
                         f"{cell('offset')!r} must be frame numbers")
      apex = int_cell(cell("apex"))
      fixes = []
      if apex is None:
        fixes.append(f"ApexFrame {text_cell(cell('apex'))!r}: apex estimated from peak motion "
                     "against the onset frame")
      frames, offset, frame_fixes = clip_frames(source, clip_root(subject, clip), onset, apex,
                                                offset)
    except (SheetError, ValueError, FileNotFoundError) as e:
      reject_row(where, e, skip_invalid, skipped)
      continue
    samples.append(Sample(
        database=database.name, subject=f"{database.name}/{subject}", clip=clip,
        emotion=emotion,
        onset=onset, apex=apex, offset=offset, action_units=text_cell(cell("aus")),
        frames=frames, fixes=tuple(fixes + frame_fixes), source=source))
  return SheetReport(samples=samples, skipped=skipped, sheet=sheet, tree=Path())


# ----------------------------------------------------------------------------- databases


def read_casme2(manual_dir: str | os.PathLike, *, skip_invalid: bool = False) -> SheetReport:
  """Reads CASME II: `CASME2-coding-*.xlsx` + `Cropped/` (preferred) or `CASME2_RAW_selected/`.

  Args:
    manual_dir: the folder holding the sheet and a frame tree (directly or one level down).
    skip_invalid: skip unusable rows (listed in the report) instead of failing.

  Returns:
    A SheetReport; with several sheet versions, the newest name (…-updated > …-20190701) is used.
  """
  root = Path(manual_dir)
  sheet = _newest(root, ("CASME2-coding-*.xlsx", "CASME2-coding-*.xls"), "CASME II coding sheet")
  tree = _find_dir(root, ("Cropped", "CASME2_RAW_selected"), "CASME II frame tree")
  keys, rows = read_table(sheet)
  report = _rows_to_samples(
      database=databases.CASME2, sheet=sheet, rows=rows, keys=keys,
      clip_root=lambda subject, clip: tree / subject / clip,
      emotion_keys=("estimatedemotion", "emotion"),
      skip_invalid=skip_invalid, skip_blank_emotion=False)
  check_unique(report.samples)
  return dataclasses.replace(report, tree=tree)


def read_casme(manual_dir: str | os.PathLike, *, skip_invalid: bool = False) -> SheetReport:
  """Reads CASME (v1): `CASME_A/Section A/` + `Section A.xls`, and likewise Section B.

  Either section may be absent, not both. Rows without an emotion are skipped and listed (the
  sheets leave some blank); 'comtempt' reads as contempt.

  Args:
    manual_dir: the folder holding CASME_A/ and/or CASME_B/ (or the Section folders themselves).
    skip_invalid: skip unusable rows (listed in the report) instead of failing.

  Returns:
    One SheetReport over both sections (its `sheet` and `tree` are Section A's when present).
  """
  root = Path(manual_dir)
  samples, skipped, first = [], [], None
  for section in ("Section A", "Section B"):
    sheets_found = sorted(p for pattern in (f"{section}.xls", f"{section}.xlsx")
                          for depth in ("", "*/", "*/*/") for p in root.glob(depth + pattern))
    trees = sorted(p for depth in ("", "*/") for p in root.glob(f"{depth}{section}") if p.is_dir())
    if not sheets_found and not trees:
      continue
    if not sheets_found or not trees:
      raise FileNotFoundError(f"{root}: found {'the sheet' if sheets_found else 'the folder'} of "
                              f"CASME {section} but not {'its folder' if sheets_found else 'its sheet'}"
                              f" ({section}/ and {section}.xls)")
    keys, rows = read_table(sheets_found[0])
    tree = trees[0]
    report = _rows_to_samples(
        database=databases.CASME, sheet=sheets_found[0], rows=rows, keys=keys,
        clip_root=lambda subject, clip, tree=tree: tree / subject / clip,
        emotion_keys=("emotion", "estimatedemotion"),
        skip_invalid=skip_invalid, skip_blank_emotion=True)
    samples += report.samples
    skipped += report.skipped
    first = first or dataclasses.replace(report, tree=tree)
  if first is None:
    raise FileNotFoundError(f"{root}: no CASME section (looked for 'Section A.xls' with a "
                            "'Section A/' folder, and the same for Section B)")
  check_unique(samples)
  return dataclasses.replace(first, samples=samples, skipped=skipped)


def check_unique(samples: list[Sample]) -> None:
  """A second sample of the same (subject, clip) is a SheetError naming both sources."""
  seen = {}
  for s in samples:
    key = (s.subject, s.clip)
    if key in seen:
      raise SheetError(f"{s.source}: the same clip as {seen[key]}")
    seen[key] = s.source
