"""The face found, stabilised and kept for spotting: restarted at a shot cut, re-templated when it
no longer looks like its template, and the pixels whose change counts."""

from __future__ import annotations

import cv2
import numpy as np

from mexp.preprocess import face
from mexp.preprocess import stabilise


def energy_mask(size: int, eyes=()) -> np.ndarray:
  """Pixels of a size x size face crop that count: no eyes (blinks), no border (warp edges).

  Args:
    size: crop side.
    eyes: (x, y, w, h) eye boxes in crop pixels (a stabilise.Track's); none: a band of rows.

  Returns:
    bool (size, size).
  """
  keep = ~stabilise.eye_mask(size, eyes)
  border = max(2, size // 10)
  keep[:border], keep[-border:], keep[:, :border], keep[:, -border:] = False, False, False, False
  return keep


CUT_LEVEL = 4.0  # grey levels: the median change of a 32x24 thumbnail, its mean removed (a cut
# between two synthetic faces: 9; one frame to the next of one shot, with noise: 0.35)


STALE_FRACTION = 0.6  # fewer of the template's corners agree with the fit: the template is stale
STALE_SECONDS = 0.5  # for this long (longer than a micro-expression): take a new template


class FaceTracker:
  """Finds the face in grey frames and keeps it stabilised; finds it again when it is lost, and
  after a cut between shots (most of the picture changed at once: flicker and head moves change
  a thumbnail's edges and its mean, not its median pixel). When the face has long looked unlike
  its template (another day's clip, a new resting state), it takes a new template there: a few
  corners fitting two ways would otherwise make the stabilised face jump. Both restart the
  spotter's references, as a lost track does."""

  def __init__(self, fps: float):
    self.track, self.keep, self.pose, self.t = None, None, None, -1
    self.retry = max(1, int(round(0.1 * fps)))  # no face: look again this often (detection is slow)
    self.thumb, self.cuts, self.retemplates, self.same_face = None, 0, 0, False
    self.stale, self.patience = 0, max(1, int(round(STALE_SECONDS * fps)))

  @property
  def box(self) -> tuple[int, int, int, int] | None:
    """The face's crop box in the frame, None while no face is tracked."""
    return None if self.track is None else self.track.box

  def update(self, grey_HxW: np.ndarray) -> tuple[np.ndarray | None, bool]:
    """(the face in template pixels or None, whether the track was just lost) for the next frame;
    `pose` then holds the tracked corners (stabilise.Track.where_Nx2)."""
    self.t += 1
    self.same_face = False  # set when a restart keeps the face (a new template only)
    step = max(1, grey_HxW.shape[1] // 128)  # sampled first: a thumbnail needs no full-res pass
    thumb = cv2.resize(grey_HxW[::step, ::step], (32, 24),
                       interpolation=cv2.INTER_AREA).astype(np.float32)
    thumb -= thumb.mean()
    cut = self.thumb is not None and float(np.median(np.abs(thumb - self.thumb))) > CUT_LEVEL
    self.thumb = thumb
    if cut and self.track is not None:  # an edited video changed shot: a new face, never a move
      self.track, self.cuts = None, self.cuts + 1
      return None, True
    if self.track is None:
      if self.keep is not None and self.t % self.retry:
        return None, False
      try:
        box = face.detect_face_box(grey_HxW)
      except face.NoFaceError:
        return None, False
      self.track = stabilise.start(grey_HxW, box)
      self.keep = energy_mask(stabilise.SIZE, self.track.eyes)
      fresh = True
    else:
      fresh = False
    followed = stabilise.follow(self.track, grey_HxW)
    if followed is None:  # a fresh track failing on its own frame was never a track
      self.track = None
      return None, not fresh
    self.track, aligned = followed
    self.pose = self.track.where_Nx2
    self.stale = self.stale + 1 if self.track.inliers < STALE_FRACTION * len(
        self.track.points_Nx2) else 0
    if self.stale >= self.patience:  # the face has long looked unlike its template: a new one
      self.track = stabilise.start(grey_HxW, self.track.box)
      self.keep = energy_mask(stabilise.SIZE, self.track.eyes)
      self.stale, self.retemplates, self.same_face = 0, self.retemplates + 1, True
      return None, True
    return aligned, False
