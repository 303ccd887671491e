import json

import numpy as np
import pytest

from mexp import stream, synthetic


def _feed(spotter, energies):
  return [i for t, e in enumerate(energies) if (i := spotter.update(t, float(e))) is not None]


@pytest.mark.parametrize("fps", [25.0, 100.0, 200.0])
def test_online_spotter_micro_and_macro_by_time(fps):
  f = lambda seconds: int(round(seconds * fps))  # noqa: E731
  rng = np.random.default_rng(0)
  energy = 1 + 0.05 * rng.standard_normal(f(7.0))
  energy[f(2.0):f(2.2)] += 2.0  # 0.2 s: micro
  energy[f(4.0):f(5.2)] += 2.0  # 1.2 s: macro
  found = _feed(stream.OnlineSpotter(fps), energy)
  assert [i.kind for i in found] == ["micro", "macro"]
  micro, macro = found
  pad = f(0.02) + 1
  assert abs(micro.onset - f(2.0)) <= pad and abs(micro.offset - (f(2.2) - 1)) <= pad
  assert abs(macro.onset - f(4.0)) <= pad and abs(macro.offset - (f(5.2) - 1)) <= pad


def test_online_spotter_is_quiet_on_noise_and_during_warmup():
  rng = np.random.default_rng(1)
  assert _feed(stream.OnlineSpotter(100.0), 1 + 0.05 * rng.standard_normal(500)) == []
  energy = np.ones(60)
  energy[10:20] = 50  # inside the 0.5 s warm-up: becomes baseline, not an event
  assert _feed(stream.OnlineSpotter(100.0), energy) == []


def test_cli_streams_json_lines(trained_workdir, tmp_path, capsys):
  videos = synthetic.write_long_videos(tmp_path / "long", videos=1, seconds=4.0, fps=50, micro=1)
  assert stream.main(["--workdir", str(trained_workdir[0]),
                      "--video", str(videos / "video01.avi")]) == 0
  for line in capsys.readouterr().out.splitlines():
    event = json.loads(line)
    assert event["kind"] in ("micro", "macro") and event["end_s"] >= event["start_s"]
    assert event["latency_ms"] >= event["compute_ms"] >= 0
    if event["kind"] == "micro" and "error" not in event:
      assert 0 < event["probability"] <= 1


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
  assert stream.main(["--workdir", str(tmp_path), "--camera", "0"]) == 2
  assert "no config.json" in capsys.readouterr().err
