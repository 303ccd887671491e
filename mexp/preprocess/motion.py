"""Saliency / motion maps of a clip, measured at analysis resolution, and what the datasets store.

Every map is deterministic. Flow is measured from the onset frame to each frame (not frame to
frame), so a movement of a pixel or two accumulates instead of vanishing in per-frame noise. Maps
are measured on the face at analysis resolution (a 1-3 px movement of a 250 px face is 0.1-0.4 px
at 32 px, below what flow can see) and then area-resized to the stored size.
"""

from __future__ import annotations

import cv2
import numpy as np

SALIENCY_KINDS = ("median", "onset", "flow", "strain", "ststnet")
# Kinds whose channel 0 is the horizontal flow u (negated by a horizontal flip).
FLOW_KINDS = ("flow", "ststnet")


def saliency_channels(kind: str, channels: int) -> int:
  """Channels of a kind's map: C for differences, 2 (u, v) for flow, 1 for strain, 3 for ststnet."""
  return {"median": channels, "onset": channels, "flow": 2, "strain": 1,
          "ststnet": 3}[_check(kind)]


def _check(kind: str) -> str:
  if kind not in SALIENCY_KINDS:
    raise ValueError(f"unknown saliency kind {kind!r}; expected one of {', '.join(SALIENCY_KINDS)}")
  return kind


def _unit_max(x: np.ndarray) -> np.ndarray:
  """x / max|x| over the clip; all zeros stay zeros."""
  peak = float(np.abs(x).max())
  return x / peak if peak > 0 else np.zeros_like(x)


def median_difference(clip_TxHxWxC: np.ndarray) -> np.ndarray:
  """|frame - the clip's per-pixel temporal median| (the seed project's map), in [0, 1] per clip."""
  clip = clip_TxHxWxC.astype(np.float32)
  return _unit_max(np.abs(clip - np.median(clip, axis=0, keepdims=True)))


def onset_difference(clip_TxHxWxC: np.ndarray) -> np.ndarray:
  """|frame - onset frame|, in [0, 1] per clip (0 where nothing moves)."""
  clip = clip_TxHxWxC.astype(np.float32)
  return _unit_max(np.abs(clip - clip[:1]))


def optical_flow(clip_TxHxW: np.ndarray) -> np.ndarray:
  """Dense flow (u, v) in pixels from the onset frame to every frame, OpenCV DIS.

  Args:
    clip_TxHxW: grey frames (T, H, W) or (T, H, W, 1), values in 0..255.

  Returns:
    float32 (T, H, W, 2); frame 0 is all zeros. +u is rightwards, +v downwards.
  """
  clip = np.clip(np.rint(np.asarray(clip_TxHxW, np.float32).reshape(clip_TxHxW.shape[:3])), 0, 255)
  clip = clip.astype(np.uint8)
  dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
  # Full resolution with sparser patches: sub-pixel accurate on 64x64 faces, and faster there
  # than the preset (benchmarks/preprocess.py).
  dis.setFinestScale(0)
  dis.setPatchStride(6)
  flow = np.zeros(clip.shape + (2,), np.float32)
  for t in range(1, len(clip)):
    if np.array_equal(clip[t], clip[0]):
      continue  # exactly static: exactly zero (DIS would only add numerical fuzz)
    flow[t] = dis.calc(clip[0], clip[t], None)
  return flow


def optical_strain(flow_TxHxWx2: np.ndarray) -> np.ndarray:
  """Magnitude of the infinitesimal strain tensor of a flow field, (T, H, W, 1) in 1/pixel.

  sqrt(exx^2 + eyy^2 + 2 exy^2) with exy = (du/dy + dv/dx) / 2: zero for any rigid translation,
  a for a uniform stretch u = a * x.
  """
  u, v = flow_TxHxWx2[..., 0], flow_TxHxWx2[..., 1]
  du_dy, du_dx = np.gradient(u, axis=(1, 2))
  dv_dy, dv_dx = np.gradient(v, axis=(1, 2))
  exy = 0.5 * (du_dy + dv_dx)
  return np.sqrt(du_dx ** 2 + dv_dy ** 2 + 2 * exy ** 2)[..., None].astype(np.float32)


def saliency(kind: str, clip_TxHxWxC: np.ndarray) -> np.ndarray:
  """The map of one kind for a clip of values in 0..255.

  Returns:
    float32 (T, H, W, saliency_channels(kind, C)): differences in [0, 1] per clip; flow (u, v)
    in pixels; strain dimensionless; ststnet is (u, v, strain), STSTNet's input per frame.
  """
  kind = _check(kind)
  if kind == "median":
    return median_difference(clip_TxHxWxC)
  if kind == "onset":
    return onset_difference(clip_TxHxWxC)
  grey = clip_TxHxWxC.astype(np.float32)
  if grey.shape[-1] == 3:
    grey = grey @ np.array([0.299, 0.587, 0.114], np.float32)
  flow = optical_flow(grey[..., 0] if grey.ndim == 4 else grey)
  if kind == "flow":
    return flow
  strain = optical_strain(flow)
  return strain if kind == "strain" else np.concatenate([flow, strain], axis=-1)


def resize_saliency(kind: str, saliency_TxHxWxS: np.ndarray, size: tuple[int, int]) -> np.ndarray:
  """Area-resizes a map to (H, W); flow vectors are scaled by the size ratio, so they stay in
  pixels of the new size (strain, a ratio of lengths, and differences keep their values).

  Returns:
    float32 (T, H, W, S).
  """
  t, h0, w0, s = saliency_TxHxWxS.shape
  h, w = size
  if (h, w) == (h0, w0):
    return saliency_TxHxWxS.astype(np.float32)
  out = np.stack([cv2.resize(np.ascontiguousarray(f, np.float32), (w, h),
                             interpolation=cv2.INTER_AREA).reshape(h, w, s)
                  for f in saliency_TxHxWxS])
  if _check(kind) in FLOW_KINDS:
    out[..., 0] *= w / w0
    out[..., 1] *= h / h0
  return out


def saliency_to_stored(saliency_TxHxWxS: np.ndarray) -> np.ndarray:
  """What datasets store: float16 in the map's own units (flow in stored pixels, signed)."""
  return saliency_TxHxWxS.astype(np.float16)


def motion_energy(clip_TxHxWxC: np.ndarray) -> np.ndarray:
  """Mean |frame - onset frame| per frame, (T,): a cheap motion curve for apex estimation."""
  clip = clip_TxHxWxC.astype(np.float32)
  return np.abs(clip - clip[:1]).reshape(len(clip), -1).mean(axis=1)


def estimate_apex(clip_TxHxWxC: np.ndarray, numbers_T) -> int:
  """The frame number of peak motion energy against the onset frame (ties: the earliest)."""
  if len(clip_TxHxWxC) != len(numbers_T):
    raise ValueError("one frame number per frame")
  energy = motion_energy(clip_TxHxWxC)
  # A 3-tap box smooths single-frame noise spikes (a dropped or flashed frame) away.
  smooth = np.convolve(np.pad(energy, 1, mode="edge"), np.ones(3) / 3, mode="valid")
  return int(numbers_T[int(np.argmax(smooth))])
