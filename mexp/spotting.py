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


def motion_energy(face_TxHxW: np.ndarray, lag: int) -> np.ndarray:
  """Per-frame motion: the mean of the top 2% of |frame - frame[t - lag]| (a micro-expression is
  local, so a whole-face mean would dilute it), after light denoising and after aligning the two
  frames by phase correlation.

  Args:
    face_TxHxW: grey face crops, float or uint8.
    lag: frames between the compared pair (about 0.1 s).

  Returns:
    float32 (T,); the first `lag` frames repeat the first measured value.
  """
  frames = np.stack([cv2.GaussianBlur(f, (0, 0), 1.0) for f in face_TxHxW.astype(np.float32)])
  h = frames.shape[1]
  keep = np.ones(frames.shape[1:], bool)
  keep[int(EYE_BAND[0] * h):int(EYE_BAND[1] * h)] = False
  border = max(2, h // 10)  # what drift moves in at the edges is not expression
  keep[:border], keep[-border:], keep[:, :border], keep[:, -border:] = False, False, False, False
  window = cv2.createHanningWindow(frames.shape[1:][::-1], cv2.CV_32F)
  energy = np.zeros(len(frames), np.float32)
  for t in range(lag, len(frames)):
    aligned, dx, dy = frames[t], 0.0, 0.0
    for _ in range(2):  # phase correlation underestimates sub-pixel shifts: refine once
      # phaseCorrelate windows its inputs in place: hand it copies.
      (ddx, ddy), _ = cv2.phaseCorrelate(frames[t - lag].copy(), aligned.copy(), window)
      dx, dy = dx + ddx, dy + ddy
      aligned = cv2.warpAffine(frames[t], np.float32([[1, 0, -dx], [0, 1, -dy]]),
                               frames.shape[1:][::-1], borderMode=cv2.BORDER_REFLECT)
    diff = np.abs(aligned - frames[t - lag])[keep]
    energy[t] = np.sort(diff)[-max(1, diff.size // 50):].mean()
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
