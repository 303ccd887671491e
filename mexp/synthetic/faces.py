"""Procedurally drawn faces and the action-unit displacement fields that move them."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

H, W = 480, 640


@dataclasses.dataclass(frozen=True)
class Face:
  """Where a face's features are, in pixels of the 640x480 frame."""
  cx: float
  cy: float
  fw: float  # half-width
  fh: float  # half-height
  eye_dx: float
  eye_y: float
  brow_y: float
  nose_y: float
  mouth_y: float
  mouth_w: float
  skin: np.ndarray  # RGB
  background: np.ndarray
  hair: float
  lips: np.ndarray
  seed: int


def random_face(rng: np.random.Generator) -> Face:
  """One subject's neutral face."""
  fw, fh = rng.uniform(112, 138), rng.uniform(148, 172)
  cy = H / 2 + rng.uniform(-10, 20)
  eye_y = cy - rng.uniform(0.16, 0.21) * fh
  return Face(
      cx=W / 2 + rng.uniform(-40, 40), cy=cy, fw=fw, fh=fh,
      eye_dx=rng.uniform(0.38, 0.45) * fw, eye_y=eye_y, brow_y=eye_y - rng.uniform(0.14, 0.19) * fh,
      nose_y=cy + rng.uniform(0.15, 0.22) * fh, mouth_y=cy + rng.uniform(0.42, 0.5) * fh,
      mouth_w=rng.uniform(0.26, 0.34) * fw,
      skin=np.array([rng.uniform(170, 240), rng.uniform(130, 200), rng.uniform(110, 180)]),
      background=rng.uniform(50, 200, 3), hair=rng.uniform(10, 70),
      lips=np.array([rng.uniform(110, 160), rng.uniform(40, 70), rng.uniform(50, 80)]),
      seed=int(rng.integers(2**31)))


def jitter_face(face: Face, rng: np.random.Generator, px: float = 3.0) -> Face:
  """The same person in another clip: features shifted by up to `px` (more than a movement)."""
  j = lambda: rng.uniform(-px, px)  # noqa: E731
  return dataclasses.replace(face, cx=face.cx + 4 * j(), cy=face.cy + 3 * j(),
                             eye_y=face.eye_y + j(), brow_y=face.brow_y + j(),
                             nose_y=face.nose_y + j(), mouth_y=face.mouth_y + j(),
                             mouth_w=face.mouth_w + j(), eye_dx=face.eye_dx + j())


def _ellipse(cx, cy, ax, ay, blur=1.5):
  """A soft elliptical mask (H, W) in [0, 1]."""
  yy, xx = np.ogrid[:H, :W]
  d = np.sqrt(((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2)
  return np.clip((1 - d) * min(ax, ay) / blur + 0.5, 0, 1).astype(np.float32)[..., None]


def render(face: Face, eyes_closed: bool = False) -> np.ndarray:
  """The neutral face as float32 RGB (H, W, 3) in 0..255."""
  yy = np.arange(H, dtype=np.float32)[:, None, None]
  xx = np.arange(W, dtype=np.float32)[None, :, None]
  img = np.broadcast_to(face.background + yy / H * 30, (H, W, 3)).astype(np.float32)
  paint = lambda img, m, colour, a=1.0: img * (1 - a * m) + a * m * colour  # noqa: E731
  head = _ellipse(face.cx, face.cy, face.fw, face.fh, blur=2)
  shade = 1 - 0.22 * (((xx - face.cx) / face.fw) ** 2 + ((yy - face.cy) / face.fh) ** 2)
  texture = cv2.GaussianBlur(np.random.default_rng(face.seed).normal(0, 10, (H, W)).astype(
      np.float32), (0, 0), 1.2)[..., None]  # static skin texture: flow has something to track
  img = img * (1 - head) + head * (face.skin * shade + texture)
  hair = np.clip(_ellipse(face.cx, face.cy - 0.12 * face.fh, 1.1 * face.fw, 1.02 * face.fh) -
                 _ellipse(face.cx, face.cy + 0.1 * face.fh, 0.98 * face.fw, 0.95 * face.fh), 0, 1)
  img = paint(img, hair * (yy < face.brow_y - 0.08 * face.fh), face.hair)
  for s in (-1, 1):
    ex = face.cx + s * face.eye_dx
    img = img * (1 - 0.45 * _ellipse(ex, face.eye_y - 0.03 * face.fh, 0.3 * face.fw,
                                     0.13 * face.fh, blur=8))  # eye socket
    img = paint(img, _ellipse(ex, face.brow_y, 0.28 * face.fw, 0.045 * face.fh), 35, 0.85)
    if eyes_closed:
      img = paint(img, _ellipse(ex, face.eye_y + 0.03 * face.fh, 0.2 * face.fw, 0.012 * face.fh), 40)
    else:
      img = paint(img, _ellipse(ex, face.eye_y, 0.2 * face.fw, 0.06 * face.fh), 235)
      img = paint(img, _ellipse(ex, face.eye_y, 0.07 * face.fw, 0.06 * face.fh), 30)
    img = img * (1 - 0.2 * _ellipse(ex, face.eye_y + 0.12 * face.fh, 0.22 * face.fw,
                                    0.05 * face.fh, blur=4))
    img = img * (1 - 0.2 * _ellipse(face.cx + s * 0.12 * face.fw, face.cy + 0.05 * face.fh,
                                    0.05 * face.fw, 0.18 * face.fh, blur=4))  # nose sides
    img = img * (1 - 0.35 * _ellipse(face.cx + s * 0.09 * face.fw, face.nose_y,
                                     0.04 * face.fw, 0.025 * face.fh))  # nostrils
  img = paint(img, _ellipse(face.cx, face.cy + 0.02 * face.fh, 0.06 * face.fw, 0.2 * face.fh,
                            blur=4), 255, 0.15)
  img = paint(img, _ellipse(face.cx, face.mouth_y, face.mouth_w, 0.06 * face.fh), face.lips)
  img = img * (1 - 0.5 * _ellipse(face.cx, face.mouth_y, face.mouth_w * 0.95, 0.008 * face.fh))
  return np.clip(img, 0, 255).astype(np.float32)


def au_field(face: Face, aus, amplitude: float) -> np.ndarray:
  """Displacement (H, W, 2) in pixels at the apex: Gaussian bumps at each AU's muscles."""
  f = face
  mx = f.mouth_w
  # AU -> [(x offset from centre (mirrored for both sides), y, direction (dx, dy), sigma)]
  sites = {
      1: [(0.16 * f.fw, f.brow_y, (0, -1), 0.1)],
      2: [(0.6 * f.fw, f.brow_y, (0, -1), 0.1)],
      4: [(0.22 * f.fw, f.brow_y, (-0.5, 0.85), 0.1)],
      6: [(f.eye_dx, f.eye_y + 0.16 * f.fh, (0, -1), 0.12)],
      7: [(f.eye_dx, f.eye_y + 0.05 * f.fh, (0, -1), 0.07)],
      9: [(0.1 * f.fw, f.cy - 0.02 * f.fh, (0, -1), 0.08)],
      10: [(0.1 * f.fw, f.mouth_y - 0.05 * f.fh, (0, -1), 0.08)],
      12: [(mx, f.mouth_y, (0.8, -0.6), 0.09)],
      14: [(mx + 0.05 * f.fw, f.mouth_y, (-0.9, 0.1), 0.07)],
      15: [(mx, f.mouth_y + 0.02 * f.fh, (0, 1), 0.09)],
      17: [(0.0, f.mouth_y + 0.3 * f.fh, (0, -1), 0.12)],
      20: [(mx, f.mouth_y, (1, 0.2), 0.09)],
      24: [(0.0, f.mouth_y - 0.04 * f.fh, (0, 1), 0.07), (0.0, f.mouth_y + 0.05 * f.fh, (0, -1), 0.07)],
      38: [(0.09 * f.fw, f.nose_y, (1, 0), 0.05)],
  }
  yy, xx = np.mgrid[:H, :W].astype(np.float32)
  field = np.zeros((H, W, 2), np.float32)
  for au in aus:
    for dx, y, (ux, uy), sigma in sites[au]:
      for side in ((1,) if dx == 0 else (-1, 1)):
        g = np.exp(-((xx - f.cx - side * dx) ** 2 + (yy - y) ** 2) / (2 * (sigma * f.fw) ** 2))
        field[..., 0] += amplitude * side * ux * g
        field[..., 1] += amplitude * uy * g
  return field

