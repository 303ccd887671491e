import numpy as np

from mexp.synthetic import long_videos as lv
from mexp.synthetic.faces import H, W, random_face


def test_hard_plan_still_gaps_and_head_moves_between_events():
  fps, micro = 200.0, 6
  frames = int(lv.hard_seconds(micro) * fps)
  rng = np.random.default_rng(0)
  events, blinks = lv.plan_long_video(rng, frames, fps, micro, macro=lv.HARD.macro,
                                      gap_seconds=lv.HARD.gap_seconds)
  assert [e.kind for e in events] == ["micro"] * micro and len(blinks) == 2
  assert events[0].onset >= fps  # a second of still face first
  assert all(b.onset - a.offset > 1.5 * fps for a, b in zip(events, events[1:]))
  moves = lv.plan_head_moves(rng, events, frames, fps)
  assert len(moves) == micro
  for move, before, after in zip(moves, events, events[1:] + [None]):
    assert move.stop - move.start + 1 == int(lv.HEAD_MOVE_SECONDS * fps)
    assert before.offset < move.start and (after is None or move.stop < after.onset)
  pose = lv.head_pose(moves, frames)
  np.testing.assert_allclose(pose[0], [0, 0, 0, 1])
  np.testing.assert_allclose(pose[moves[0].stop + 1], moves[0].pose)
  still = pose[events[0].onset:events[0].offset + 1]  # the face holds its pose during an event
  assert (still == still[0]).all()


def test_hard_render_moves_the_head_and_keeps_the_noise_level():
  rng = np.random.default_rng(1)
  face = random_face(rng)
  move = lv.HeadMove(2, 5, (4.0, 0.0, 0.0, 1.0))
  frames = list(lv.render_long_video(face, rng, [], [], 8, 200.0, style=lv.HARD, head_moves=[move]))
  assert frames[0].shape == (H, W, 3) and frames[0].dtype == np.uint8
  first, last = (f.astype(np.float32) for f in (frames[0], frames[-1]))
  assert np.std(first - frames[1].astype(np.float32)) < 1.5 * 2 ** 0.5 * 1.3  # still: noise only
  noise = 1.5 * 2 ** 0.5 * (2 / np.pi) ** 0.5  # mean |difference| of two noisy frames
  shifted = np.roll(first, 4, axis=1)[:, 8:-8]  # the head moved 4 px to the right
  assert np.abs(shifted - last[:, 8:-8]).mean() < 1.1 * noise < np.abs(first - last)[:, 8:-8].mean()
