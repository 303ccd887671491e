import collections
import json

import numpy as np
import pytest

from mexp import stream, synthetic


def test_run_without_a_model_spots_the_micro_expression(tmp_path):
  import cv2
  from mexp import metrics
  videos = synthetic.write_long_videos(tmp_path / "long", videos=1, seconds=4.0, fps=50, micro=1,
                                      seed=5)  # a brow-and-lip micro-expression (seed 0: chin)
  truth = json.loads((videos / "ground_truth.json").read_text())["videos"][0]["events"]
  capture = cv2.VideoCapture(str(videos / "video01.avi"))
  events = list(stream.run(None, stream.capture_frames(capture), 50.0))
  capture.release()
  micro = [(e["onset_frame"], e["offset_frame"]) for e in events if e["kind"] == "micro"]
  gt = [(e["onset"], e["offset"]) for e in truth if e["kind"] == "micro"]
  assert len(metrics.match_intervals(micro, gt)) == 1
  for e in events:
    assert "emotion" not in e and e["decided_at_frame"] >= e["offset_frame"]
    assert 0 <= e["latency_ms"] <= 50 + 1000 / 50  # decided within 50 ms (plus a frame's compute)


def test_cli_streams_json_lines(trained_workdir, tmp_path, capsys):
  videos = synthetic.write_long_videos(tmp_path / "long", videos=1, seconds=4.0, fps=50, micro=1)
  assert stream.main(["--workdir", str(trained_workdir[0]),
                      "--video", str(videos / "video01.avi")]) == 0
  events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
  for event in events:
    assert event["kind"] in ("micro", "macro") and event["end_s"] >= event["start_s"]
    assert event["latency_ms"] >= 0 and event["decided_at_frame"] >= event["offset_frame"]
    if event["stage"] == "classified" and "error" not in event:
      assert 0 < event["probability"] <= 1 and event["classify_ms"] >= 0
  spotted = [e["id"] for e in events if e["stage"] == "spotted"]
  classified = [e["id"] for e in events if e["stage"] == "classified"]
  assert classified == [e["id"] for e in events if e["stage"] == "spotted" and e["kind"] == "micro"]
  assert len(spotted) == len(set(spotted)) and events[0]["stage"] == "spotted"


def _grey_avi(path):
  import cv2
  writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48))
  for _ in range(6):
    writer.write(np.full((48, 64, 3), 90, np.uint8))
  writer.release()


def _zero_rate_avi(path):
  import struct
  import cv2
  writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 200.0, (64, 48))
  for _ in range(4):
    writer.write(np.full((48, 64, 3), 90, np.uint8))
  writer.release()
  data = bytearray(path.read_bytes())
  for tag, offset in ((b"strh", 32), (b"avih", 8)):  # FFmpeg would report 25 fps
    at = data.find(tag)
    data[at + offset:at + offset + 4] = struct.pack("<I", 0)
  path.write_bytes(bytes(data))


@pytest.mark.parametrize("make,message", [
    (lambda p: None, "no such video file"),
    (lambda p: p.write_bytes(b"\x00" * 64), "not a readable video"),
    (lambda p: _zero_rate_avi(p), "in.avi: the file gives no usable frame rate"),
    (lambda p: _grey_avi(p), "in.avi: no face found in any of its 6 frames"),
])
def test_cli_bad_video(trained_workdir, tmp_path, capsys, make, message):
  path = tmp_path / "in.avi"
  make(path)
  assert stream.main(["--workdir", str(trained_workdir[0]), "--video", str(path)]) == 2
  err = capsys.readouterr().err
  assert message in err and len(err.strip().splitlines()) == 1


def test_cli_workdir_without_checkpoint(tmp_path, capsys):
  _grey_avi(tmp_path / "in.avi")
  assert stream.main(["--workdir", str(tmp_path), "--video", str(tmp_path / "in.avi")]) == 2
  assert "no config.json" in capsys.readouterr().err


@pytest.mark.parametrize("fps", ["0", "-5", "nan", "inf", "1e9"])
def test_cli_bad_fps_is_refused_before_the_model_is_loaded(tmp_path, capsys, fps):
  _grey_avi(tmp_path / "in.avi")  # the workdir holds no model: the fps is checked first
  assert stream.main(["--workdir", str(tmp_path), "--video", str(tmp_path / "in.avi"),
                      "--fps", fps]) == 2
  err = capsys.readouterr().err.strip()
  assert err.startswith(f"error: --fps {float(fps):g}: a frame rate must be a number from 1 to "
                        "2000") and len(err.splitlines()) == 1


def test_run_says_where_the_face_was_found_after_a_fade_in(tmp_path):
  import cv2
  videos = synthetic.write_long_videos(tmp_path / "long", videos=1, seconds=2.0, fps=50, micro=0,
                                      seed=5)
  capture = cv2.VideoCapture(str(videos / "video01.avi"))
  frames = [np.zeros((480, 640, 3), np.uint8)] * 12 + list(stream.capture_frames(capture))
  capture.release()
  said, timings = [], collections.defaultdict(float)
  list(stream.run(None, frames, 50.0, timings=timings, log=said.append))
  assert said == ["face found at frame 12 (0.24 s), tracked from there"]
  assert timings["frames"] == len(frames) and timings["face_frames"] == len(frames) - 12
  assert timings["no_face"] == []
  # The face leaves for 0.4 s halfway, and comes back: said, with the frames, never silent.
  video = frames[12:]
  gone = video[:50] + [np.zeros_like(video[0])] * 20 + video[50:]
  said, timings = [], collections.defaultdict(float)
  list(stream.run(None, gone, 50.0, timings=timings, log=said.append))
  (start, stop), = timings["no_face"]
  assert start == 50 and 69 <= stop <= 69 + 5  # found again at the next detection try
  assert said[1] == (f"no face in frames 50-{stop} (1.00-{stop / 50:.2f} s, "
                     f"{(stop - 49) / 50:.2f} s): nothing could be spotted there")
