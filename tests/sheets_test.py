import shutil

import pytest

from conftest import CASME2_HEADER, write_jpegs, write_xls, write_xlsx
from mexp.io import sheets


def _by_clip(report):
  return {s.clip: s for s in report.samples}


def test_casme2_reads_every_row_with_documented_fixes(casme2_dir):
  report = sheets.read_casme2(casme2_dir)
  assert report.skipped == [] and report.tree.name == "Cropped"
  s = _by_clip(report)
  clean = s["EP02_01f"]
  assert (clean.subject, clean.emotion, clean.onset, clean.apex, clean.offset) == \
      ("casme2/sub01", "happiness", 46, 50, 55)
  assert clean.fixes == () and clean.action_units == "12"
  assert [n for n, _ in clean.frames] == list(range(46, 56))
  assert clean.source == "CASME2-coding-20140508.xlsx row 2 (sub01/EP02_01f)"

  assert s["EP12_01f"].apex is None
  assert "ApexFrame '/'" in s["EP12_01f"].fixes[0]

  past = s["EP01_08"]
  assert past.offset == 12 and past.subject == "casme2/sub16"
  assert "OffsetFrame 15 but the last frame on disk is reg_img12.jpg" in past.fixes[0]

  gap = s["EP09f"]
  assert [n for n, _ in gap.frames] == [95, 96, 97, 99, 100, 101, 102]
  assert gap.fixes == ("frame(s) 98 missing on disk: resampled across the gap",)


def test_int_subject_to_folder():
  assert sheets.subject_folder(1) == "sub01"
  assert sheets.subject_folder(4.0) == "sub04"
  assert sheets.subject_folder("26") == "sub26"
  assert sheets.subject_folder("sub7") == "sub07"
  with pytest.raises(ValueError, match="'abc'"):
    sheets.subject_folder("abc")


def test_raw_tree_used_when_no_cropped(casme2_dir):
  (casme2_dir / "Cropped").rename(casme2_dir / "CASME2_RAW_selected")
  report = sheets.read_casme2(casme2_dir)
  assert report.tree.name == "CASME2_RAW_selected" and len(report.samples) == 4


def _add_row(casme2_dir, row):
  import openpyxl
  path = casme2_dir / "CASME2-coding-20140508.xlsx"
  book = openpyxl.load_workbook(path)
  book.active.append(row)
  book.save(path)


@pytest.mark.parametrize("row,message", [
    ([2, "EP01_2", None, 5, 6, 9, None, "4", "fear"],
     r"row 6 \(sub02/EP01_2\): clip folder .*Cropped/sub02/EP01_2 not found"),
    ([1, "EP02_01f", None, 52, 53, 50, None, "4", "fear"],
     r"row 6 \(sub01/EP02_01f\): OnsetFrame 52 is after OffsetFrame 50"),
    ([1, "EP02_01f", None, 46, 50, 55, None, "4", "anger"],
     r"row 6 \(sub01/EP02_01f\): unknown emotion 'anger'"),
    ([1, "EP02_01f", None, 40, 50, 55, None, "4", "fear"],
     r"row 6 \(sub01/EP02_01f\): OnsetFrame 40 is not on disk"),
    ([1, "EP02_01f", None, 46, 60, 62, None, "4", "fear"],
     r"row 6 \(sub01/EP02_01f\): ApexFrame 60 but the last frame on disk is reg_img55.jpg"),
])
def test_bad_rows_fail_naming_sheet_row_and_clip(casme2_dir, row, message):
  _add_row(casme2_dir, row)
  with pytest.raises(sheets.SheetError, match="CASME2-coding-20140508.xlsx " + message):
    sheets.read_casme2(casme2_dir)
  report = sheets.read_casme2(casme2_dir, skip_invalid=True)
  assert len(report.samples) == 4 and len(report.skipped) == 1
  assert "row 6" in report.skipped[0]


def test_duplicate_clip_is_an_error(casme2_dir):
  _add_row(casme2_dir, [1, "EP02_01f", None, 46, 50, 55, None, "12", "happiness"])
  with pytest.raises(sheets.SheetError, match=r"row 6 .*same clip as .*row 2"):
    sheets.read_casme2(casme2_dir)


def test_blank_header_columns_are_ignored_and_columns_found_by_name(tmp_path):
  write_jpegs(tmp_path / "Cropped" / "sub03" / "EP01_2", range(1, 5), prefix="reg_img")
  header = ["Estimated Emotion", None, "Filename", "Subject", None, "ApexFrame", "OffsetFrame",
            "OnsetFrame", "Action Units"]
  write_xlsx(tmp_path / "CASME2-coding-20190701.xlsx", header,
             [["others", "junk", "EP01_2", 3, "x", 2, 4, 1, 4]])
  (s,) = sheets.read_casme2(tmp_path).samples
  assert (s.subject, s.clip, s.onset, s.apex, s.offset, s.emotion, s.action_units) == \
      ("casme2/sub03", "EP01_2", 1, 2, 4, "others", "4")


def test_newest_sheet_name_wins(casme2_dir):
  shutil.copy(casme2_dir / "CASME2-coding-20140508.xlsx", casme2_dir / "CASME2-coding-updated.xlsx")
  assert sheets.read_casme2(casme2_dir).sheet.name == "CASME2-coding-updated.xlsx"


def test_no_sheet_or_tree(tmp_path):
  with pytest.raises(FileNotFoundError, match="no CASME II coding sheet"):
    sheets.read_casme2(tmp_path)
  write_xlsx(tmp_path / "CASME2-coding-20140508.xlsx", CASME2_HEADER, [])
  with pytest.raises(FileNotFoundError, match="no CASME II frame tree"):
    sheets.read_casme2(tmp_path)


CASME_HEADER = ["Subject", "Filename", None, "OnsetF", "ApexF1", "ApexF2", "OffsetF", None,
                "Duration", "Action Units", "Emotion"]


@pytest.fixture
def casme_dir(tmp_path):
  """A tiny CASME (v1) folder: Section A unpadded frames, Section B padded, quirky emotions."""
  a = tmp_path / "CASME_A" / "Section A"
  b = tmp_path / "CASME_B" / "Section B"
  write_jpegs(a / "sub01" / "EP01_5", range(1, 9), prefix="EP01_5-")
  write_jpegs(a / "sub02" / "EP03_2", range(1, 5), prefix="EP03_2-")
  b.joinpath("sub08", "EP02_1").mkdir(parents=True)
  for n in range(1, 12):
    write_jpegs(b / "sub08" / "EP02_1", [n], prefix="EP02_1-")
    (b / "sub08" / "EP02_1" / f"EP02_1-{n}.jpg").rename(b / "sub08" / "EP02_1" / f"EP02_1-{n:03d}.jpg")
  write_xls(a / "Section A.xls", CASME_HEADER, [
      [1, "EP01_5", None, 2, 4, 5, 8, None, 7, "4+L10", "comtempt"],
      [2, "EP03_2", None, 1, 2, None, 4, None, 4, "1+2", None],  # no emotion: skipped, listed
  ])
  write_xls(b / "Section B.xls", CASME_HEADER, [
      [8, "EP02_1", None, 3, 9, None, 11, None, 9, "14", "tense"],
  ])
  return tmp_path


def test_casme_reads_both_sections(casme_dir):
  report = sheets.read_casme(casme_dir)
  s = _by_clip(report)
  assert set(s) == {"EP01_5", "EP02_1"}
  a, b = s["EP01_5"], s["EP02_1"]
  assert (a.subject, a.emotion, a.onset, a.apex, a.offset, a.action_units) == \
      ("casme/sub01", "contempt", 2, 4, 8, "4+L10")
  assert (b.subject, b.emotion, b.onset, b.apex, b.offset) == ("casme/sub08", "tense", 3, 9, 11)
  assert [n for n, _ in b.frames] == list(range(3, 12))  # padded '-003' sorts numerically
  assert len(report.skipped) == 1 and "Section A.xls row 3 (sub02/EP03_2): no emotion" in \
      report.skipped[0]


def test_casme_section_sheet_without_folder(casme_dir):
  shutil.rmtree(casme_dir / "CASME_B" / "Section B" / "sub08")
  (casme_dir / "CASME_B" / "Section B" / "Section B.xls").rename(casme_dir / "Section B.xls")
  shutil.rmtree(casme_dir / "CASME_B")
  with pytest.raises(FileNotFoundError, match="Section B.*not its folder"):
    sheets.read_casme(casme_dir)


def test_header_only_sheet_is_one_line_error(casme2_dir):
  write_xlsx(casme2_dir / "CASME2-coding-20140508.xlsx", CASME2_HEADER, [])
  with pytest.raises(sheets.SheetError,
                     match=r"CASME2-coding-20140508\.xlsx: no data rows below the header \(row 1\)"):
    sheets.read_casme2(casme2_dir)


def test_csv_saved_as_xlsx_says_so(casme2_dir):
  (casme2_dir / "CASME2-coding-20140508.xlsx").write_text(
      "Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Estimated Emotion\n1,EP02_01f,46,50,55,happiness\n")
  with pytest.raises(sheets.SheetError) as error:
    sheets.read_casme2(casme2_dir)
  message = str(error.value)
  assert "CASME2-coding-20140508.xlsx: cannot read the sheet" in message
  assert "a CSV renamed?" in message and "\n" not in message


def test_action_units_split_on_plus_keeping_sides():
  assert sheets.split_action_units("R12+L14 + (25)") == ("R12", "L14", "25")
  assert sheets.split_action_units("l10") == ("L10",) and sheets.split_action_units("") == ()
