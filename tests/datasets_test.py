import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import write_jpegs
from mexp.datasets import build as build_lib
from mexp.datasets import builder as builder_lib

TINY = "t4_16x16_grey_median"


def _subprocess(code: str) -> str:
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
  assert result.returncode == 0, result.stderr
  return result.stdout


@pytest.mark.slow
def test_casme2_build_then_data_source_in_a_fresh_process(casme2_dir, tmp_path):
  data_dir = tmp_path / "tfds"
  dataset, summary = build_lib.build("casme2", manual_dir=casme2_dir, data_dir=data_dir,
                                     config=TINY)
  assert "4 samples written, 0 skipped" in summary
  assert "casme2/sub04/EP12_01f: ApexFrame '/': apex estimated as frame" in summary
  assert "casme2/sub16/EP01_08: OffsetFrame 15" in summary
  assert (Path(dataset.data_dir) / "build_report.json").exists()
  out = _subprocess(f"""
import json, tensorflow_datasets as tfds, mexp.datasets
ds = tfds.data_source("casme2/{TINY}", data_dir={str(data_dir)!r}, split="train")
names = tfds.builder("casme2/{TINY}", data_dir={str(data_dir)!r}).info.features["emotion"].names
rows = []
for i in range(len(ds)):
  x = ds[i]
  rows.append(dict(clip=x["clip"].decode(), subject=x["subject"].decode(), emotion=names[x["emotion"]],
                   onset=int(x["onset"]), apex=int(x["apex"]), offset=int(x["offset"]),
                   est=bool(x["apex_estimated"]), aus=x["action_units"].decode(),
                   fixes=[f.decode() for f in x["fixes"]], raw=list(x["raw"].shape),
                   sal=list(x["saliency"].shape), raw_dtype=str(x["raw"].dtype),
                   sal_dtype=str(x["saliency"].dtype), sal_max=float(x["saliency"].max())))
print(json.dumps(rows))
""")
  rows = {r["clip"]: r for r in json.loads(out)}
  assert set(rows) == {"EP02_01f", "EP12_01f", "EP01_08", "EP09f"}
  clean = rows["EP02_01f"]
  assert (clean["subject"], clean["emotion"], clean["onset"], clean["apex"], clean["offset"],
          clean["est"], clean["aus"], clean["fixes"]) == \
      ("casme2/sub01", "happiness", 46, 50, 55, False, "12", [])
  assert clean["raw"] == [4, 16, 16, 1] and clean["sal"] == [4, 16, 16, 1]
  assert clean["raw_dtype"] == "uint8" and clean["sal_dtype"] == "float16"
  assert clean["sal_max"] == 1.0  # median difference, in [0, 1] per clip
  assert str(dataset.info.version) == "2.1.0"
  assert dataset.info.features["saliency"].np_dtype == np.float16
  slash = rows["EP12_01f"]
  assert slash["est"] and slash["apex"] == 102 and slash["emotion"] == "disgust"
  assert rows["EP01_08"]["offset"] == 12 and "clamped" in rows["EP01_08"]["fixes"][0]
  assert rows["EP09f"]["emotion"] == "repression" and "98 missing" in rows["EP09f"]["fixes"][0]

  _, again = build_lib.build("casme2", manual_dir=casme2_dir, data_dir=data_dir, config=TINY)
  assert again.startswith("reused") and "4 samples written" in again


def _build(root, data_dir):
  return build_lib.build("casme2", manual_dir=root, data_dir=data_dir, config=TINY)


def _emotions(data_dir) -> dict:
  import tensorflow_datasets as tfds
  ds = tfds.data_source(f"casme2/{TINY}", data_dir=data_dir, split="train")
  names = tfds.builder(f"casme2/{TINY}", data_dir=data_dir).info.features["emotion"].names
  return {ds[i]["clip"].decode(): names[ds[i]["emotion"]] for i in range(len(ds))}


def test_an_edited_sheet_is_never_silently_reused(casme2_dir, tmp_path):
  from conftest import CASME2_HEADER, write_xlsx
  data_dir = tmp_path / "tfds"
  _build(casme2_dir, data_dir)
  # Fix one label and delete one row, as annotation fixes do.
  write_xlsx(casme2_dir / "CASME2-coding-20140508.xlsx", CASME2_HEADER, [
      [1, "EP02_01f", None, 46, 50, 55, None, "12", "disgust"],
      [4, "EP12_01f", None, 98, "/", 105, None, "4+7", "disgust"],
      [16, "EP01_08", None, 7, 9, 15, None, "1+2", "surprise"]])
  _, summary = _build(casme2_dir, data_dir)
  assert summary.startswith("rebuilt (1 sheet(s) changed: CASME2-coding-20140508.xlsx)")
  assert _emotions(data_dir) == {"EP02_01f": "disgust", "EP12_01f": "disgust",
                                 "EP01_08": "surprise"}
  assert _build(casme2_dir, data_dir)[1].startswith("reused")


def test_a_changed_frame_rebuilds_and_says_where(casme2_dir, tmp_path):
  data_dir = tmp_path / "tfds"
  _build(casme2_dir, data_dir)
  frame = casme2_dir / "Cropped" / "sub16" / "EP01_08" / "reg_img9.jpg"
  write_jpegs(frame.parent, [9], prefix="reg_img", value=lambda n: 7)
  os.utime(frame, ns=(1, 1))  # a replaced file with another time stamp
  _, summary = _build(casme2_dir, data_dir)
  assert summary.startswith("rebuilt (1 frame folder(s) changed: Cropped/sub16/EP01_08)")
  assert not list((data_dir / "casme2" / TINY).glob("incomplete.*"))
  # A rebuild that fails (the stale version already gone) leaves no empty config folder.
  frame.write_bytes(frame.read_bytes()[:40])
  with pytest.raises(builder_lib.BuildError, match="reg_img9.jpg: corrupt JPEG"):
    _build(casme2_dir, data_dir)
  assert not (data_dir / "casme2" / TINY).exists()


def test_a_moved_folder_is_reused_and_another_is_refused(casme2_dir, tmp_path):
  data_dir = tmp_path / "tfds"
  _build(casme2_dir, data_dir)
  moved = tmp_path / "moved"
  casme2_dir.rename(moved)  # same files, same time stamps
  _, summary = _build(moved, data_dir)
  assert summary.startswith(f"reused {data_dir}") and f"built from {casme2_dir}" in summary
  (moved / "Cropped" / "sub01" / "EP02_01f" / "reg_img46.jpg").unlink()
  with pytest.raises(FileExistsError, match=r"was built from .*CASME2, not .*moved, whose sheets "
                                            r"or frames differ; .*--overwrite"):
    _build(moved, data_dir)


def test_a_build_leaves_nothing_in_the_temporary_folder(casme2_dir, tmp_path, monkeypatch):
  import tempfile
  scratch = tmp_path / "tmp"
  scratch.mkdir()
  monkeypatch.setattr(tempfile, "tempdir", str(scratch))
  build_lib.build("casme2", manual_dir=casme2_dir, data_dir=tmp_path / "tfds", config=TINY)
  assert list(scratch.iterdir()) == []  # TFDS alone leaves an empty tmp...tfds folder per builder


def test_failed_build_leaves_no_dataset(casme2_dir, tmp_path):
  bad = casme2_dir / "Cropped" / "sub16" / "EP01_08" / "reg_img9.jpg"
  bad.write_bytes(bad.read_bytes()[:50])
  data_dir = tmp_path / "tfds"
  with pytest.raises(builder_lib.BuildError,
                     match=r"row 4 \(sub16/EP01_08\): .*reg_img9\.jpg: corrupt JPEG"):
    build_lib.build("casme2", manual_dir=casme2_dir, data_dir=data_dir, config=TINY)
  assert not list(data_dir.rglob("*.array_record*"))
  assert not list(data_dir.rglob("dataset_info.json"))
  # No empty casme2/<config>/ or downloads/ folders, no incomplete.* left behind.
  assert not (data_dir / "casme2" / TINY).exists() and not (data_dir / "downloads").exists()

  dataset, summary = build_lib.build("casme2", manual_dir=casme2_dir, data_dir=data_dir,
                                     config=TINY, skip_invalid=True)
  assert "3 samples written, 1 skipped" in summary and "reg_img9.jpg" in summary
  assert dataset.info.splits["train"].num_examples == 3


def test_cli_one_line_error_and_exit_code(casme2_dir, tmp_path):
  (casme2_dir / "Cropped" / "sub26" / "EP09f").rename(casme2_dir / "elsewhere")
  result = subprocess.run(
      [sys.executable, "-m", "mexp.datasets", "build", "casme2", "--manual_dir", str(casme2_dir),
       "--data_dir", str(tmp_path / "tfds"), "--config", TINY],
      capture_output=True, text=True)
  assert result.returncode == 2
  assert "Traceback" not in result.stderr
  assert "error: CASME2-coding-20140508.xlsx row 5 (sub26/EP09f): clip folder" in result.stderr


def test_casme_build(tmp_path):
  from sheets_test import CASME_HEADER
  from conftest import write_xls
  a = tmp_path / "CASME_A" / "Section A"
  write_jpegs(a / "sub01" / "EP01_5", range(1, 9), prefix="reg_EP01_5-", size=(32, 32))
  write_xls(a / "Section A.xls", CASME_HEADER,
            [[1, "EP01_5", None, 2, 4, 5, 8, None, 7, "4+L10", "comtempt"]])
  # CASME frames are whole video frames: the builder looks for a face, and none is here.
  with pytest.raises(builder_lib.BuildError, match=r"Section A.xls row 2 .*no face found"):
    build_lib.build("casme", manual_dir=tmp_path, data_dir=tmp_path / "tfds", config=TINY)


def test_casme_build_on_faces(tmp_path):
  import cv2
  from sheets_test import CASME_HEADER
  from conftest import write_xls
  from mexp import synthetic
  a = tmp_path / "CASME_A" / "Section A" / "sub01" / "EP01_5"
  a.mkdir(parents=True)
  image = synthetic.render(synthetic.random_face(np.random.default_rng(0))).astype(np.uint8)
  for n in range(1, 7):
    cv2.imwrite(str(a / f"EP01_5-{n}.jpg"), cv2.cvtColor(np.roll(image, n // 3, axis=1),
                                                         cv2.COLOR_RGB2BGR))
  write_xls(tmp_path / "CASME_A" / "Section A" / "Section A.xls", CASME_HEADER,
            [[1, "EP01_5", None, 1, 3, 4, 6, None, 6, "4", "comtempt"]])
  dataset, summary = build_lib.build("casme", manual_dir=tmp_path, data_dir=tmp_path / "tfds",
                                     config=TINY)
  assert "1 samples written" in summary and "casme/sub01 1" in summary
  import tensorflow_datasets as tfds
  (x,) = [tfds.data_source(f"casme/{TINY}", data_dir=tmp_path / "tfds", split="train")[0]]
  assert dataset.info.features["emotion"].names[x["emotion"]] == "contempt"
  assert x["subject"] == b"casme/sub01" and x["raw"].shape == (4, 16, 16, 1)


def test_builder_configs():
  names = [c.name for c in builder_lib.CONFIGS]
  assert names[0] == "t16_64x64_grey_ststnet_apex_a128"  # the default
  assert len(set(names)) == len(names)
  assert {"t4_16x16_grey_median", "t4_16x16_grey_ststnet_apex_a32", "t16_32x32_grey_median",
          "t8_32x32_grey_onset", "t16_32x32_grey_ststnet_apex_a128",
          "t16_32x32_grey_median_apex_a128"} <= set(names)
  for config in builder_lib.CONFIGS:
    assert config.name == config.spec.name
  tiny = {c.name: c.spec for c in builder_lib.CONFIGS}["t4_16x16_grey_ststnet_apex_a32"]
  assert tiny.analysis_shape == (32, 32) and tiny.apex_centred and tiny.saliency_channels == 3
  assert str(builder_lib.MicroExpressionBuilder.VERSION) == "2.1.0"


def test_unwritable_data_dir_is_one_line_error(casme2_dir, tmp_path):
  blocker = tmp_path / "a_file"
  blocker.write_text("not a folder")
  with pytest.raises(builder_lib.BuildError, match=r"a_file.*: cannot write the dataset \(.*\); "
                                                   r"choose a writable --data_dir"):
    _build(casme2_dir, blocker / "tfds")


def test_disk_full_is_one_line_error_and_leaves_nothing(casme2_dir, tmp_path, monkeypatch):
  def full(self, report):
    raise RuntimeError("array_record writer: No space left on device")
    yield
  monkeypatch.setattr(builder_lib.MicroExpressionBuilder, "_generate_examples", full)
  data_dir = tmp_path / "tfds"
  with pytest.raises(builder_lib.BuildError, match=r"cannot write the dataset \(array_record "
                                                   r"writer: No space left on device\); free space"):
    _build(casme2_dir, data_dir)
  assert not (data_dir / "casme2" / TINY).exists()


def test_unreadable_manual_folder_is_one_line_error(casme2_dir, tmp_path, monkeypatch):
  from mexp.datasets import source
  def denied(*args, **kwargs):
    raise PermissionError(13, "Permission denied", str(casme2_dir / "Cropped"))
  monkeypatch.setattr(source.os, "walk", denied)
  with pytest.raises(builder_lib.BuildError,
                     match=r"Cropped: cannot read the manual folder \(Permission denied\)"):
    _build(casme2_dir, tmp_path / "tfds")


def test_no_usable_rows_is_one_line_error(casme2_dir, tmp_path):
  import shutil
  for clip in ("sub01/EP02_01f", "sub04/EP12_01f", "sub16/EP01_08", "sub26/EP09f"):
    shutil.rmtree(casme2_dir / "Cropped" / clip)
  with pytest.raises(builder_lib.BuildError, match=r"CASME2-coding-20140508\.xlsx: no usable rows "
                                                   r"\(4 skipped; first: .*row 2"):
    build_lib.build("casme2", manual_dir=casme2_dir, data_dir=tmp_path / "tfds", config=TINY,
                    skip_invalid=True)


def test_a_clip_of_fewer_frames_than_a_model_needs_is_refused(casme2_dir):
  import dataclasses
  from mexp.io import sheets
  from mexp.preprocess import clip as clip_lib
  sample = sheets.read_casme2(casme2_dir).samples[0]
  one = dataclasses.replace(sample, frames=sample.frames[:1])
  with pytest.raises(builder_lib.BuildError) as e:
    builder_lib.build_example(one, clip_lib.ClipSpec(frames=4, height=16, width=16),
                              detect_face=False)
  assert str(e.value) == (f"{sample.source}: 1 frame(s) from onset to offset on disk; a clip "
                          "needs at least 3 (onset, apex, offset)")


@pytest.mark.slow
def test_two_builds_into_one_data_dir_at_once_both_end_well(casme2_dir, tmp_path):
  """Both wait while the lock is held; then one builds and the other reuses its build (before
  the lock, one died with 'Failed to finalize writing', its incomplete.* deleted by the other)."""
  import fcntl
  import time
  from mexp.datasets import Casme2
  data_dir = tmp_path / "tfds"
  data_dir.mkdir()
  lock = open(data_dir / f".casme2-{TINY}-{Casme2.VERSION}.lock", "a")
  fcntl.flock(lock, fcntl.LOCK_EX)  # held here until both builds are waiting on it
  code = ("import sys, mexp.datasets.build as b; d, s = b.build('casme2', manual_dir=sys.argv[1], "
          f"data_dir=sys.argv[2], config={TINY!r}); print(s.splitlines()[0])")
  env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
  procs = [subprocess.Popen([sys.executable, "-c", code, str(casme2_dir), str(data_dir)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
           for _ in range(2)]
  errs = [p.stderr for p in procs]
  waiting = [False, False]
  deadline = time.time() + 120
  while not all(waiting) and time.time() < deadline:
    for i, err in enumerate(errs):
      if not waiting[i] and "waiting for another build of casme2" in err.readline():
        waiting[i] = True
  fcntl.flock(lock, fcntl.LOCK_UN)
  lock.close()
  outs = [p.communicate(timeout=300) for p in procs]
  assert all(waiting) and [p.returncode for p in procs] == [0, 0], [e[-1000:] for _, e in outs]
  firsts = sorted(out.strip().splitlines()[-1].split()[0] for out, _ in outs)
  assert firsts == ["built", "reused"]
  assert not list((data_dir / "casme2").glob(f"{TINY}/incomplete.*"))
