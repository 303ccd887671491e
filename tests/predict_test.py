import dataclasses
import json
import shutil

import cv2
import numpy as np
import pytest

from mexp import predict, synthetic


@pytest.fixture(scope="module")
def face_folder(tmp_path_factory):
  """A synthetic micro-expression (happiness) as a CASME II-style frame folder, img100..img119."""
  rng = np.random.default_rng(1)
  frames = synthetic.render_clip(synthetic.random_face(rng), (6, 12), rng, 20, 9)
  folder = tmp_path_factory.mktemp("clip") / "EP01"
  folder.mkdir()
  for i, f in enumerate(frames):
    cv2.imwrite(str(folder / f"img{100 + i}.jpg"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
  return folder


def test_predict_a_frame_folder_with_an_interval(trained_workdir, face_folder):
  workdir, _, _ = trained_workdir
  result = predict.predict(workdir, face_folder, onset=102, offset=117)
  (event,) = result["events"]
  assert result["task"] == "seed6" and len(result["classes"]) == 6
  assert (event["onset_frame"], event["offset_frame"]) == (102, 117)
  assert event["onset_s"] == pytest.approx(0.01) and event["offset_s"] == pytest.approx(0.085)
  assert sum(event["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
  assert event["emotion"] in result["classes"]


def test_cli_json(trained_workdir, face_folder, capsys):
  workdir, _, _ = trained_workdir
  assert predict.main(["--workdir", str(workdir), str(face_folder), "--onset", "100",
                       "--offset", "119", "--json"]) == 0
  assert json.loads(capsys.readouterr().out)["events"][0]["source"] == "given"


def _error(capsys, argv):
  assert predict.main(argv) == 2
  err = capsys.readouterr().err
  assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err
  return err


def test_bad_inputs_one_line_errors(trained_workdir, face_folder, tmp_path, capsys):
  workdir = str(trained_workdir[0])
  truncated = tmp_path / "cut.mp4"
  truncated.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 50)
  assert "cut.mp4" in _error(capsys, ["--workdir", workdir, str(truncated)])
  (tmp_path / "empty").mkdir()
  assert "no frames" in _error(capsys, ["--workdir", workdir, str(tmp_path / "empty")])
  blank = tmp_path / "blank"
  blank.mkdir()
  for n in range(5):
    cv2.imwrite(str(blank / f"img{n}.jpg"), np.full((120, 160, 3), 90, np.uint8))
  assert f"{blank}: no face found" in _error(capsys, ["--workdir", workdir, str(blank),
                                                     "--onset", "0", "--offset", "4"])
  assert f"{blank}: no face found" in _error(capsys, ["--workdir", workdir, str(blank)])
  assert "needs at least 3" in _error(capsys, ["--workdir", workdir, str(face_folder),
                                               "--onset", "104", "--offset", "105"])
  assert "must lie within" in _error(capsys, ["--workdir", workdir, str(face_folder),
                                              "--onset", "90", "--offset", "105"])


def test_workdir_without_checkpoint_or_with_another_config(trained_workdir, face_folder,
                                                           tmp_path, capsys):
  assert "no config.json" in _error(capsys, ["--workdir", str(tmp_path), str(face_folder)])
  copy = tmp_path / "copy"
  shutil.copytree(trained_workdir[0], copy)
  shutil.rmtree(copy / "final")
  assert "no checkpoint" in _error(capsys, ["--workdir", str(copy), str(face_folder)])
  shutil.copytree(trained_workdir[0] / "final", copy / "final")
  config = json.loads((copy / "config.json").read_text())
  config["model"]["width_factor"] = 0.1
  (copy / "config.json").write_text(json.dumps(config))
  assert "does not match" in _error(capsys, ["--workdir", str(copy), str(face_folder),
                                             "--onset", "100", "--offset", "119"])


def test_damaged_final_checkpoint_is_a_one_line_error(trained_workdir, face_folder, tmp_path,
                                                      capsys):
  copy = tmp_path / "copy"
  shutil.copytree(trained_workdir[0], copy)
  files = list((copy / "final" / "checkpoints").glob("*/default/ocdbt.process_0/d/*"))
  assert files
  for path in files:  # the damage: 4 KB XOR-ed in the middle of every data file
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4096] = bytes(b ^ 0xFF for b in data[middle:middle + 4096])
    path.write_bytes(bytes(data))
  assert predict.main(["--workdir", str(copy), str(face_folder), "--onset", "100",
                       "--offset", "119"]) == 2
  out, err = capsys.readouterr()
  assert out == "" and err.startswith("error: ") and len(err.strip().splitlines()) == 1
  assert f"{copy / 'final' / 'checkpoints'}: no usable checkpoint: step " in err


def test_non_finite_probabilities_never_give_a_label(trained_workdir, face_folder, monkeypatch):
  workdir, _, _ = trained_workdir
  predictor = predict.load(workdir)
  broken = dataclasses.replace(predictor,
                               forward=lambda *_: np.full((1, len(predictor.classes)), np.nan))
  monkeypatch.setattr(predict, "load", lambda _: broken)
  with pytest.raises(predict.PredictError, match=r"final/checkpoints: the model gives non-finite"):
    predict.predict(workdir, face_folder, onset=100, offset=119)


def test_a_video_without_a_frame_rate_needs_fps(trained_workdir, tmp_path, capsys):
  import struct
  path = tmp_path / "zero_rate.avi"
  writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 200.0, (64, 48))
  for _ in range(4):
    writer.write(np.full((48, 64, 3), 90, np.uint8))
  writer.release()
  data = bytearray(path.read_bytes())
  for tag, offset in ((b"strh", 32), (b"avih", 8)):  # the stream's rate, the us per frame
    at = data.find(tag)
    data[at + offset:at + offset + 4] = struct.pack("<I", 0)
  path.write_bytes(bytes(data))
  assert "zero_rate.avi: the file gives no usable frame rate" in _error(
      capsys, ["--workdir", str(trained_workdir[0]), str(path)])
  frames, fps, source = predict.open_input(path, 200.0)
  assert len(list(frames)) == 4 and (fps, source) == (200.0, "--fps")
  for bad in ("0", "-5", "nan", "1e9"):
    assert "a frame rate must be a number from 1 to 2000" in _error(
        capsys, ["--workdir", str(trained_workdir[0]), str(path), "--fps", bad])


def test_a_frame_folder_states_its_assumed_rate(face_folder):
  frames, fps, source = predict.open_input(face_folder, None)
  assert fps == predict.FOLDER_FPS and "assumed" in source and "--fps" in source
  assert [n for n, _ in frames] == list(range(100, 120))


def test_onset_after_offset_names_that(trained_workdir, face_folder, capsys):
  assert "--onset 115 is after --offset 110" in _error(
      capsys, ["--workdir", str(trained_workdir[0]), str(face_folder), "--onset", "115",
               "--offset", "110"])


def test_a_clip_that_fades_in_is_classified_from_its_first_face(trained_workdir, face_folder,
                                                                 tmp_path):
  faded = tmp_path / "faded"
  shutil.copytree(face_folder, faded)
  for n in (100, 101, 102):  # black frames first, as a fade-in starts
    cv2.imwrite(str(faded / f"img{n}.jpg"), np.zeros((480, 640, 3), np.uint8))
  result = predict.predict(trained_workdir[0], faded)
  (event,) = result["events"]
  assert event["emotion"] in result["classes"] and event["onset_frame"] == 100
  assert event["face_from_frame"] == 103


def test_a_pre_segmented_clip_is_classified_whole(trained_workdir, face_folder, capsys):
  workdir = str(trained_workdir[0])
  assert predict.main(["--workdir", workdir, str(face_folder)]) == 0  # 20 frames at 200 fps
  out = capsys.readouterr().out
  assert "1 interval(s)" in out and "frames 100..119" in out
  import re
  assert re.search(r"\(0\.000-0\.095 s, whole input: at most 1 s, taken as one clip\): "
                   r"(disgust|fear|happiness|repression|sadness|surprise)   \[", out), out


def test_nothing_spotted_in_a_long_input_gives_no_emotion(trained_workdir, face_folder, capsys):
  # 20 frames at 10 fps: 2 s, so spotted, not classified whole; the clip's movement is too
  # small at that rate to be spotted, and nothing gets a label.
  assert predict.main(["--workdir", str(trained_workdir[0]), str(face_folder), "--fps", "10"]) == 0
  out = capsys.readouterr().out
  assert "0 interval(s)" in out and "the spotter found no movement: no emotion" in out
  for c in ("disgust", "fear", "happiness", "repression", "sadness", "surprise"):
    assert c not in out


def test_frames_missing_inside_the_input_are_listed(trained_workdir, face_folder, tmp_path, capsys):
  holed = tmp_path / "holed"
  shutil.copytree(face_folder, holed)
  for n in (105, 106, 111):
    (holed / f"img{n}.jpg").unlink()
  result = predict.predict(trained_workdir[0], holed)
  assert result["missing_frames"] == [[105, 106], [111, 111]]
  assert predict.main(["--workdir", str(trained_workdir[0]), str(holed)]) == 0
  out = capsys.readouterr().out
  assert "  frames 105..106 missing: the frames on either side were read as neighbours" in out
