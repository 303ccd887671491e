"""SAMM: the reader on a tiny folder with every documented quirk, and the builder on its twin."""

import shutil

import cv2
import numpy as np
import openpyxl
import pytest

from mexp import synthetic
from mexp.datasets import __main__ as datasets_cli
from mexp.io import samm, sheets

TINY = "t4_16x16_grey_median"
DATED = "SAMM_20181215_Micro_FACS_Codes_v2.xlsx"
HEADER = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame",
          "Duration", "Micro", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"]
TEXT = [["SAMM: Spontaneous Micro-Facial Movement Dataset"], [None], ["Subject: the participant"]]


def write_grey(folder, subject, numbers, value=lambda n: (10 * n) % 250):
  """One small grey JPEG per frame, named as SAMM names them: 006_05562.jpg."""
  folder.mkdir(parents=True, exist_ok=True)
  for n in numbers:
    cv2.imwrite(str(folder / f"{subject}_{n:05d}.jpg"), np.full((20, 24), value(n), np.uint8))


def write_sheet(path, rows, header=HEADER, text_rows=13):
  book = openpyxl.Workbook()
  for line in (TEXT + [[None]] * text_rows)[:text_rows]:
    book.active.append(line)
  for row in [header, *rows]:
    book.active.append(list(row))
  path.parent.mkdir(parents=True, exist_ok=True)
  book.save(path)


ROWS = [  # spreadsheet rows 15.. (13 text rows, header on row 14)
    ["006", "006_1_2", 1, 5562, 5565, 5569, 8, "Micro", "R12+L14", "Happiness", 1, None],
    [7, "007_3_1", 3, 100, None, 105, 6, "Micro", "4", "Contempt", 3, None],  # number, blank apex
    ["007", "007_5_1", 5, 40, -1, 45, 6, "Micro", "R14 or R14A", "Other", 7, None],
    ["009", "009_2_1", 2, 1200, 1203, 1206, 13, "Micro", "1+2", "Surprise", 2, "typo"],  # short
    ["009", "009_6_1", 6, 300, 302, 304, 5, "Micro", "9", "Others", 7, None],
]


@pytest.fixture
def samm_dir(tmp_path):
  """A tiny SAMM folder: the dated sheet one level down, with text rows above the header."""
  root = tmp_path / "samm_download"
  tree = root / "SAMM"
  write_grey(tree / "006" / "006_1_2", "006", range(5562, 5570))
  # Brightness peaks at 102: the estimated apex of the blank-apex row.
  write_grey(tree / "007" / "007_3_1", "007", range(100, 106), lambda n: 100 - 10 * abs(n - 102))
  write_grey(tree / "007" / "007_5_1", "007", range(40, 46))
  write_grey(tree / "009" / "009_2_1", "009", range(1200, 1213))  # the sheet says 1206
  write_grey(tree / "009" / "009_6_1", "009", range(300, 305))
  write_sheet(root / "annotations" / DATED, ROWS)
  return root


def _by_clip(report):
  return {s.clip: s for s in report.samples}


def test_reads_every_row_with_its_documented_fix(samm_dir):
  report = samm.read_samm(samm_dir)
  assert report.sheet.name == DATED and report.tree == samm_dir / "SAMM" and report.skipped == []
  s = _by_clip(report)
  clean = s["006_1_2"]
  assert (clean.subject, clean.emotion, clean.onset, clean.apex, clean.offset, clean.fixes) == \
      ("samm/006", "happiness", 5562, 5565, 5569, ())
  assert clean.action_units == "R12+L14"  # side prefixes kept
  assert [n for n, _ in clean.frames] == list(range(5562, 5570))  # absolute frame numbers
  assert clean.source == f"{DATED} row 15 (006/006_1_2)"

  blank = s["007_3_1"]  # Subject typed as the number 7
  assert blank.subject == "samm/007" and blank.apex is None
  assert blank.fixes == ("Apex Frame blank: apex estimated from peak motion against the onset "
                         "frame",)
  minus = s["007_5_1"]
  assert minus.apex is None and minus.fixes[0].startswith("Apex Frame '-1': apex estimated")
  assert minus.emotion == "others" and minus.action_units == "R14"
  assert minus.fixes[1] == ("Action Units 'R14 or R14A': alternatives joined by 'or'; the first "
                            "(R14) kept, 'R14A' dropped")
  short = s["009_2_1"]
  assert short.offset == 1212 and len(short.frames) == 13
  assert short.fixes == ("Offset Frame 1206 but the clip folder runs to 009_01212.jpg: offset taken"
                         " as the last frame on disk, 1212 (SAMM folders hold onset..offset)",)
  assert s["009_6_1"].emotion == "others"  # 'Others' and 'Other' both read

  assert report.notes[0] == "header on row 14, below 13 rows of text"
  assert set(report.notes[1:]) == {
      "Estimated Emotion 'Other' read as others: 1 row(s)",
      "Estimated Emotion 'Others' read as others: 1 row(s)",
      "Subject as a number: 1 row(s)", "Subject as text: 4 row(s)"}


def test_subject_is_text_with_leading_zeros():
  assert [samm.subject_id(v) for v in ("006", 6, 6.0, "6", " 037 ")] == \
      ["006", "006", "006", "006", "037"]
  with pytest.raises(ValueError, match="unreadable Subject 'S6'"):
    samm.subject_id("S6")


@pytest.mark.parametrize("text,kept,fix", [
    ("R12+L14", "R12+L14", None),
    ("12 + 25", "12+25", None),
    ("4+7 or 43", "4+7", "the first (4+7) kept, '43' dropped"),
    ("L14 OR R14", "L14", "the first (L14) kept, 'R14' dropped"),
    ("", "", None),
])
def test_action_units_split_on_plus_and_or(text, kept, fix):
  got, note = samm.parse_action_units(text)
  assert got == kept and (note is None if fix is None else fix in note)


def test_undated_and_dated_sheets_newest_version_then_date_wins(samm_dir):
  shutil.copy(samm_dir / "annotations" / DATED, samm_dir / "SAMM_Micro_FACS_Codes_v2.xlsx")
  report = samm.read_samm(samm_dir)
  assert report.sheet.name == DATED
  assert f"other SAMM sheet not read: {samm_dir / 'SAMM_Micro_FACS_Codes_v2.xlsx'}" in report.notes
  (samm_dir / "annotations" / DATED).unlink()
  undated = samm.read_samm(samm_dir)
  assert undated.sheet.name == "SAMM_Micro_FACS_Codes_v2.xlsx" and len(undated.samples) == 5


def test_columns_are_matched_by_name_without_text_rows(samm_dir):
  order = [9, 1, 0, 5, 4, 3, 8]  # emotion, filename, subject, offset, apex, onset, AUs
  write_sheet(samm_dir / "annotations" / DATED, [[r[i] for i in order] for r in ROWS[:1]],
              header=[HEADER[i] for i in order], text_rows=0)
  report = samm.read_samm(samm_dir)
  (s,) = report.samples
  assert (s.subject, s.clip, s.onset, s.apex, s.offset, s.emotion, s.action_units) == \
      ("samm/006", "006_1_2", 5562, 5565, 5569, "happiness", "R12+L14")
  assert report.notes[0] == "header on row 1"


def test_unknown_emotion_stops_the_read_naming_the_row(samm_dir):
  write_sheet(samm_dir / "annotations" / DATED, [ROWS[0], ROWS[1][:9] + ["Joy", 3, None]])
  with pytest.raises(sheets.SheetError,
                     match=rf"{DATED} row 16 \(007/007_3_1\): unknown emotion 'Joy'"):
    samm.read_samm(samm_dir)
  report = samm.read_samm(samm_dir, skip_invalid=True)
  assert len(report.samples) == 1 and "row 16 (007/007_3_1): unknown emotion 'Joy'" in \
      report.skipped[0]


def test_cell_fixes_are_keyed_by_clip_not_by_row(samm_dir, monkeypatch):
  monkeypatch.setitem(samm.CELL_FIXES, ("006", "006_1_2"),
                      {"apex": (5565, 5566, "documented in a test")})
  write_sheet(samm_dir / "annotations" / DATED, [ROWS[4], ROWS[0]])  # another row position
  s = _by_clip(samm.read_samm(samm_dir))["006_1_2"]
  assert s.apex == 5566 and s.fixes == ("apex 5565 -> 5566 (documented in a test)",)
  write_sheet(samm_dir / "annotations" / DATED, [ROWS[0][:4] + [5567] + ROWS[0][5:]])
  s = _by_clip(samm.read_samm(samm_dir))["006_1_2"]
  assert s.apex == 5567 and s.fixes == ()  # the cell no longer holds the wrong value


def test_missing_clip_folder_names_row_and_clip(samm_dir):
  shutil.rmtree(samm_dir / "SAMM" / "009" / "009_6_1")
  with pytest.raises(sheets.SheetError, match=rf"{DATED} row 19 \(009/009_6_1\): clip folder "
                                              r".*SAMM/009/009_6_1 not found"):
    samm.read_samm(samm_dir)
  assert len(samm.read_samm(samm_dir, skip_invalid=True).samples) == 4


def test_no_sheet_or_no_tree(tmp_path):
  with pytest.raises(FileNotFoundError, match="no SAMM sheet"):
    samm.read_samm(tmp_path)
  write_sheet(tmp_path / DATED, ROWS)
  with pytest.raises(FileNotFoundError, match="no SAMM frame tree"):
    samm.read_samm(tmp_path)


@pytest.fixture(scope="module")
def samm_twin(tmp_path_factory):
  out = tmp_path_factory.mktemp("samm_twin") / "samm"
  return synthetic.generate_samm(out, subjects=1, seed=3, clips_per_emotion=1)


def test_twin_layout_and_sheet(samm_twin):
  rows = list(openpyxl.load_workbook(samm_twin / synthetic.samm.SHEET).active
              .iter_rows(values_only=True))
  assert synthetic.samm.SHEET == DATED
  assert all(not any(r[1:]) for r in rows[:13]) and list(rows[13]) == HEADER
  body = rows[14:]
  assert body[synthetic.samm.QUIRK_SUBJECT_NUMBER_ROW][0] == 6 and body[1][0] == "006"
  assert body[synthetic.samm.QUIRK_APEX_BLANK_ROW][4] is None
  assert " or " in body[synthetic.samm.QUIRK_AU_OR_ROW][8]
  for subject, filename, _, onset, _, offset, duration, *_ in body:
    folder = samm_twin / "SAMM" / "006" / filename
    numbers = sorted(int(p.stem.split("_")[1]) for p in folder.iterdir())
    assert numbers == list(range(onset, onset + duration)) and filename.startswith("006_")
    assert (folder / f"006_{onset:05d}.jpg").exists()
    assert cv2.imread(str(folder / f"006_{onset:05d}.jpg"), cv2.IMREAD_UNCHANGED).ndim == 2  # grey
  short = body[synthetic.samm.QUIRK_OFFSET_SHORT_ROW]
  assert short[5] == short[3] + short[6] - 1 - synthetic.samm.OFFSET_SHORT_BY


def test_builds_end_to_end_from_the_twin(samm_twin, tmp_path, capsys):
  assert datasets_cli.main(["build", "samm", "--manual_dir", str(samm_twin), "--data_dir",
                            str(tmp_path), "--config", TINY]) == 0
  summary = capsys.readouterr().out
  assert f"sheet {samm_twin / DATED}" in summary and "header on row 14, below 13 rows of text" in \
      summary
  assert "8 samples written, 0 skipped" in summary and "samm/006 8" in summary
  assert "Apex Frame blank: apex estimated as frame" in summary
  assert "alternatives joined by 'or'" in summary and "offset taken as the last frame" in summary
  assert "fixes applied (3)" in summary
  import tensorflow_datasets as tfds
  source = tfds.data_source(f"samm/{TINY}", data_dir=tmp_path, split="train")
  names = tfds.builder(f"samm/{TINY}", data_dir=tmp_path).info.features["emotion"].names
  plans = {c.filename: c for c in synthetic.samm.plan(1, seed=3)[1]}
  for i in range(len(source)):
    x = source[i]
    c = plans[x["clip"].decode()]
    assert x["subject"] == b"samm/006" and names[x["emotion"]] == c.emotion.lower().replace(
        "other", "others")
    assert (int(x["onset"]), int(x["offset"])) == (c.onset, c.offset)  # the short offset repaired
    assert x["raw"].shape == (4, 16, 16, 1)
    if x["apex_estimated"]:
      assert abs(int(x["apex"]) - c.apex) <= 6  # the blank apex, estimated near the true one
    else:
      assert int(x["apex"]) == c.apex
