"""Temporal normalisation: onset..offset -> T frames, sampled by frame time."""

from __future__ import annotations

import numpy as np


def sample_times(onset: float, offset: float, frames: int, apex: float | None = None) -> np.ndarray:
  """T frame times from onset to offset: evenly spaced, or apex-centred.

  Apex-centred puts the apex exactly at index T // 2, with onset..apex and apex..offset each
  spread evenly over their half, so the peak sits in the same place in every clip.
  """
  if frames < 2:
    raise ValueError(f"need at least 2 frames, got {frames}")
  if apex is None:
    return np.linspace(onset, offset, frames)
  mid = frames // 2
  return np.concatenate([np.linspace(onset, apex, mid + 1),
                         np.linspace(apex, offset, frames - mid)[1:]])


def resample_clip(clip_NxHxWxC: np.ndarray, numbers_N, times_T) -> np.ndarray:
  """Linear interpolation in time between the two frames on disk nearest each sample time.

  Frame numbers carry the timing, so a missing frame, or a clip at another frame rate, resamples
  correctly.

  Args:
    clip_NxHxWxC: frames in increasing frame-number order.
    numbers_N: their frame numbers (strictly increasing).
    times_T: sample times in frame-number units, within numbers_N[0]..numbers_N[-1].

  Returns:
    float32 (T, H, W, C).
  """
  numbers = np.asarray(numbers_N, np.float64)
  times = np.asarray(times_T, np.float64)
  if len(numbers) != len(clip_NxHxWxC) or np.any(np.diff(numbers) <= 0):
    raise ValueError("frame numbers must be strictly increasing, one per frame")
  if times.min() < numbers[0] - 1e-9 or times.max() > numbers[-1] + 1e-9:
    raise ValueError(f"sample times {times.min()}..{times.max()} leave the frames on disk "
                     f"{numbers[0]:.0f}..{numbers[-1]:.0f}")
  if len(numbers) == 1:
    return np.repeat(clip_NxHxWxC.astype(np.float32), len(times), axis=0)
  hi = np.clip(np.searchsorted(numbers, times, side="right"), 1, len(numbers) - 1)
  lo = hi - 1
  w = ((times - numbers[lo]) / (numbers[hi] - numbers[lo])).astype(np.float32)[:, None, None, None]
  frames = clip_NxHxWxC.astype(np.float32)
  return (1 - w) * frames[lo] + w * frames[hi]
