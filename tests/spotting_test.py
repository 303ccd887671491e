import cv2
import numpy as np

from mexp import spotting


def _video(n=120, seed=0):
  """64x64 textured face crops at 100 fps: a mouth movement at frames 20-39, a blink at 60-69,
  head drift from frame 80 on, and sensor noise throughout."""
  rng = np.random.default_rng(seed)
  base = cv2.GaussianBlur(rng.uniform(0, 255, (64, 64)).astype(np.float32), (0, 0), 2)
  yy, xx = np.mgrid[:64, :64].astype(np.float32)
  mouth = np.exp(-((yy - 50) ** 2 + (xx - 32) ** 2) / (2 * 6.0 ** 2)).astype(np.float32)
  frames = []
  for t in range(n):
    amount = 2.0 * np.sin(np.pi * (t - 20) / 20) if 20 <= t < 40 else 0.0
    drift = 0.5 * max(0, t - 80)
    f = cv2.remap(base, xx - np.float32(drift), yy - np.float32(amount) * mouth, cv2.INTER_LINEAR,
                  borderMode=cv2.BORDER_REFLECT)
    if 60 <= t < 70:
      f[int(0.32 * 64):int(0.48 * 64)] *= 0.5  # eyes closed
    frames.append(f + rng.normal(0, 1.0, f.shape).astype(np.float32))
  return np.stack(frames)


def test_spots_the_mouth_movement_and_ignores_blink_and_drift():
  energy = spotting.motion_energy(_video(), lag=5)
  intervals = spotting.spot(energy, fps=100)
  assert len(intervals) == 1, intervals
  (found,) = intervals
  assert found.kind == "micro"
  assert 14 <= found.onset <= 24 and 38 <= found.offset <= 50


def test_long_movement_is_macro():
  energy = np.zeros(300, np.float32) + np.random.default_rng(0).normal(0, 0.01, 300)
  energy[50:150] += 1.0  # one second at 100 fps
  (interval,) = spotting.spot(energy, fps=100)
  assert interval.kind == "macro"
  assert spotting.spot(np.ones(50, np.float32), fps=100) == []  # constant: nothing stands out
