"""CAS(ME)^2 short clips: the reader on a tiny folder with every quirk, the builders on the twin."""

import re

import cv2
import numpy as np
import openpyxl
import pytest

from mexp import synthetic
from mexp.datasets import __main__ as datasets_cli
from mexp.io import casme_sq, sheets

TINY = "t4_16x16_grey_median"
SHEET = "CAS(ME)^2code_final.xlsx"
WHERE = re.escape(f"{SHEET} CASFEcode_final")
RULE1 = [[15, "casme_015", 1], [16, "casme_016", 2], [19, "casme_019", 3]]
RULE2 = [["0101", "disgust1"], [401, "anger1"], ["0503", "happy2"]]  # a code as a number too
ROWS = [  # no header: spreadsheet rows 1..
    [1, "anger1_1", 2, 4, 6, "L4+R12", "negative", "micro-expression", "x"],
    [1, "happy2_1", 3, 8, 0, "12", "positive", "macro-expression", ""],  # offset 0; typo folder
    [2, "disgust1_1", 2, 0, 5, "1+2", "surprise", "micro-expression", ""],  # apex 0
    [2, "disgust1_2", 6, 9, 7, "4", "Others", "micro-expression", ""],  # offset before apex
]


def write_jpgs(folder, numbers):
  """One small JPEG per frame, named as CAS(ME)^2 names them: img001.jpg, ..."""
  folder.mkdir(parents=True, exist_ok=True)
  for n in numbers:
    cv2.imwrite(str(folder / f"img{n:03d}.jpg"), np.full((20, 24, 3), 10 * n % 250, np.uint8))


def write_book(path, rows, worksheets=("naming rule1", "naming rule2", "CASFEcode_final")):
  """The workbook: the naming rules first, then the data with no header."""
  book = openpyxl.Workbook()
  content = {"naming rule1": RULE1, "naming rule2": RULE2, "CASFEcode_final": rows}
  for i, title in enumerate(worksheets):
    sheet = book.active if i == 0 else book.create_sheet()
    sheet.title = title
    for row in content.get(title, [["not the data"]]):
      sheet.append(list(row))
  path.parent.mkdir(parents=True, exist_ok=True)
  book.save(path)


@pytest.fixture
def casme_sq_dir(tmp_path):
  """A tiny CAS(ME)^2 folder: the sheet one level down, the misspelt folder, a decoy subject."""
  root = tmp_path / "download"
  tree = root / "CAS(ME)^2" / "rawpic"
  write_jpgs(tree / "s15" / "15_0401girlcrashing", range(1, 12))
  write_jpgs(tree / "s15" / "15_0503unnyfarting", range(1, 12))
  write_jpgs(tree / "s16" / "16_0101disgustingteeth", range(1, 12))
  write_jpgs(tree / "s16" / "15_0401girlcrashing", range(1, 3))  # another subject's number
  write_book(root / "labels" / SHEET, ROWS)
  return root


def test_reads_micro_rows_with_each_quirk(casme_sq_dir):
  report = casme_sq.read_casme_sq(casme_sq_dir)
  assert report.tree == casme_sq_dir / "CAS(ME)^2" / "rawpic"
  got = [(s.subject, s.clip, s.emotion, s.onset, s.apex, s.offset) for s in report.samples]
  assert got == [("casme_sq/s15", "anger1_1", "negative", 2, 4, 6),
                 ("casme_sq/s16", "disgust1_1", "surprise", 2, None, 5)]
  first, apex0 = report.samples
  assert [n for n, _ in first.frames] == [2, 3, 4, 5, 6] and first.fixes == ()
  assert first.frames[0][1].parent.name == "15_0401girlcrashing" and first.action_units == "L4+R12"
  assert apex0.fixes == ("apex 0 (not annotated): apex estimated from peak motion against the "
                         "onset frame",)
  assert report.skipped == [f"{SHEET} CASFEcode_final row 4 (s16/disgust1_2): offset 7 is before "
                            "apex 9; row skipped, as documented (which of the two is wrong is "
                            "unknown)"]
  assert report.notes == (
      "worksheets 'CASFEcode_final', 'naming rule1', 'naming rule2' (picked by name; "
      "'CASFEcode_final' has no header)", "micro-expression: 3 row(s)",
      "macro-expression: 1 row(s) left out (casme_sq_all keeps them)")


def test_macro_rows_use_the_apex_when_offset_is_0(casme_sq_dir):
  report = casme_sq.read_casme_sq(casme_sq_dir, macro=True)
  macro = report.samples[1]
  assert (macro.clip, macro.onset, macro.apex, macro.offset) == ("happy2_1", 3, 8, 8)
  assert macro.fixes == ("offset 0 (not annotated): the apex 8 is used as the end",)
  assert macro.frames[0][1].parent.name == "15_0503unnyfarting"  # matched by 15_0503, not name
  assert report.notes[-1] == "macro-expression: 1 row(s)" and len(report.skipped) == 1


@pytest.mark.parametrize("row, reason", [
    ([2, "anger1_1", 2, 4, 6, "4", "negative", "micro-expression"], "no folder 16_0401*"),
    ([3, "anger1_1", 2, 4, 6, "4", "negative", "micro-expression"], "rawpic/s19 not found"),
    ([9, "anger1_1", 2, 4, 6, "4", "negative", "micro-expression"], "subject index 9 is not in"),
    ([1, "happy9_1", 2, 4, 6, "4", "negative", "micro-expression"], "video 'happy9' is not in"),
    ([1, "anger1_1", 2, 4, 6, "4", "joy", "micro-expression"], "unknown emotion 'joy'"),
    ([1, "anger1_1", 2, 4, 6, "4", "negative", "micro"], "type 'micro' is not"),
    ([1, "anger1_1", 2, 0, 0, "4", "negative", "micro-expression"], "apex and offset are both 0"),
])
def test_bad_rows_stop_the_read_or_are_skipped(casme_sq_dir, row, reason):
  write_book(casme_sq_dir / "labels" / SHEET, ROWS[:1] + [row])
  with pytest.raises(sheets.SheetError, match=rf"^{WHERE} row 2.*{re.escape(reason)}"):
    casme_sq.read_casme_sq(casme_sq_dir)
  report = casme_sq.read_casme_sq(casme_sq_dir, skip_invalid=True)
  assert len(report.samples) == 1 and reason in report.skipped[0]


def test_worksheets_are_picked_by_name(casme_sq_dir):
  write_book(casme_sq_dir / "labels" / SHEET, ROWS, worksheets=("naming rule1", "Sheet1"))
  with pytest.raises(sheets.SheetError, match=r"no worksheet named 'naming rule2'"):
    casme_sq.read_casme_sq(casme_sq_dir)


def test_naming_rules():
  path = casme_sq.Path(SHEET)
  assert casme_sq.subject_rule([["subject", "name", "index"], *RULE1, ["s40", "", 22.0]], path) == \
      {1: "s15", 2: "s16", 3: "s19", 22: "s40"}
  assert casme_sq.video_rule(RULE2, path) == {"disgust1": "0101", "anger1": "0401",
                                              "happy2": "0503"}
  with pytest.raises(sheets.SheetError, match="naming rule1"):
    casme_sq.subject_rule([["no", "rule"]], path)


def test_no_sheet_or_no_tree(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"no CAS\(ME\)\^2 sheet"):
    casme_sq.read_casme_sq(tmp_path)
  write_book(tmp_path / SHEET, ROWS)
  with pytest.raises(FileNotFoundError, match=r"no CAS\(ME\)\^2 frame tree"):
    casme_sq.read_casme_sq(tmp_path)


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
  out = tmp_path_factory.mktemp("casme_sq_twin") / "casme_sq"
  return synthetic.generate_casme_sq(out, subjects=1, seed=3, clips_per_emotion=1)


def test_twin_layout_and_quirks(twin):
  t = synthetic.casme_sq
  book = openpyxl.load_workbook(twin / t.SHEET)
  assert book.sheetnames == ["naming rule1", "naming rule2", "CASFEcode_final"]
  rows = [list(r) for r in book["CASFEcode_final"].iter_rows(values_only=True)]
  assert rows[0][0] == 1 and len(rows) == 4 + 1 + 1  # no header; 4 micro, 1 macro, BAD_ID
  assert [r[1] for r in book["naming rule1"].iter_rows(values_only=True)][0] == "casme_015"
  macro = next(r for r in rows if r[7] == "macro-expression")
  assert macro[4] == 0 and any(r[3] == 0 for r in rows)  # offset 0, apex 0
  bad = next(r for r in rows if r[1] == t.BAD_ID)
  assert bad[4] < bad[3]  # offset before apex
  assert (twin / "rawpic" / "s15" / "15_0503unnyfarting" / "img001.jpg").is_file()


def test_builds_micro_only_end_to_end_from_the_twin(twin, tmp_path, capsys):
  assert datasets_cli.main(["build", "casme_sq", "--manual_dir", str(twin), "--data_dir",
                            str(tmp_path), "--config", TINY]) == 0
  summary = capsys.readouterr().out
  assert "4 samples written, 1 skipped" in summary and "casme_sq/s15 4" in summary
  assert "offset" in summary.split("rows skipped (1):")[1] and "is before apex" in summary
  assert "1 row(s) left out (casme_sq_all keeps them)" in summary
  import tensorflow_datasets as tfds
  source = tfds.data_source(f"casme_sq/{TINY}", data_dir=tmp_path, split="train")
  names = tfds.builder(f"casme_sq/{TINY}", data_dir=tmp_path).info.features["emotion"].names
  plans = {c.clip: c for c in synthetic.casme_sq.plan(1, seed=3)[1]}
  for i in range(len(source)):
    x = source[i]
    c = plans[x["clip"].decode()]
    assert x["subject"] == b"casme_sq/s15" and names[x["emotion"]] == c.emotion
    assert x["raw"].shape == (4, 16, 16, 1) and c.kind == "micro-expression"
    assert x["kind"] == b"micro"
    assert bool(x["apex_estimated"]) == (c.quirk == synthetic.casme_sq.APEX0)
    assert (int(x["onset"]), int(x["offset"])) == (c.onset, c.offset)


def test_builds_micro_and_macro_from_the_twin(twin, tmp_path, capsys):
  assert datasets_cli.main(["build", "casme_sq_all", "--manual_dir", str(twin), "--data_dir",
                            str(tmp_path), "--config", TINY]) == 0
  summary = capsys.readouterr().out
  assert "5 samples written, 1 skipped" in summary and "per kind: macro 1, micro 4" in summary
  assert "offset 0 (not annotated): the apex" in summary
  import tensorflow_datasets as tfds
  source = tfds.data_source(f"casme_sq_all/{TINY}", data_dir=tmp_path, split="train")
  macro = next(c for c in synthetic.casme_sq.plan(1, seed=3)[1] if c.kind == "macro-expression")
  (x,) = [source[i] for i in range(len(source)) if source[i]["clip"].decode() == macro.clip]
  assert (int(x["onset"]), int(x["apex"]), int(x["offset"])) == (macro.onset, macro.apex,
                                                                  macro.apex)
  assert x["kind"] == b"macro"
