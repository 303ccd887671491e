"""Offline spotting: when in a face video does a short, small movement happen?

Motion energy of each frame against the frame `lag` earlier, after undoing global translation
(head drift) by phase correlation and ignoring the eye band (blinks). Frames whose energy stands
out from the video's own baseline (median + k * MAD) form intervals; those lasting at most
`max_seconds` are micro-expressions, longer ones macro-expressions.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

EYE_BAND = (0.25, 0.55)  # rows of a face crop holding the eyes (blinks), as fractions
CROP = 192  # face crop side for motion energy: a 1 px movement must survive the resize


@dataclasses.dataclass(frozen=True)
class Interval:
  onset: int  # frame index
  offset: int
  kind: str  # 'micro' or 'macro'
  peak: float  # energy in baseline deviations


def energy_mask(size: int) -> np.ndarray:
  """Pixels of a size x size face crop that count: no eye band (blinks), no border (drift)."""
  keep = np.ones((size, size), bool)
  keep[int(EYE_BAND[0] * size):int(EYE_BAND[1] * size)] = False
  border = max(2, size // 10)
  keep[:border], keep[-border:], keep[:, :border], keep[:, -border:] = False, False, False, False
  return keep


def denoise(face_HxW: np.ndarray) -> np.ndarray:
  return cv2.GaussianBlur(face_HxW.astype(np.float32), (0, 0), 1.0)


def pair_energy(before_HxW: np.ndarray, after_HxW: np.ndarray, keep_HxW: np.ndarray,
                window_HxW: np.ndarray) -> float:
  """Mean of the top 2% of |after - before| inside `keep`, after aligning `after` to `before` by
  phase correlation (a micro-expression is local: a whole-face mean would dilute it)."""
  size = before_HxW.shape[::-1]
  aligned, dx, dy = after_HxW, 0.0, 0.0
  for _ in range(2):  # phase correlation underestimates sub-pixel shifts: refine once
    # phaseCorrelate windows its inputs in place: hand it copies.
    (ddx, ddy), _ = cv2.phaseCorrelate(before_HxW.copy(), aligned.copy(), window_HxW)
    dx, dy = dx + ddx, dy + ddy
    aligned = cv2.warpAffine(after_HxW, np.float32([[1, 0, -dx], [0, 1, -dy]]), size,
                             borderMode=cv2.BORDER_REFLECT)
  diff = np.abs(aligned - before_HxW)[keep_HxW]
  return float(np.sort(diff)[-max(1, diff.size // 50):].mean())


def motion_energy(face_TxHxW: np.ndarray, lag: int) -> np.ndarray:
  """Per-frame motion energy (pair_energy) against the frame `lag` earlier, on denoised crops.

  Args:
    face_TxHxW: square grey face crops, float or uint8.
    lag: frames between the compared pair (about 0.1 s).

  Returns:
    float32 (T,); the first `lag` frames repeat the first measured value.
  """
  frames = np.stack([denoise(f) for f in face_TxHxW])
  keep = energy_mask(frames.shape[1])
  window = cv2.createHanningWindow(frames.shape[1:][::-1], cv2.CV_32F)
  energy = np.zeros(len(frames), np.float32)
  for t in range(lag, len(frames)):
    energy[t] = pair_energy(frames[t - lag], frames[t], keep, window)
  energy[:lag] = energy[lag] if lag < len(energy) else 0
  return energy


def spot(energy_T: np.ndarray, fps: float, *, k: float = 4.0, max_seconds: float = 0.5,
         min_seconds: float = 0.04, merge_seconds: float = 0.3) -> list[Interval]:
  """Intervals where the energy exceeds median + k * MAD of the whole curve.

  Args:
    energy_T: motion_energy's output.
    fps: frames per second of the video.
    k: threshold in robust deviations.
    max_seconds: longest micro-expression; longer intervals are 'macro'.
    min_seconds: shorter intervals are noise.
    merge_seconds: runs closer than this are one movement (onset->apex and apex->offset show as
      two bumps of a lagged difference; a held macro-expression, as two bumps further apart).

  Returns:
    Intervals in frame indices, each widened by 20 ms per side so that the onset and offset
    frames are included.
  """
  median = float(np.median(energy_T))
  mad = float(np.median(np.abs(energy_T - median))) * 1.4826 + 1e-6
  z = (energy_T - median) / mad
  runs, t = [], 0
  while t < len(z):
    if z[t] <= k:
      t += 1
      continue
    start = t
    while t < len(z) and z[t] > k:
      t += 1
    if runs and start - runs[-1][1] <= merge_seconds * fps:
      runs[-1] = (runs[-1][0], t)
    else:
      runs.append((start, t))
  out = []
  for start, stop in runs:
    length = stop - start
    if length / fps < min_seconds:
      continue
    pad = int(round(0.02 * fps))
    onset, offset = max(0, start - pad), min(len(z) - 1, stop - 1 + pad)
    kind = "micro" if (offset - onset + 1) / fps <= max_seconds else "macro"
    out.append(Interval(onset, offset, kind, float(z[start:stop].max())))
  return out
