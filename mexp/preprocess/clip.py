"""One annotated clip's frames -> the raw and saliency arrays a dataset stores."""

from __future__ import annotations

import dataclasses

import numpy as np

from mexp.preprocess import face, motion, temporal


@dataclasses.dataclass(frozen=True)
class ClipSpec:
  """What a stored clip looks like."""
  frames: int = 16
  height: int = 64
  width: int = 64
  channels: int = 1  # 1 grey, 3 RGB
  saliency: str = "median"  # one of motion.SALIENCY_KINDS
  apex_centred: bool = False  # apex at index T // 2 instead of even onset..offset sampling

  @property
  def name(self) -> str:
    colour = {1: "grey", 3: "rgb"}[self.channels]
    apex = "_apex" if self.apex_centred else ""
    return f"t{self.frames}_{self.height}x{self.width}_{colour}_{self.saliency}{apex}"

  @property
  def saliency_channels(self) -> int:
    return motion.saliency_channels(self.saliency, self.channels)


@dataclasses.dataclass(frozen=True)
class ProcessedClip:
  raw_TxHxWxC: np.ndarray  # uint8
  saliency_TxHxWxS: np.ndarray  # uint8, see motion.saliency_to_uint8
  apex: int  # frame number: the sheet's, or estimated
  apex_estimated: bool
  face_box: tuple[int, int, int, int] | None  # (x, y, w, h) in the onset frame


def process_clip(frames_NxHxWx3: np.ndarray, numbers_N, *, onset: int, apex: int | None,
                 offset: int, spec: ClipSpec, detect_face: bool) -> ProcessedClip:
  """Face crop (from the onset frame) -> resize -> colour -> apex -> resample to T -> saliency.

  Args:
    frames_NxHxWx3: uint8 RGB frames on disk from onset to offset, numeric order.
    numbers_N: their frame numbers; gaps are allowed.
    onset: onset frame number (must be numbers_N[0]).
    apex: apex frame number, or None to estimate it as the frame of peak motion against onset.
    offset: offset frame number.
    spec: the stored shape and saliency kind.
    detect_face: crop to the face found on the onset frame (False for pre-cropped trees).

  Returns:
    A ProcessedClip.

  Raises:
    face.NoFaceError: when detect_face and the onset frame has no face.
  """
  numbers = np.asarray(numbers_N)
  if numbers[0] != onset:
    raise ValueError(f"the first frame is {numbers[0]}, not the onset {onset}")
  box = face.detect_face_box(frames_NxHxWx3[0]) if detect_face else None
  clip = face.crop_clip(frames_NxHxWx3, box) if box else frames_NxHxWx3
  clip = face.to_channels(face.resize_clip(clip, (spec.height, spec.width)), spec.channels)
  apex_estimated = apex is None
  if apex_estimated:
    apex = motion.estimate_apex(clip, numbers)
  times = temporal.sample_times(onset, offset, spec.frames,
                                apex=apex if spec.apex_centred else None)
  clip_TxHxWxC = temporal.resample_clip(clip, numbers, times)
  saliency = motion.saliency(spec.saliency, clip_TxHxWxC)
  return ProcessedClip(
      raw_TxHxWxC=np.clip(np.rint(clip_TxHxWxC), 0, 255).astype(np.uint8),
      saliency_TxHxWxS=motion.saliency_to_uint8(spec.saliency, saliency),
      apex=int(apex), apex_estimated=apex_estimated, face_box=box)
