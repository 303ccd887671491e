"""SMIC: labels from folders on a tiny tree, and the builder on its raw and cropped twins."""

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from mexp import synthetic
from mexp.datasets import build as build_lib
from mexp.io import sheets, smic

TINY = "t4_16x16_grey_median"


def write_bmps(folder, numbers, prefix="image", value=lambda n: (10 * n) % 250):
  """One small flat BMP per frame: image000101.bmp."""
  folder.mkdir(parents=True, exist_ok=True)
  for n in numbers:
    cv2.imwrite(str(folder / f"{prefix}{n:06d}.bmp"), np.full((20, 24, 3), value(n), np.uint8))


@pytest.fixture
def smic_dir(tmp_path):
  """A tiny raw SMIC folder: HS with three classes and a gap, s12 after s2, decoys to ignore."""
  hs = tmp_path / "SMIC" / "SMIC_all_raw" / "HS"
  write_bmps(hs / "s1" / "micro" / "negative" / "s1_ne_01", range(101, 107))
  write_bmps(hs / "s1" / "micro" / "positive" / "s1_po_01", [30, 31, 33, 34])  # 32 missing
  write_bmps(hs / "s12" / "micro" / "surprise" / "s12_sur_01", range(5, 9))
  write_bmps(hs / "s2" / "micro" / "negative" / "s2_ne_03", range(7, 12))
  write_bmps(hs / "s1" / "non_micro" / "s1_nm_01", range(1, 4))
  write_bmps(tmp_path / "SMIC" / "SMIC_all_raw" / "VIS" / "s1" / "micro" / "negative" / "s1_ne_01",
             range(1, 3))
  return tmp_path


def test_labels_from_folders_first_and_last_frames_apex_estimated(smic_dir):
  report = smic.read_smic(smic_dir)
  assert report.sheet is None and report.tree == smic_dir / "SMIC" / "SMIC_all_raw" / "HS"
  assert [(s.subject, s.clip, s.emotion) for s in report.samples] == [
      ("smic/s01", "s1_ne_01", "negative"), ("smic/s01", "s1_po_01", "positive"),
      ("smic/s02", "s2_ne_03", "negative"), ("smic/s12", "s12_sur_01", "surprise")]
  ne = report.samples[0]
  assert (ne.onset, ne.apex, ne.offset, ne.action_units) == (101, None, 106, "")
  assert ne.fixes == (smic.NO_APEX_FIX,) and "apex estimated" in smic.NO_APEX_FIX
  assert ne.source == "HS/s1/micro/negative/s1_ne_01"
  gap = report.samples[1]
  assert [n for n, _ in gap.frames] == [30, 31, 33, 34]
  assert gap.fixes[1] == "frame(s) 32 missing on disk: resampled across the gap"
  assert report.notes == ("HS camera only (100 fps); raw tree: faces detected",
                          "VIS present, not read", "non_micro/ not read (1 folder(s) of frames)")


def test_cropped_tree_is_preferred_and_marked(smic_dir):
  write_bmps(smic_dir / "SMIC" / "SMIC_all_cropped" / "HS" / "s3" / "micro" / "positive" /
             "s3_po_02", range(36237, 36241), prefix="reg_image")
  report = smic.read_smic(smic_dir)
  assert report.tree == smic_dir / "SMIC" / "SMIC_all_cropped" / "HS"
  assert smic.is_cropped(report.tree)
  (s,) = report.samples
  assert (s.subject, s.onset, s.offset) == ("smic/s03", 36237, 36240)
  assert "cropped tree: faces already aligned, no face detection" in report.notes[0]
  assert any(n.startswith("other HS tree not read:") for n in report.notes)


def test_another_camera_on_request(smic_dir):
  report = smic.read_smic(smic_dir, camera="VIS")
  assert [s.clip for s in report.samples] == ["s1_ne_01"] and "25 fps" in report.notes[0]
  with pytest.raises(ValueError, match="unknown SMIC camera 'IR'"):
    smic.read_smic(smic_dir, camera="IR")


def test_unknown_emotion_folder_stops_the_read_naming_it(smic_dir):
  write_bmps(smic_dir / "SMIC" / "SMIC_all_raw" / "HS" / "s2" / "micro" / "happy" / "s2_ha_01",
             range(1, 4))
  with pytest.raises(sheets.SheetError, match=r"HS/s2/micro/happy: unknown emotion 'happy'.*"
                                              r"\(the folder name\)"):
    smic.read_smic(smic_dir)
  report = smic.read_smic(smic_dir, skip_invalid=True)
  assert len(report.samples) == 4 and report.skipped[0].startswith("HS/s2/micro/happy:")


def test_empty_clip_folder_names_it(smic_dir):
  (smic_dir / "SMIC" / "SMIC_all_raw" / "HS" / "s2" / "micro" / "surprise" / "s2_sur_01").mkdir(
      parents=True)
  with pytest.raises(sheets.SheetError, match="HS/s2/micro/surprise/s2_sur_01: the clip folder "
                                              "holds no frames"):
    smic.read_smic(smic_dir)


def test_no_hs_folder(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"no SMIC HS folder"):
    smic.read_smic(tmp_path)


@pytest.mark.parametrize("layout", ["smic", "smic_cropped"])
def test_builds_end_to_end_from_the_twin(layout, tmp_path):
  twin = synthetic.generate_smic(tmp_path / layout, subjects=1, seed=4, clips_per_emotion=1,
                                 cropped=layout == "smic_cropped")
  _, summary = build_lib.build("smic", manual_dir=twin, data_dir=tmp_path / "tfds", config=TINY)
  assert "sheet none (labels from folder names)" in summary
  assert "3 samples written, 0 skipped" in summary and "smic/s01 3" in summary
  assert "per emotion: negative 1, positive 1, surprise 1" in summary
  assert summary.count("no apex in SMIC: apex estimated as frame") == 3
  if layout == "smic":
    assert "NIR, VIS present, not read" in summary and "non_micro/ not read" in summary
    assert "face alignment: landmarks 3" in summary
  else:
    assert "cropped tree" in summary and "face alignment: none 3" in summary
  import tensorflow_datasets as tfds
  source = tfds.data_source(f"smic/{TINY}", data_dir=tmp_path / "tfds", split="train")
  names = tfds.builder(f"smic/{TINY}", data_dir=tmp_path / "tfds").info.features["emotion"].names
  plans = {c.filename: c for c in synthetic.smic.plan(1, seed=4)[1]}
  for i in range(len(source)):
    x = source[i]
    c = plans[x["clip"].decode()]
    assert names[x["emotion"]] == c.emotion and x["subject"] == b"smic/s01"
    assert (int(x["onset"]), int(x["offset"])) == (c.onset, c.offset) and x["apex_estimated"]
    assert abs(int(x["apex"]) - c.apex) <= 6  # as for CASME II


def test_cli_writes_the_cropped_layout(tmp_path):
  out = tmp_path / "cropped"
  result = subprocess.run([sys.executable, "-m", "mexp.synthetic", str(out), "--layout",
                           "smic_cropped", "--subjects", "1", "--clips_per_emotion", "1"],
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
  assert result.returncode == 0, result.stderr
  assert "1 subjects, 1 clips per emotion (smic_cropped layout)" in result.stdout
  frames = sorted((out / "SMIC_all_cropped" / "HS" / "s1" / "micro" / "negative" / "s1_ne_01")
                  .glob("reg_image*.bmp"))
  assert frames and cv2.imread(str(frames[0])).shape == (170, 140, 3)


def test_a_folder_without_smic_is_a_one_line_input_error(tmp_path):
  (tmp_path / "notes.txt").write_text("not SMIC")
  with pytest.raises(FileNotFoundError, match=r"no SMIC HS folder \(looked for HS/s1/micro"):
    build_lib.build("smic", manual_dir=tmp_path, data_dir=tmp_path / "tfds", config=TINY)
