"""CAS(ME)^3 Part A: the reader on a tiny folder with every known quirk, the builder on its twin."""

import re

import cv2
import numpy as np
import openpyxl
import pytest

from mexp import synthetic
from mexp.datasets import __main__ as datasets_cli
from mexp.io import casme3, sheets

TINY = "t4_16x16_grey_median"
SHEET = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
SHEET_RE = re.escape(SHEET)
HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]


def write_jpgs(folder, numbers, value=lambda n: (10 * n) % 250):
  """One small JPEG per frame, named as CAS(ME)^3 names them: 0.jpg, 1.jpg, ..."""
  folder.mkdir(parents=True, exist_ok=True)
  for n in numbers:
    cv2.imwrite(str(folder / f"{n}.jpg"), np.full((20, 24, 3), value(n), np.uint8))


def write_book(path, rows, header=HEADER, worksheets=("Sheet1", "label")):
  """The label workbook: a decoy worksheet first, the data on `label`."""
  book = openpyxl.Workbook()
  for i, title in enumerate(worksheets):
    sheet = book.active if i == 0 else book.create_sheet()
    sheet.title = title
    sheet.append(["not the data"] if title != "label" else header)
  if "label" in worksheets:
    for row in rows:
      book["label"].append(list(row))
  path.parent.mkdir(parents=True, exist_ok=True)
  book.save(path)


ROWS = [  # spreadsheet rows 2..
    ["spNO.1", "a", 0, 2, 4, "L4+R12", 1, "happy"],  # frames start at 0
    ["spNO.1", "a", 10, 12, 14, "4", 4, "disgust"],  # the same video; 11 missing on disk
    ["spNO.2", "b", 300, 301, 303, "1+2", 2, "Others"],
    [3, "a", 50, 52, 53, "15", 5, "sad"],  # Subject as a number
]
BAD = {  # kind -> (onset, apex, offset, the reason in the error)
    "apex before onset": (10, 8, 14, "Apex 8 is before Onset 10"),
    "offset far beyond": (5, 7, 3460, "Offset 3460 is 3455 frames after Onset 5"),
    "onset after apex": (40, 12, 14, "Onset 40 is after Apex 12 and Offset 14"),
    "onset and apex 0": (0, 0, 4, "Onset and Apex are both 0 (not annotated)"),
    "offset 0": (10, 12, 0, "Offset is 0 (not annotated)"),
}


@pytest.fixture
def casme3_dir(tmp_path):
  """A tiny Part A folder: the sheet one level down, frames with gaps, depth to ignore."""
  root = tmp_path / "download"
  tree = root / "part_A" / "data" / "part_A"
  write_jpgs(tree / "spNO.1" / "a" / "color", [0, 1, 2, 3, 4, 5, 9, 10, 12, 13, 14, 15])
  (tree / "spNO.1" / "a" / "depth").mkdir()
  (tree / "spNO.1" / "a" / "depth" / "0.png").write_bytes(b"not read")
  write_jpgs(tree / "spNO.2" / "b" / "color", range(299, 305))
  write_jpgs(tree / "spNO.3" / "a" / "color", range(50, 54))
  write_book(root / "labels" / SHEET, ROWS)
  return root


def test_reads_every_row_with_unique_ids(casme3_dir):
  report = casme3.read_casme3(casme3_dir)
  assert report.sheet.name == SHEET and report.skipped == []
  assert report.tree == casme3_dir / "part_A" / "data" / "part_A"
  got = [(s.subject, s.clip, s.emotion, s.onset, s.apex, s.offset) for s in report.samples]
  assert got == [("casme3/spNO.1", "a", "happiness", 0, 2, 4),
                 ("casme3/spNO.1", "a_2", "disgust", 10, 12, 14),
                 ("casme3/spNO.2", "b", "others", 300, 301, 303),
                 ("casme3/spNO.3", "a", "sadness", 50, 52, 53)]
  first, second = report.samples[:2]
  assert [n for n, _ in first.frames] == [0, 1, 2, 3, 4] and first.fixes == ()
  assert first.action_units == "L4+R12" and first.frames[0][1].parent.name == "color"
  assert [n for n, _ in second.frames] == [10, 12, 13, 14]
  assert second.fixes == ("frame(s) 11 missing on disk: resampled across the gap",)
  assert second.source == f"{SHEET} row 3 (spNO.1/a_2)"
  assert report.notes == (
      "worksheet 'label' (picked by name), header on row 1",
      "1 video(s) hold several MEs, numbered a, a_2, ...: spNO.1/a",
      "emotion 'Others' read as others: 1 row(s)", "emotion 'happy' read as happiness: 1 row(s)",
      "emotion 'sad' read as sadness: 1 row(s)")


@pytest.mark.parametrize("kind", list(BAD))
def test_each_bad_row_stops_the_build_or_is_skipped_with_its_reason(casme3_dir, kind):
  onset, apex, offset, reason = BAD[kind]
  write_book(casme3_dir / "labels" / SHEET,
             ROWS[:2] + [["spNO.1", "a", onset, apex, offset, "4", 4, "disgust"]] + ROWS[2:])
  match = rf"^{SHEET_RE} row 4 \(spNO.1/a_3\): {re.escape(reason)}"
  with pytest.raises(sheets.SheetError, match=match):
    casme3.read_casme3(casme3_dir)
  report = casme3.read_casme3(casme3_dir, skip_invalid=True)
  assert [s.clip for s in report.samples] == ["a", "a_2", "b", "a"]  # ids unchanged by the skip
  (skipped,) = report.skipped
  assert skipped.startswith(f"{SHEET} row 4 (spNO.1/a_3): {reason}") and "CELL_FIXES" in skipped


def test_cell_fixes_are_keyed_by_subject_filename_onset(casme3_dir, monkeypatch):
  monkeypatch.setitem(casme3.CELL_FIXES, ("spNO.1", "a", 5),
                      {"offset": (3460, 9, "documented in a test")})
  write_book(casme3_dir / "labels" / SHEET, [["spNO.1", "a", 5, 5, 3460, "4", 4, "fear"]])
  (s,) = casme3.read_casme3(casme3_dir).samples
  assert (s.onset, s.apex, s.offset) == (5, 5, 9)
  assert s.fixes == ("offset 3460 -> 9 (documented in a test)",
                     "frame(s) 6-8 missing on disk: resampled across the gap")


def test_unknown_emotion_stops_the_read_naming_the_row(casme3_dir):
  write_book(casme3_dir / "labels" / SHEET, ROWS[:1] + [ROWS[1][:7] + ["joy"]])
  with pytest.raises(sheets.SheetError,
                     match=rf"{SHEET_RE} row 3 \(spNO.1/a_2\): unknown emotion 'joy'"):
    casme3.read_casme3(casme3_dir)
  report = casme3.read_casme3(casme3_dir, skip_invalid=True)
  assert len(report.samples) == 1 and "unknown emotion 'joy'" in report.skipped[0]


def test_the_label_worksheet_is_picked_by_name(casme3_dir):
  write_book(casme3_dir / "labels" / SHEET, ROWS, worksheets=("Sheet1", "AU"))
  with pytest.raises(sheets.SheetError,
                     match=r"no worksheet named 'label' \(it has 'Sheet1', 'AU'\)"):
    casme3.read_casme3(casme3_dir)


def test_subject_ids():
  assert [casme3.subject_id(v) for v in ("spNO.1", " spno.12", 7, 7.0, "7")] == \
      ["spNO.1", "spNO.12", "spNO.7", "spNO.7", "spNO.7"]
  with pytest.raises(ValueError, match="unreadable Subject 'sub01'"):
    casme3.subject_id("sub01")


def test_no_sheet_or_no_tree(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"no CAS\(ME\)\^3 Part A sheet"):
    casme3.read_casme3(tmp_path)
  write_book(tmp_path / SHEET, ROWS)
  with pytest.raises(FileNotFoundError, match=r"no CAS\(ME\)\^3 Part A frame tree"):
    casme3.read_casme3(tmp_path)


@pytest.fixture(scope="module")
def casme3_twin(tmp_path_factory):
  out = tmp_path_factory.mktemp("casme3_twin") / "casme3"
  return synthetic.generate_casme3(out, subjects=1, seed=3, clips_per_emotion=1)


def test_twin_layout_and_sheet(casme3_twin):
  twin = synthetic.casme3
  book = openpyxl.load_workbook(casme3_twin / twin.SHEET)
  assert twin.SHEET == SHEET and book.sheetnames == ["README", "label", "AU statistics"]
  rows = list(book["label"].iter_rows(values_only=True))
  assert list(rows[0]) == HEADER and len(rows) == 1 + 7 + len(twin.BAD_ROWS)
  video_a = casme3_twin / "part_A" / "data" / "part_A" / "spNO.1" / "a"
  numbers = sorted(int(p.stem) for p in (video_a / "color").iterdir())
  first, second = twin.plan(1, seed=3)[1][:2]
  assert numbers[0] == 0 == first.onset and second.onset - first.offset > twin.GAP  # a gap
  assert second.onset + 1 not in numbers  # and a frame missing inside the second ME
  assert (video_a / "depth").is_dir()
  emotions = [r[7] for r in rows[1:]]
  assert "Others" in emotions and {"sad", "happy"} <= set(emotions)


def test_build_stops_at_the_first_bad_row_without_skip_invalid(casme3_twin, tmp_path, capsys):
  assert datasets_cli.main(["build", "casme3", "--manual_dir", str(casme3_twin), "--data_dir",
                            str(tmp_path), "--config", TINY]) == 2
  assert f"error: {SHEET} row 5 (spNO.1/a_3): Apex" in capsys.readouterr().err


def test_builds_end_to_end_from_the_twin(casme3_twin, tmp_path, capsys):
  assert datasets_cli.main(["build", "casme3", "--manual_dir", str(casme3_twin), "--data_dir",
                            str(tmp_path), "--config", TINY, "--skip_invalid"]) == 0
  summary = capsys.readouterr().out
  assert f"sheet {casme3_twin / SHEET}" in summary
  assert "worksheet 'label' (picked by name)" in summary
  assert "7 samples written, 5 skipped" in summary and "casme3/spNO.1 7" in summary
  assert "1 video(s) hold several MEs, numbered a, a_2, ...: spNO.1/a" in summary
  assert "casme3/spNO.1/a_2: frame(s)" in summary and "resampled across the gap" in summary
  for reason in ("Apex", "Offset 3460 is 3455 frames after Onset 5", "Onset", "Onset and Apex are "
                 "both 0", "Offset is 0"):
    assert reason in summary.split("rows skipped (5):")[1]
  import tensorflow_datasets as tfds
  source = tfds.data_source(f"casme3/{TINY}", data_dir=tmp_path, split="train")
  names = tfds.builder(f"casme3/{TINY}", data_dir=tmp_path).info.features["emotion"].names
  plans = {c.clip: c for c in synthetic.casme3.plan(1, seed=3)[1]}
  aliases = {"sad": "sadness", "happy": "happiness"}
  assert sorted(source[i]["clip"].decode() for i in range(len(source))) == sorted(plans)
  for i in range(len(source)):
    x = source[i]
    c = plans[x["clip"].decode()]
    assert x["subject"] == b"casme3/spNO.1" and names[x["emotion"]] == aliases.get(c.emotion,
                                                                                   c.emotion)
    assert (int(x["onset"]), int(x["apex"]), int(x["offset"])) == (c.onset, c.apex, c.offset)
    assert x["raw"].shape == (4, 16, 16, 1) and not x["apex_estimated"]
