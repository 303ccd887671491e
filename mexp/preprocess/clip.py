"""One annotated clip's frames -> the raw and saliency arrays a dataset stores."""

from __future__ import annotations

import dataclasses

import numpy as np

from mexp.preprocess import align, face, motion, temporal

MIN_FRAMES = 3  # fewer cannot show an onset, an apex and an offset


@dataclasses.dataclass(frozen=True)
class ClipSpec:
  """What a stored clip looks like."""
  frames: int = 16
  height: int = 64
  width: int = 64
  channels: int = 1  # 1 grey, 3 RGB
  saliency: str = "median"  # one of motion.SALIENCY_KINDS
  apex_centred: bool = False  # apex at index T // 2 instead of even onset..offset sampling
  # Short side (px) of the face crop on which motion is measured before resizing to the stored
  # size; 0 (or <= the stored short side) measures at the stored size, as the seed project did.
  analysis_size: int = 0

  @property
  def name(self) -> str:
    colour = {1: "grey", 3: "rgb"}[self.channels]
    apex = "_apex" if self.apex_centred else ""
    analysis = f"_a{self.analysis_size}" if self.analysis_shape != (self.height, self.width) else ""
    return f"t{self.frames}_{self.height}x{self.width}_{colour}_{self.saliency}{apex}{analysis}"

  @property
  def analysis_shape(self) -> tuple[int, int]:
    """(H, W) at which motion is measured: the stored aspect ratio, short side analysis_size."""
    short = min(self.height, self.width)
    if self.analysis_size <= short:
      return self.height, self.width
    scale = self.analysis_size / short
    return int(round(self.height * scale)), int(round(self.width * scale))

  @property
  def saliency_channels(self) -> int:
    return motion.saliency_channels(self.saliency, self.channels)


@dataclasses.dataclass(frozen=True)
class ProcessedClip:
  raw_TxHxWxC: np.ndarray  # uint8
  saliency_TxHxWxS: np.ndarray  # float16, see motion.saliency_to_stored
  apex: int  # frame number: the sheet's, or estimated
  apex_estimated: bool
  face_box: tuple[int, int, int, int] | None  # (x, y, w, h) in the onset frame (Haar path)
  alignment: str  # 'landmarks' (dlib, 5 points), 'haar' (no landmarks found) or 'none'


def process_clip(frames_NxHxWx3: np.ndarray, numbers_N, *, onset: int, apex: int | None,
                 offset: int, spec: ClipSpec, detect_face: bool) -> ProcessedClip:
  """Face alignment (from the onset frame) -> analysis size -> apex -> resample to T ->
  saliency measured at analysis size -> both area-resized to the stored size.

  The face is aligned by dlib's 5 landmarks on the onset frame (one similarity for the clip);
  where dlib finds no face, the Haar box is cropped instead (`alignment` says which).

  Args:
    frames_NxHxWx3: uint8 RGB frames on disk from onset to offset, numeric order.
    numbers_N: their frame numbers; gaps are allowed.
    onset: onset frame number (must be numbers_N[0]).
    apex: apex frame number, or None to estimate it as the frame of peak motion against onset.
    offset: offset frame number.
    spec: the stored shape and saliency kind.
    detect_face: align to the face found on the onset frame (False for pre-cropped trees).

  Returns:
    A ProcessedClip.

  Raises:
    face.NoFaceError: when detect_face and neither detector finds a face on the onset frame.
  """
  numbers = np.asarray(numbers_N)
  if numbers[0] != onset:
    raise ValueError(f"the first frame is {numbers[0]}, not the onset {onset}")
  box, alignment = None, "none"
  points = align.landmarks_5(frames_NxHxWx3[0]) if detect_face else None
  if points is not None:
    alignment = "landmarks"
    clip = align.warp_clip(frames_NxHxWx3, align.similarity(points, spec.analysis_shape),
                           spec.analysis_shape)
  else:
    if detect_face:
      box, alignment = face.detect_face_box(frames_NxHxWx3[0]), "haar"
    clip = face.crop_clip(frames_NxHxWx3, box) if box else frames_NxHxWx3
    clip = face.resize_clip(clip, spec.analysis_shape)
  clip = face.to_channels(clip, spec.channels)
  apex_estimated = apex is None
  if apex_estimated:
    apex = motion.estimate_apex(clip, numbers)
  times = temporal.sample_times(onset, offset, spec.frames,
                                apex=apex if spec.apex_centred else None)
  clip_TxAxBxC = temporal.resample_clip(clip, numbers, times)
  stored = (spec.height, spec.width)
  saliency = motion.resize_saliency(spec.saliency, motion.saliency(spec.saliency, clip_TxAxBxC),
                                    stored)
  raw = clip_TxAxBxC if clip_TxAxBxC.shape[1:3] == stored else face.resize_clip(clip_TxAxBxC, stored)
  return ProcessedClip(
      raw_TxHxWxC=np.clip(np.rint(raw), 0, 255).astype(np.uint8),
      saliency_TxHxWxS=motion.saliency_to_stored(saliency),
      apex=int(apex), apex_estimated=apex_estimated, face_box=box, alignment=alignment)
