"""MMEW: the reader on a tiny folder (others/ or repression/), and the builder on its twin."""

import cv2
import numpy as np
import openpyxl
import pytest

from mexp import synthetic
from mexp.datasets import __main__ as datasets_cli
from mexp.io import mmew, sheets

TINY = "t4_16x16_grey_median"
SHEET = "MMEW_Micro_Exp.xlsx"
HEADER = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units",
          "Estimated Emotion", "remarks"]


def write_jpgs(folder, numbers, value=lambda n: (10 * n) % 250):
  """One small JPEG per frame: 1.jpg, 2.jpg, ..."""
  folder.mkdir(parents=True, exist_ok=True)
  for n in numbers:
    cv2.imwrite(str(folder / f"{n}.jpg"), np.full((20, 24, 3), value(n), np.uint8))


def write_sheet(path, rows, header=HEADER):
  book = openpyxl.Workbook()
  for row in [header, *rows]:
    book.active.append(list(row))
  path.parent.mkdir(parents=True, exist_ok=True)
  book.save(path)


ROWS = [  # spreadsheet rows 2..
    ["S01", "EP01", 2, 4, 7, "R12+L6", "happiness", None],
    [2, "EP02", 1, None, 5, "4+7", "anger", "apex blank"],  # Subject as a number
    ["s3", "EP03", 3, 5, 9, "7", "Others", None],
]


@pytest.fixture(params=["others", "repression"])
def mmew_dir(tmp_path, request):
  """A tiny MMEW folder; the others class in `others/` or `repression/`."""
  tree = tmp_path / "download" / "MMEW_Final" / "Micro_Expression"
  write_jpgs(tree / "happiness" / "EP01", range(1, 9))
  write_jpgs(tree / "anger" / "EP02", range(1, 6), lambda n: 100 - 10 * abs(n - 3))
  write_jpgs(tree / request.param / "EP03", range(1, 11))
  write_sheet(tmp_path / "download" / SHEET, ROWS)
  return tmp_path / "download"


def test_reads_every_row_and_says_which_others_folder_matched(mmew_dir):
  report = mmew.read_mmew(mmew_dir)
  others = next(p.name for p in report.tree.iterdir() if p.name in ("others", "repression"))
  assert report.tree == mmew_dir / "MMEW_Final" / "Micro_Expression" and report.skipped == []
  got = [(s.subject, s.clip, s.emotion, s.onset, s.apex, s.offset) for s in report.samples]
  assert got == [("mmew/S01", "EP01", "happiness", 2, 4, 7),
                 ("mmew/S02", "EP02", "anger", 1, None, 5),
                 ("mmew/S03", "EP03", "others", 3, 5, 9)]
  happy, blank, other = report.samples
  assert [n for n, _ in happy.frames] == list(range(2, 8)) and happy.action_units == "R12+L6"
  assert blank.fixes == ("ApexFrame '': apex estimated from peak motion against the onset frame",)
  assert other.frames[0][1].parent.parent.name == others
  assert report.notes == ("header on row 1",
                          f"others folder: {others}/ (accepted: others/, repression/)",
                          "Estimated Emotion 'Others' read as others: 1 row(s)")


def test_unknown_emotion_stops_the_read_naming_the_row(mmew_dir):
  write_sheet(mmew_dir / SHEET, ROWS[:1] + [ROWS[1][:6] + ["contempt", None]])
  with pytest.raises(sheets.SheetError,
                     match=r"MMEW_Micro_Exp\.xlsx row 3 \(S02/EP02\): unknown emotion 'contempt'"):
    mmew.read_mmew(mmew_dir)
  report = mmew.read_mmew(mmew_dir, skip_invalid=True)
  assert len(report.samples) == 1 and "row 3 (S02/EP02): unknown emotion" in report.skipped[0]


def test_clip_under_another_emotion_names_both_folders(mmew_dir):
  write_sheet(mmew_dir / SHEET, [ROWS[0][:6] + ["surprise", None]])
  (mmew_dir / "MMEW_Final" / "Micro_Expression" / "surprise").mkdir()
  with pytest.raises(sheets.SheetError, match=r"row 2 \(S01/EP01\): the sheet says 'surprise' "
                                              r"but the clip folder is under happiness/"):
    mmew.read_mmew(mmew_dir)


def test_subject_ids():
  assert [mmew.subject_id(v) for v in (1, 1.0, "1", "S1", "s01", "S12")] == \
      ["S01", "S01", "S01", "S01", "S01", "S12"]
  with pytest.raises(ValueError, match="unreadable Subject 'sub1'"):
    mmew.subject_id("sub1")


def test_no_sheet_or_no_tree(tmp_path):
  with pytest.raises(FileNotFoundError, match="no MMEW sheet"):
    mmew.read_mmew(tmp_path)
  write_sheet(tmp_path / SHEET, ROWS)
  with pytest.raises(FileNotFoundError, match="no MMEW frame tree"):
    mmew.read_mmew(tmp_path)


@pytest.fixture(scope="module")
def mmew_twin(tmp_path_factory):
  out = tmp_path_factory.mktemp("mmew_twin") / "mmew"
  return synthetic.generate_mmew(out, subjects=1, seed=3, clips_per_emotion=1)


def test_twin_layout_and_sheet(mmew_twin):
  tree = mmew_twin / "MMEW_Final" / "Micro_Expression"
  assert sorted(p.name for p in tree.iterdir()) == [
      "anger", "disgust", "fear", "happiness", "repression", "sadness", "surprise"]
  rows = list(openpyxl.load_workbook(mmew_twin / SHEET).active.iter_rows(values_only=True))
  assert list(rows[0]) == HEADER and len(rows) == 8
  for subject, filename, onset, apex, offset, _, emotion, _ in rows[1:]:
    folder = tree / synthetic.mmew.folder(emotion) / filename
    numbers = sorted(int(p.stem) for p in folder.iterdir())
    assert subject == "S01" and numbers[0] == 1 and onset <= apex <= offset <= numbers[-1]


def test_builds_end_to_end_from_the_twin(mmew_twin, tmp_path, capsys):
  assert datasets_cli.main(["build", "mmew", "--manual_dir", str(mmew_twin), "--data_dir",
                            str(tmp_path), "--config", TINY]) == 0
  summary = capsys.readouterr().out
  assert f"sheet {mmew_twin / SHEET}" in summary
  assert "others folder: repression/ (accepted: others/, repression/)" in summary
  assert "7 samples written, 0 skipped" in summary and "mmew/S01 7" in summary
  import tensorflow_datasets as tfds
  source = tfds.data_source(f"mmew/{TINY}", data_dir=tmp_path, split="train")
  names = tfds.builder(f"mmew/{TINY}", data_dir=tmp_path).info.features["emotion"].names
  plans = {c.filename: c for c in synthetic.mmew.plan(1, seed=3)[1]}
  assert sorted(source[i]["clip"].decode() for i in range(len(source))) == sorted(plans)
  for i in range(len(source)):
    x = source[i]
    c = plans[x["clip"].decode()]
    assert x["subject"] == b"mmew/S01" and names[x["emotion"]] == c.emotion
    assert (int(x["onset"]), int(x["apex"]), int(x["offset"])) == (c.onset, c.apex, c.offset)
    assert x["raw"].shape == (4, 16, 16, 1) and not x["apex_estimated"]
