import json

import cv2
import numpy as np
import pytest

from mexp import spotting
from mexp.io import long_video_readers
from mexp.synthetic import joined, recording
from mexp.synthetic import long_videos as lv
from mexp.synthetic.faces import random_face

STILL = lv.Style(macro=0, noise=1.5, drift=False, conditions=recording.NONE)


def _grey(face, rng, frames, fps, plan, events=()):
  return [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in lv.render_long_video(
      face, rng, list(events), [], frames, fps, style=STILL, conditions=plan)]


def test_plan_puts_a_window_around_every_event_and_bounds_the_tremor():
  rng = np.random.default_rng(3)
  events, _ = lv.plan_long_video(rng, 2400, 200.0, 6, macro=0, gap_seconds=1.5)
  plan = recording.plan(rng, events, 2400, 200.0)
  for e in events:
    assert any(w.start <= e.onset and e.offset <= w.stop for w in plan.windows)
  for w in plan.windows:
    assert all(0.15 <= a <= 0.5 for a in w.amplitude) and all(2.5 <= h <= 10 for h in w.hz)
    assert np.hypot(*w.drift) <= 0.4 and 0.01 <= w.flicker <= 0.02
  shift = recording.head_offsets(plan, 2400, 200.0)
  assert np.abs(shift).max() <= 2 * 0.5 + 0.4 + 1e-9  # tremor on both axes plus the drift
  assert 70 <= plan.jpeg_quality <= 90
  assert recording.plan(rng, events, 2400, 200.0, recording.NONE) == recording.Plan()


def test_tremor_moves_the_whole_head_by_the_planned_sub_pixel_shift():
  rng = np.random.default_rng(0)
  window = recording.Window(0, 9, (0.4, 0.25), (5.0, 8.0), (0.5, 1.0), (0.3, -0.2), 0.0, 5.0)
  plan = recording.Plan(windows=(window,))
  frames = _grey(random_face(rng), rng, 10, 100.0, plan)
  planned = recording.head_offsets(plan, 10, 100.0)
  criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-6)
  for i in (3, 7):
    warp = np.eye(2, 3, dtype=np.float32)
    _, warp = cv2.findTransformECC(np.float32(frames[0]), np.float32(frames[i]), warp,
                                   cv2.MOTION_TRANSLATION, criteria, None, 5)
    assert tuple(warp[:, 2]) == pytest.approx(tuple(planned[i] - planned[0]), abs=0.05)


def test_turn_moves_the_face_middle_more_than_its_rim_and_jaw_moves_only_below_the_mouth():
  face = random_face(np.random.default_rng(1))
  field = recording.turn_field(face, 3.0, 0.0)
  centre = field[int(face.cy), int(face.cx), 0]
  rim = field[int(face.cy), int(face.cx + 0.97 * face.fw), 0]
  assert centre == pytest.approx(0.8 * face.fw * np.sin(np.radians(3)), rel=1e-3)
  assert centre - rim > 2.0  # no similarity undoes a difference of pixels across the face
  jaw = recording.jaw_field(face)
  assert np.abs(jaw[: int(face.mouth_y)]).max() == 0 and jaw[..., 1].max() == pytest.approx(1.0, abs=1e-3)


def test_jpeg_round_trip_changes_a_frame_a_little():
  frame = np.random.default_rng(0).integers(0, 255, (48, 64, 3), np.uint8)
  frame = cv2.GaussianBlur(frame, (0, 0), 3)
  out = recording.compress(frame, 70)
  assert out.shape == frame.shape and (out != frame).any()
  assert np.abs(out.astype(int) - frame).mean() < 3
  assert recording.compress(frame, None) is frame


def test_tremor_flicker_and_compression_alone_give_no_event():
  rng = np.random.default_rng(2)
  window = recording.Window(70, 110, (0.5, 0.3), (9.0, 3.0), (1.0, 2.0), (0.3, 0.25), 0.02, 7.0)
  frames = _grey(random_face(rng), rng, 160, 100.0, recording.Plan((window,), jpeg_quality=75))
  spotter, events = spotting.FaceSpotter(100.0), []
  for grey in frames:
    events += spotter.update(grey)
  assert events + spotter.finish() == []


def test_a_shot_cut_is_a_new_face_never_a_movement():
  rng = np.random.default_rng(4)
  first = _grey(random_face(rng), rng, 80, 100.0, recording.Plan())
  second = _grey(random_face(rng), rng, 80, 100.0, recording.Plan())
  spotter, events = spotting.FaceSpotter(100.0), []
  for grey in first + second:
    events += spotter.update(grey)
  assert events + spotter.finish() == [] and spotter.tracker.cuts == 1
  assert spotter.box is not None  # found again after the cut


def test_joined_videos_are_read_as_synthetic_long_videos(tmp_path):
  out = joined.write_joined_videos(tmp_path / "joined", videos=1, seed=3, micro=1, fps=50.0)
  truth = json.loads((out / "ground_truth.json").read_text())
  (video,) = long_video_readers.read_long_videos("synthetic", out).videos
  (event,) = video.expressions
  assert event.kind == "micro" and 50 <= event.onset < event.offset
  assert truth["videos"][0]["frames"] == event.offset + 1 + int(1.5 * 50) + (
      truth["videos"][0]["frames"] - event.offset - 1 - int(1.5 * 50))
  frames = cv2.VideoCapture(str(video.path))
  assert int(frames.get(cv2.CAP_PROP_FRAME_COUNT)) == truth["videos"][0]["frames"]
  frames.release()
