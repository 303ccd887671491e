"""SAMM-LV and CAS(ME)^2 long videos: the readers on tiny folders with every quirk, and on their
synthetic twins; the spotting evaluation reads them."""

import json
import re
import sys
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pytest

import page_check

import casme_sq_test
from mexp import predict, spotting_eval
from mexp.io import casme_sq_lv, long_video_readers, long_videos, samm_lv, sheets
from mexp.synthetic import casme_sq_lv as casme_twin
from mexp.synthetic import cli
from mexp.synthetic import samm_lv as samm_twin

LV_SHEET = "SAMM_LongVideos_V2_Release.xlsx"
HEADER = ["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration", "Type",
          "Action Units", "Notes"]
SAMM_ROWS = [  # spreadsheet rows 11.. (9 rows of notes, header on row 10)
    ["006", "006_1_1", 1, 2, 4, 6, 5, "Micro - 1/2", "R12+L14", None],
    [6, "006_1_2", 1, 0, 3, 7.5, 8, "Macro", "4", None],  # onset 0, fractional offset
    ["006", "006_1_3", 1, 8.5, -1, 12, 4, "micro - 1/2", "1+2", None],  # fractional, apex -1
    ["007", "007_2_1", 2, 3, 5, 40, 38, "Macro", "12", None],  # offset past the last frame
]
CASME_SHEET = "CAS(ME)^2code_final.xlsx"
CASME_ROWS = [  # no header: spreadsheet rows 1..
    [1, "happy2_1", 2, 4, 6, "12", "positive", "micro-expression", ""],
    [1, "happy2_2", 7, 10, 0, "6+12", "positive", "macro-expression", ""],  # offset 0
    [2, "disgust1_1", 2, 0, 5, "9", "negative", "micro-expression", ""],  # apex 0
    [2, "disgust1_2", 6, 9, 7, "4", "Others", "micro-expression", ""],  # offset before apex
]


def write_frames(folder, names):
  """One tiny grey JPEG per name."""
  folder.mkdir(parents=True, exist_ok=True)
  for i, name in enumerate(names):
    cv2.imwrite(str(folder / name), np.full((20, 24), 10 * i % 250, np.uint8))


def write_samm_sheet(path, rows, worksheet="FACS_Movement_Only", header=HEADER):
  book = openpyxl.Workbook()
  book.active.title = "About"
  sheet = book.create_sheet(worksheet)
  for line in ["SAMM Long Videos", None, "Type: Macro or Micro - 1/2"] + [None] * 6:
    sheet.append([line])
  for row in [header, *rows]:
    sheet.append(list(row))
  path.parent.mkdir(parents=True, exist_ok=True)
  book.save(path)


@pytest.fixture
def samm_lv_dir(tmp_path):
  """Tiny SAMM-LV: V1 and V2 sheets (V2 read), 4- and 5-digit names, an unannotated video."""
  root = tmp_path / "download"
  tree = root / "SAMM_longvideos"
  write_frames(tree / "006_1", [f"006_1_{n:04d}.jpg" for n in range(1, 15)])
  write_frames(tree / "007_2", [f"007_2_{n:05d}.jpg" for n in (1, 2, 3, 4, 5, 6, 12, 9, 10)])
  write_frames(tree / "007_3", [f"007_3_{n:04d}.jpg" for n in range(1, 4)])
  write_samm_sheet(root / "labels" / LV_SHEET, SAMM_ROWS)
  write_samm_sheet(root / "SAMM_LongVideos_V1_Release.xlsx", [["not", "read"]])
  return root


def test_samm_lv_reads_every_quirk(samm_lv_dir):
  report = samm_lv.read_samm_lv(samm_lv_dir)
  assert report.sheet.name == LV_SHEET and report.tree.name == "SAMM_longvideos"
  assert [(v.subject, v.video, v.fps) for v in report.videos] == [
      ("samm/006", "006_1", 200), ("samm/007", "007_2", 200), ("samm/007", "007_3", 200)]
  a, b, c = report.videos
  assert [n for n, _ in b.frames] == [1, 2, 3, 4, 5, 6, 9, 10, 12]  # numeric, 5 digits read
  assert a.frames[0][1].name == "006_1_0001.jpg" and c.expressions == ()
  got = [(e.onset, e.apex, e.offset, e.kind, e.emotion, e.action_units) for e in a.expressions]
  assert got == [(1, 3, 8, "macro", None, "4"), (2, 4, 6, "micro", None, "R12+L14"),
                 (9, None, 12, "micro", None, "1+2")]
  assert a.expressions[0].fixes == (
      "Offset 7.5 is fractional: rounded to 8",
      "Onset 0 (frames are numbered from 1): onset taken as the first frame, 1")
  assert a.expressions[2].fixes == ("Onset 8.5 is fractional: rounded to 9",
                                    "Apex -1 (not annotated): apex unknown")
  assert a.expressions[1].source == f"{LV_SHEET} FACS_Movement_Only row 11 (006_1_1)"
  (past,) = b.expressions
  assert past.offset == 12 and past.fixes == (
      "OffsetFrame 40 but the last frame on disk is 007_2_00012.jpg: offset clamped to 12",
      "frame(s) 7-8,11 missing on disk: the spotter sees the frames on either side as neighbours")
  assert report.notes[:2] == (
      "worksheet 'FACS_Movement_Only', header on row 10, below 9 rows of notes",
      f"other SAMM-LV sheet not read: {samm_lv_dir / 'SAMM_LongVideos_V1_Release.xlsx'}")
  assert report.notes[2].startswith("3 video(s), 2 micro, 2 macro interval(s); 1 video(s) "
                                    "without one")
  assert report.skipped == []


@pytest.mark.parametrize("row, message", [
    (["006", "006_1_4", 1, 2, 3, 4, 3, "Blink", "", None],
     "row 15 (006_1_4): Type 'Blink' is not 'Macro' or 'Micro - 1/2'"),
    (["006", "006_1_4", 1, "two", 3, 4, 3, "Macro", "", None],
     "row 15 (006_1_4): Onset 'two' / Offset 4 must be frame numbers"),
    (["006", "007_2_4", 1, 2, 3, 4, 3, "Macro", "", None],
     "row 15 (007_2_4): Filename '007_2_4' is not of Subject 006"),
    (["006", "006_9_1", 1, 2, 3, 4, 3, "Macro", "", None],
     "row 15 (006_9_1): no frame folder for video 006_9"),
    (["006", "006_1_4", 1, 6, 7, 4, 3, "Macro", "", None],
     "row 15 (006_1_4): OnsetFrame 6 is after OffsetFrame 4"),
    (["x6", "006_1_4", 1, 2, 3, 4, 3, "Macro", "", None], "row 15: unreadable Subject 'x6'"),
])
def test_samm_lv_errors_name_file_and_row(samm_lv_dir, row, message):
  write_samm_sheet(samm_lv_dir / "labels" / LV_SHEET, SAMM_ROWS + [row])
  with pytest.raises(sheets.SheetError) as error:
    samm_lv.read_samm_lv(samm_lv_dir)
  assert str(error.value) == f"{LV_SHEET} FACS_Movement_Only {message}"
  report = samm_lv.read_samm_lv(samm_lv_dir, skip_invalid=True)
  assert report.skipped == [f"{LV_SHEET} FACS_Movement_Only {message}"]
  assert sum(len(v.expressions) for v in report.videos) == 4


def test_samm_lv_unknown_emotion_and_missing_worksheet(samm_lv_dir):
  header = HEADER + ["Estimated Emotion"]
  write_samm_sheet(samm_lv_dir / "labels" / LV_SHEET,
                   [SAMM_ROWS[0] + ["Happiness"], SAMM_ROWS[1] + ["joy"]], header=header)
  with pytest.raises(sheets.SheetError, match=re.escape(
      f"{LV_SHEET} FACS_Movement_Only row 12 (006_1_2): unknown emotion 'joy'")):
    samm_lv.read_samm_lv(samm_lv_dir)
  report = samm_lv.read_samm_lv(samm_lv_dir, skip_invalid=True)
  assert [e.emotion for e in report.videos[0].expressions] == ["happiness"]
  write_samm_sheet(samm_lv_dir / "labels" / LV_SHEET, SAMM_ROWS, worksheet="Sheet2")
  with pytest.raises(sheets.SheetError, match="no worksheet named 'FACS_Movement_Only'"):
    samm_lv.read_samm_lv(samm_lv_dir)


@pytest.fixture
def casme_lv_dir(tmp_path):
  """Tiny CAS(ME)^2 in its face-cropped form: img_1.jpg, the misspelt folder, a decoy subject."""
  root = tmp_path / "download"
  tree = root / "longVideoFaceCropped"
  write_frames(tree / "s15" / "15_0503unnyfarting", [f"img_{n}.jpg" for n in range(1, 13)])
  write_frames(tree / "s16" / "16_0101disgustingteeth", [f"img_{n}.jpg" for n in range(1, 9)])
  write_frames(tree / "s16" / "15_0101disgustingteeth", ["img_1.jpg"])  # another's number
  casme_sq_test.write_book(root / "CAS(ME)^2" / CASME_SHEET, CASME_ROWS)  # its naming rules
  return root


def test_casme_sq_lv_reads_micro_and_macro_with_each_quirk(casme_lv_dir):
  report = casme_sq_lv.read_casme_sq_lv(casme_lv_dir)
  assert report.tree.name == "longVideoFaceCropped"
  assert [(v.subject, v.video, v.fps, v.path.name) for v in report.videos] == [
      ("casme_sq/s15", "15_0503", 30, "15_0503unnyfarting"),
      ("casme_sq/s16", "16_0101", 30, "16_0101disgustingteeth")]
  a, b = report.videos
  assert [n for n, _ in a.frames] == list(range(1, 13)) and a.frames[9][1].name == "img_10.jpg"
  got = [(e.onset, e.apex, e.offset, e.kind, e.emotion) for v in report.videos
         for e in v.expressions]
  assert got == [(2, 4, 6, "micro", "positive"), (7, 10, 10, "macro", "positive"),
                 (2, None, 5, "micro", "negative")]
  assert a.expressions[1].fixes == ("offset 0 (not annotated): the apex 10 is used as the end",)
  assert b.expressions[0].fixes == ("apex 0 (not annotated): apex unknown",)
  assert report.skipped == [f"{CASME_SHEET} CASFEcode_final row 4 (s16/disgust1_2): offset 7 is "
                            "before apex 9; row skipped, as documented (which of the two is "
                            "wrong is unknown)"]
  assert {"micro-expression: 3 row(s)", "macro-expression: 1 row(s)"} <= set(report.notes)


def test_casme_sq_lv_errors_name_file_and_row(casme_lv_dir):
  path = casme_lv_dir / "CAS(ME)^2" / CASME_SHEET
  book = openpyxl.load_workbook(path)
  book["CASFEcode_final"].append([1, "happy2_3", 2, 3, 4, "", "joy", "micro-expression", ""])
  book["CASFEcode_final"].append([1, "happy2_4", 2, 3, 40, "", "positive", "micro-expression"])
  book.save(path)
  with pytest.raises(sheets.SheetError, match=re.escape(
      f"{CASME_SHEET} CASFEcode_final row 5 (s15/happy2_3): unknown emotion 'joy'")):
    casme_sq_lv.read_casme_sq_lv(casme_lv_dir)
  report = casme_sq_lv.read_casme_sq_lv(casme_lv_dir, skip_invalid=True)
  assert len(report.skipped) == 2 and "unknown emotion 'joy'" in report.skipped[1]
  (clamped,) = [e for e in report.videos[0].expressions if e.source.endswith("happy2_4)")]
  assert clamped.offset == 12 and "offset clamped to 12" in clamped.fixes[0]


@pytest.fixture(scope="module")
def samm_lv_twin(tmp_path_factory):
  out = tmp_path_factory.mktemp("twins") / "samm_lv"
  return samm_twin.generate(out, videos=1, seed=0, seconds=3.2, micro=1, workers=2)


def test_samm_lv_twin_is_read_back(samm_lv_twin):
  report = long_video_readers.read_long_videos("samm_lv", samm_lv_twin)
  (video,) = report.videos
  (_, subject, twin), = samm_twin.plan(1, 0, 3.2, 1)
  assert (video.subject, video.video, video.fps) == ("samm/006", "006_1", 200)
  assert video.frames[0][1].name == "006_1_0001.jpg" and len(video.frames) == twin.frames
  assert [n for n, _ in video.frames] == list(range(1, twin.frames + 1))
  assert cv2.imread(str(video.frames[0][1]), cv2.IMREAD_UNCHANGED).shape == (480, 640)  # grey
  assert [(e.onset, e.offset, e.kind) for e in video.expressions] == [
      (t.onset + 1, t.offset + 1, t.kind) for t in twin.events]
  macro, micro = video.expressions
  assert macro.onset == 1 and macro.fixes[0] == (
      f"Offset {twin.events[0].offset + 1.25:g} is fractional: rounded to {macro.offset}")
  assert "Onset 0 (frames are numbered from 1)" in macro.fixes[1]
  assert micro.apex is None and micro.fixes == ("Apex -1 (not annotated): apex unknown",)
  assert report.skipped == []


@pytest.fixture(scope="module")
def casme_lv_twin(tmp_path_factory):
  out = tmp_path_factory.mktemp("twins") / "casme_sq_lv"
  return casme_twin.generate(out, videos=1, seed=0, seconds=4.0, micro=1, workers=2)


def test_casme_sq_lv_twin_is_read_back(casme_lv_twin):
  report = long_video_readers.read_long_videos("casme_sq_lv", casme_lv_twin)
  (video,) = report.videos
  (_, _, twin), = casme_twin.plan(1, 0, 4.0, 1)
  assert (video.subject, video.video, video.fps) == ("casme_sq/s15", "15_0503", 30)
  assert video.path.name == "15_0503unnyfarting" and video.frames[0][1].name == "img001.jpg"
  truth = [(t.onset + 1, t.apex + 1 if t.kind == "macro" else None, t.kind) for t in twin.events]
  got = [(e.onset, e.offset if e.kind == "macro" else e.apex, e.kind) for e in video.expressions]
  assert got == truth  # offset 0 -> apex as the end; apex 0 -> None
  macro = next(t for t in twin.events if t.kind == "macro")
  assert [e.fixes for e in video.expressions if e.kind == "macro"] == [
      (f"offset 0 (not annotated): the apex {macro.apex + 1} is used as the end",)]
  assert len(report.skipped) == 1 and "happy5_9): offset" in report.skipped[0]


def test_evaluate_spots_each_video_at_its_database_rate(samm_lv_twin, monkeypatch):
  truth = {v.path: v for v in long_video_readers.read_long_videos("samm_lv", samm_lv_twin).videos}
  calls = []

  def perfect(workdir, path, *, fps, predictor, spot, trace):  # predict.predict: the truth
    calls.append((path, fps))
    return {"task": "megc3", "classes": ["negative", "positive", "surprise"],
            "events": [{"onset_frame": e.onset, "offset_frame": e.offset, "source": e.kind,
                        "emotion": "negative"} for e in truth[path].expressions]}
  monkeypatch.setattr(predict, "load", lambda workdir: None)
  monkeypatch.setattr(predict, "predict", perfect)
  results = spotting_eval.evaluate("W", samm_lv_twin, "samm_lv")
  assert calls == [(samm_lv_twin / "SAMM_longvideos" / "006_1", 200)]
  assert [results["spotting"][k]["f1"] for k in ("micro", "macro", "overall")] == [1.0] * 3
  assert results["recognition"] is None  # SAMM-LV gives no emotion
  assert results["database"] == "SAMM-LV" and "long videos from" in results["protocol"]
  assert "(200 fps; micro-expression: at most 0.5 s)" in results["protocol"]
  assert len(results["ground_truth"]["fixes"]) == 3 and results["ground_truth"]["skipped"] == []
  assert "ground truth: 1 micro, 1 macro interval(s)" in spotting_eval.table(results)


def write_video(path, frames):
  """A tiny MJPG AVI of `frames` grey frames."""
  writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 50, (24, 20))
  for i in range(frames):
    writer.write(np.full((20, 24, 3), 10 * i % 250, np.uint8))
  writer.release()


def test_generic_ground_truth_json(tmp_path):
  event = {"onset": 10, "offset": 20, "kind": "micro", "emotion": "happiness", "aus": [12]}
  write_video(tmp_path / "video01.avi", 30)
  (tmp_path / "ground_truth.json").write_text(json.dumps(
      {"fps": 50, "frames": 200, "videos": [{"file": "video01.avi", "events": [event]}]}))
  (video,) = long_video_readers.read_long_videos("synthetic", tmp_path).videos
  assert (video.subject, video.video, video.fps, video.path, video.frames) == (
      "synthetic/video01", "video01", 50.0, tmp_path / "video01.avi", ())
  assert video.expressions == (long_videos.Expression(
      10, None, 20, "micro", "happiness", "12", (), "ground_truth.json video 1 event 1"),)
  with pytest.raises(ValueError, match="unknown long-video layout 'lv'"):
    long_video_readers.read_long_videos("lv", tmp_path)


GOOD = {"onset": 2, "offset": 9, "kind": "micro"}


@pytest.mark.parametrize("truth, message", [
    ('{"fps": 50, "videos": [', "ground_truth.json: not valid JSON (Expecting value"),
    ({"videos": []}, "ground_truth.json: no 'fps'"),
    ({"fps": 0, "videos": []}, "ground_truth.json: fps 0 is outside the plausible 1..2000"),
    ('{"fps": NaN, "videos": []}', "ground_truth.json: fps must be a number, not nan"),
    ({"fps": 50, "videos": [{"file": "v.avi", "events": [GOOD, {"onset": -1, "offset": 3,
                                                                "kind": "micro"}]}]},
     "ground_truth.json video 1 event 2: onset -1 is before the first frame (0)"),
    ({"fps": 50, "videos": [{"file": "v.avi", "events": [GOOD, {"onset": 25, "offset": 30,
                                                                "kind": "micro"}]}]},
     "ground_truth.json video 1 event 2: offset 30 is past the video's last frame (29)"),
    ({"fps": 50, "videos": [{"file": "v.avi", "frames": 12, "events": [
        GOOD, {"onset": 5, "offset": 12, "kind": "macro"}]}]},
     "ground_truth.json video 1 event 2: offset 12 is past the video's last frame (11)"),
    ({"fps": 50, "videos": [{"file": "v.avi", "events": [GOOD, {"onset": 9, "offset": 3,
                                                                "kind": "micro"}]}]},
     "ground_truth.json video 1 event 2: onset 9 is after offset 3"),
    ({"fps": 50, "videos": [{"file": "v.avi", "events": [GOOD, {"onset": 1, "offset": 3,
                                                                "kind": "blink"}]}]},
     "ground_truth.json video 1 event 2: kind 'blink' is not one of micro, macro"),
    ({"fps": 50, "videos": [{"file": "v.avi", "events": [GOOD, {"offset": 3, "kind": "micro"}]}]},
     "ground_truth.json video 1 event 2: no 'onset'"),
    ({"fps": 50, "videos": [{"file": "v.avi", "events": [GOOD, dict(GOOD, emotion="fear")]}]},
     "ground_truth.json video 1 event 2: the same interval as ground_truth.json video 1 event 1"),
])
def test_ground_truth_json_errors_name_file_video_and_event(tmp_path, truth, message):
  write_video(tmp_path / "v.avi", 30)
  text = truth if isinstance(truth, str) else json.dumps(truth)
  (tmp_path / "ground_truth.json").write_text(text)
  with pytest.raises(sheets.SheetError) as error:
    long_video_readers.read_long_videos("synthetic", tmp_path)
  assert message in str(error.value) and "Traceback" not in str(error.value)
  if "event 2" in message:  # a bad event can be skipped, and is listed
    report = long_video_readers.read_long_videos("synthetic", tmp_path, skip_invalid=True)
    assert [len(v.expressions) for v in report.videos] == [1] and len(report.skipped) == 1


def test_ground_truth_json_names_a_missing_video(tmp_path):
  (tmp_path / "ground_truth.json").write_text(json.dumps(
      {"fps": 50, "videos": [{"file": "gone.avi", "events": []}]}))
  with pytest.raises(FileNotFoundError, match="ground_truth.json video 1: .*gone.avi not found"):
    long_video_readers.read_long_videos("synthetic", tmp_path)


def test_samm_lv_duplicate_row_is_refused_and_gaps_are_noted(samm_lv_dir):
  write_samm_sheet(samm_lv_dir / "labels" / LV_SHEET, SAMM_ROWS + [SAMM_ROWS[0]])
  with pytest.raises(sheets.SheetError, match=re.escape(
      "row 15 (006_1_1): the same interval as " f"{LV_SHEET} FACS_Movement_Only row 11")):
    samm_lv.read_samm_lv(samm_lv_dir)
  report = samm_lv.read_samm_lv(samm_lv_dir, skip_invalid=True)
  assert sum(len(v.expressions) for v in report.videos) == 4 and len(report.skipped) == 1
  (gap,) = [n for n in report.notes if "missing" in n]
  assert gap.startswith(f"{samm_lv_dir / 'SAMM_longvideos' / '007_2'}: frame(s) 7-8,11 missing "
                        "(3 of 12)")


def test_cli_writes_long_layouts_and_names_their_limits(tmp_path, capsys):
  assert cli.main([str(tmp_path / "x"), "--layout", "samm_lv", "--long_videos", "99"]) == 2
  assert "1..58 for SAMM-LV" in capsys.readouterr().err
  assert cli.main([str(tmp_path / "y"), "--layout", "casme_sq_lv", "--long_videos", "45"]) == 2
  assert "1..44 for CAS(ME)^2" in capsys.readouterr().err


def test_spotting_experiment_on_the_casme_sq_twin(trained_workdir, casme_lv_twin, tmp_path,
                                                   capsys, monkeypatch):
  monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "experiments"))
  sys.modules.pop("spotting", None)
  import spotting
  argv = ["--model_workdir", str(trained_workdir[0]), "--layout", "casme_sq_lv",
          "--manual_dir", str(casme_lv_twin), "--workdir", str(tmp_path / "w")]
  assert spotting.main(spotting.get_config(), argv) == 0
  out = capsys.readouterr().out
  assert f"MEGC spotting on 1 CAS(ME)^2 long videos from {casme_lv_twin} (30 fps;" in out
  assert "ground truth: 1 micro, 1 macro interval(s); 1 row(s) skipped, 2 fix(es)" in out
  assert "[MEGC IoU>=0.5, CAS(ME)^2 long videos]" in out
  page = page_check.check(tmp_path / "w" / "report.html", "Spotting report")
  results = json.loads((tmp_path / "w" / "results.json").read_text())
  assert page.images == len(results["videos"]) == 1  # one timeline per video
  video = results["videos"][0]
  assert any(z is not None for z in video["energy"])  # one value per frame; None before a face
  assert sorted(t[2] for t in video["truth"]) == ["macro", "micro"]
  assert spotting.main(spotting.get_config(), ["--layout", "samm_lv"]) == 2
  assert "--layout samm_lv needs --manual_dir" in capsys.readouterr().err
  assert spotting.main(spotting.get_config(), ["--layout", "nope", "--manual_dir", "x"]) == 2
  assert "--layout 'nope': expected one of synthetic, samm_lv, casme_sq_lv" in \
      capsys.readouterr().err
  (tmp_path / "mine").mkdir()  # the user's own videos, without ground truth
  (tmp_path / "mine" / "talk.avi").write_bytes(b"")
  assert spotting.main(spotting.get_config(), ["--videos", str(tmp_path / "mine")]) == 2
  err = capsys.readouterr().err.strip()
  assert err.startswith(f"error: {tmp_path / 'mine'}: no ground_truth.json, so nothing to score")
  assert len(err.splitlines()) == 1 and list((tmp_path / "mine").iterdir()) == [
      tmp_path / "mine" / "talk.avi"]
