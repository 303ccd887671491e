"""Synthetic micro-expressions in the exact CASME II raw layout, so every path runs without data.

`python -m mexp.synthetic OUT_DIR [--subjects N] [--seed S]` writes
  OUT_DIR/CASME2_RAW_selected/subNN/EPxx_yy/imgN.jpg   640x480 colour, N unpadded, any start
  OUT_DIR/CASME2-coding-synthetic.xlsx                the real columns, blank headers included

Each subject is a procedurally drawn face (OpenCV's Haar detector finds it). Each clip warps the
face by 1-3 px at the apex, onset -> apex -> offset, only around the action units of its emotion.
Distractors: per-clip jitter of the neutral face (larger than the movement, so one frame does not
give the label away), head drift, blinks, illumination flicker, sensor noise and JPEG.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

H, W = 480, 640
FPS = 200

# Emotion -> candidate AU sets (one is drawn per clip), as in CASME II's coding.
EMOTION_AUS = {
    "happiness": [(6, 12), (12,), (6, 12)],
    "disgust": [(9,), (10,), (9, 10)],
    "surprise": [(1, 2)],
    "repression": [(14,), (15,), (17,), (14, 17), (15, 17)],
    "sadness": [(1, 4, 15)],
    "fear": [(1, 2, 4, 20)],
    "others": [(7,), (24,), (38,)],
}
EMOTIONS = tuple(EMOTION_AUS)


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


def _profile(n: int, apex: int) -> np.ndarray:
  """Onset -> apex -> offset intensity in [0, 1]: a raised cosine up, then down."""
  t = np.arange(n, dtype=np.float32)
  up = 0.5 - 0.5 * np.cos(np.pi * np.clip(t / max(apex, 1), 0, 1))
  down = 0.5 + 0.5 * np.cos(np.pi * np.clip((t - apex) / max(n - 1 - apex, 1), 0, 1))
  return np.where(t <= apex, up, down)


def render_clip(face: Face, aus, rng: np.random.Generator, n: int, apex: int) -> np.ndarray:
  """A clip of n frames, uint8 RGB (n, H, W, 3), with its movement and distractors."""
  amplitude = rng.uniform(1.0, 3.0)
  base, closed = render(face), render(face, eyes_closed=True)
  field = au_field(face, aus, amplitude)
  profile = _profile(n, apex)
  t = np.arange(n) / FPS
  drift = rng.uniform(-1, 1, 2) * rng.uniform(0, 1.5) * t[:, None] / max(t[-1], 1e-9) \
      + 0.3 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t[:, None] + rng.uniform(0, 6, 2))
  blink = np.zeros(n, np.float32)
  if rng.random() < 0.3:  # a blink: ~40 ms closing, ~80 ms opening
    start = rng.integers(-10, n)
    close, reopen = 8, 16
    k = np.arange(n) - start
    blink = np.clip(np.where(k < close, k / close, 1 - (k - close) / reopen), 0, 1).astype(np.float32)
  flicker = 1 + 0.01 * np.sin(2 * np.pi * rng.uniform(50, 100) * t + rng.uniform(0, 6)) \
      + rng.normal(0, 0.003, n)
  yy, xx = np.mgrid[:H, :W].astype(np.float32)
  frames = np.empty((n, H, W, 3), np.uint8)
  for i in range(n):
    image = base if blink[i] == 0 else base * (1 - blink[i]) + closed * blink[i]
    map_x = xx - profile[i] * field[..., 0] - np.float32(drift[i, 0])
    map_y = yy - profile[i] * field[..., 1] - np.float32(drift[i, 1])
    warped = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    noisy = warped * np.float32(flicker[i]) + rng.standard_normal((H, W, 3), dtype=np.float32) * 2.0
    frames[i] = np.clip(np.rint(noisy), 0, 255)
  return frames


@dataclasses.dataclass(frozen=True)
class ClipPlan:
  subject: int
  filename: str
  emotion: str
  aus: tuple[int, ...]
  onset: int
  apex: int
  offset: int
  seed: int


def plan(subjects: int, seed: int, clips_per_emotion: int = 2) -> tuple[list[Face], list[ClipPlan]]:
  """Every subject's face and every clip's timing and label, from one seed."""
  rng = np.random.default_rng(seed)
  faces = [random_face(rng) for _ in range(subjects)]
  clips = []
  for s in range(subjects):
    episodes = [e for e in EMOTIONS for _ in range(clips_per_emotion)]
    rng.shuffle(episodes)
    for k, emotion in enumerate(episodes):
      n = int(rng.integers(24, 49))  # 120-240 ms at 200 fps
      onset = int(rng.integers(1, 300))
      apex = onset + int(round(n * rng.uniform(0.35, 0.65)))
      aus = EMOTION_AUS[emotion][rng.integers(len(EMOTION_AUS[emotion]))]
      suffix = "f" if rng.random() < 0.5 else ""
      clips.append(ClipPlan(subject=s + 1, filename=f"EP{k + 1:02d}_{rng.integers(1, 20):02d}{suffix}",
                            emotion=emotion, aus=aus, onset=onset, apex=apex,
                            offset=onset + n - 1, seed=int(rng.integers(2**31))))
  return faces, clips


def _write_clip(out: Path, face: Face, clip: ClipPlan, quality_range=(85, 95)) -> None:
  rng = np.random.default_rng(clip.seed)
  frames = render_clip(jitter_face(face, rng), clip.aus, rng, clip.offset - clip.onset + 1,
                       clip.apex - clip.onset)
  folder = out / "CASME2_RAW_selected" / f"sub{clip.subject:02d}" / clip.filename
  folder.mkdir(parents=True)
  quality = int(rng.integers(*quality_range))
  for i, frame in enumerate(frames):
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, quality])
    (folder / f"img{clip.onset + i}.jpg").write_bytes(data.tobytes())


# The real sheet's two known annotation quirks, reproduced on fixed rows so the synthetic path
# exercises the same fixes: ApexFrame '/' (sub04/EP12_01f) and an OffsetFrame past the last
# frame on disk (sub16/EP01_08).
QUIRK_APEX_SLASH_ROW, QUIRK_OFFSET_PAST_END_ROW = 3, 5


def write_sheet(path: Path, clips: list[ClipPlan]) -> None:
  """The coding sheet with CASME II's columns, blank-header columns included."""
  import openpyxl
  book = openpyxl.Workbook()
  sheet = book.active
  sheet.append(["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None,
                "Action Units", "Estimated Emotion"])
  for i, c in enumerate(clips):
    apex = "/" if i == QUIRK_APEX_SLASH_ROW else c.apex
    offset = c.offset + 14 if i == QUIRK_OFFSET_PAST_END_ROW else c.offset
    sheet.append([c.subject, c.filename, None, c.onset, apex, offset, None,
                  "+".join(map(str, c.aus)), c.emotion])
  book.save(path)


@contextlib.contextmanager
def _atomic_dir(out_dir: str | os.PathLike):
  """Yields a temporary sibling folder, renamed to out_dir only when the block completes."""
  out = Path(out_dir)
  if out.exists() and any(out.iterdir()):
    raise FileExistsError(f"{out}: exists and is not empty")
  out.parent.mkdir(parents=True, exist_ok=True)
  tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.incomplete-", dir=out.parent))
  try:
    yield tmp
    if out.exists():
      out.rmdir()
    tmp.rename(out)
  finally:
    if tmp.exists():
      shutil.rmtree(tmp)


def generate(out_dir: str | os.PathLike, *, subjects: int = 8, seed: int = 0,
             clips_per_emotion: int = 2, workers: int | None = None, progress: bool = False) -> Path:
  """Writes the synthetic CASME II folder atomically (a temp folder renamed when complete).

  Args:
    out_dir: must not exist yet (or be empty).
    subjects: number of distinct faces.
    seed: everything is deterministic given it.
    clips_per_emotion: clips of each of the 7 emotions per subject.
    workers: threads for rendering (cv2 releases the GIL); all cores when None.
    progress: show a progress bar.

  Returns:
    The folder, ready for `python -m mexp.datasets build casme2 --manual_dir`.
  """
  faces, clips = plan(subjects, seed, clips_per_emotion)
  with _atomic_dir(out_dir) as tmp:
    with concurrent.futures.ThreadPoolExecutor(workers or os.cpu_count()) as pool:
      jobs = [pool.submit(_write_clip, tmp, faces[c.subject - 1], c) for c in clips]
      if progress:
        from tqdm import tqdm
        jobs = tqdm(concurrent.futures.as_completed(jobs), total=len(jobs), desc="synthetic clips")
      for job in jobs:
        job.result()
    write_sheet(tmp / "CASME2-coding-synthetic.xlsx", clips)
  return Path(out_dir)


@dataclasses.dataclass(frozen=True)
class LongEvent:
  onset: int  # frame index in the video
  offset: int
  kind: str  # 'micro' or 'macro'
  emotion: str
  aus: tuple[int, ...]


def plan_long_video(rng: np.random.Generator, frames: int, fps: float,
                    micro: int = 3) -> tuple[list[LongEvent], list[int]]:
  """Non-overlapping events (micro-expressions and one macro-expression) and blink starts."""
  lengths = [("micro", int(rng.uniform(0.2, 0.4) * fps)) for _ in range(micro)]
  lengths.insert(int(rng.integers(len(lengths) + 1)), ("macro", int(rng.uniform(0.9, 1.3) * fps)))
  gap = int(0.5 * fps)
  free = frames - sum(n for _, n in lengths) - gap * (len(lengths) + 1)
  if free < 0:
    raise ValueError(f"{frames} frames cannot hold {micro} micro- and one macro-expression")
  cuts = np.sort(rng.integers(0, free + 1, len(lengths)))
  events, start = [], gap
  for (kind, n), extra in zip(lengths, np.diff(np.concatenate([[0], cuts]))):
    start += int(extra)
    emotion = str(rng.choice([e for e in EMOTIONS if e != "others"]))
    aus = EMOTION_AUS[emotion][rng.integers(len(EMOTION_AUS[emotion]))]
    events.append(LongEvent(start, start + n - 1, kind, emotion, aus))
    start += n + gap
  busy = np.zeros(frames, bool)
  for e in events:
    busy[max(0, e.onset - 5):e.offset + 5] = True
  blinks = [int(t) for t in rng.permutation(np.flatnonzero(~busy))[:2]]
  return events, sorted(blinks)


def render_long_video(face: Face, rng: np.random.Generator, events: list[LongEvent],
                      blinks: list[int], frames: int, fps: float):
  """Yields uint8 RGB frames: neutral face, the events, blinks, slow head motion and noise."""
  base, closed = render(face), render(face, eyes_closed=True)
  fields = [au_field(face, e.aus, rng.uniform(1.0, 3.0) if e.kind == "micro"
                     else rng.uniform(5.0, 8.0)) for e in events]
  profiles = [np.zeros(frames, np.float32) for _ in events]
  for p, e in zip(profiles, events):
    n = e.offset - e.onset + 1
    p[e.onset:e.offset + 1] = _profile(n, int(n * rng.uniform(0.35, 0.65)))
  blink = np.zeros(frames, np.float32)
  close = max(2, int(0.04 * fps))
  for b in blinks:
    k = np.arange(frames) - b
    blink = np.maximum(blink, np.clip(np.where(k < close, k / close, 1 - (k - close) / (2 * close)),
                                      0, 1))
  t = np.arange(frames) / fps
  drift = np.cumsum(rng.normal(0, 0.02, (frames, 2)), axis=0) \
      + 0.5 * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t[:, None] + rng.uniform(0, 6, 2))
  yy, xx = np.mgrid[:H, :W].astype(np.float32)
  for i in range(frames):
    image = base if blink[i] == 0 else base * (1 - blink[i]) + closed * blink[i]
    dx = sum((p[i] * f[..., 0] for p, f in zip(profiles, fields) if p[i] > 0), np.float32(0))
    dy = sum((p[i] * f[..., 1] for p, f in zip(profiles, fields) if p[i] > 0), np.float32(0))
    warped = cv2.remap(image, xx - dx - np.float32(drift[i, 0]), yy - dy - np.float32(drift[i, 1]),
                       cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    noisy = warped * np.float32(1 + 0.003 * rng.standard_normal()) \
        + rng.standard_normal((H, W, 3), dtype=np.float32) * 2.0
    yield np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def write_long_videos(out_dir: str | os.PathLike, *, videos: int = 4, seed: int = 0,
                      seconds: float = 6.0, fps: float = 100.0, micro: int = 3) -> Path:
  """Writes videoNN.avi (MJPG) and ground_truth.json into out_dir, atomically.

  Each video: a neutral face with `micro` micro-expressions and one macro-expression, 2 blinks,
  slow head motion and noise. ground_truth.json lists every event's frames, kind and emotion.
  """
  rng = np.random.default_rng([seed, 1])
  frames = int(seconds * fps)
  truth = {"fps": fps, "frames": frames, "videos": []}
  with _atomic_dir(out_dir) as tmp:
    for v in range(videos):
      face = random_face(rng)
      events, blinks = plan_long_video(rng, frames, fps, micro)
      name = f"video{v + 1:02d}.avi"
      writer = cv2.VideoWriter(str(tmp / name), cv2.VideoWriter_fourcc(*"MJPG"), fps, (W, H))
      for frame in render_long_video(face, rng, events, blinks, frames, fps):
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
      writer.release()
      truth["videos"].append({"file": name, "blinks": blinks,
                              "events": [dataclasses.asdict(e) for e in events]})
    (tmp / "ground_truth.json").write_text(json.dumps(truth, indent=1))
  return Path(out_dir)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m mexp.synthetic", description=__doc__.split("\n")[0])
  parser.add_argument("out_dir")
  parser.add_argument("--subjects", type=int, default=8)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--clips_per_emotion", type=int, default=2)
  parser.add_argument("--long_videos", type=int, default=0,
                      help="instead of clips, write this many long videos for spotting")
  args = parser.parse_args(argv)
  if args.long_videos:
    try:
      out = write_long_videos(args.out_dir, videos=args.long_videos, seed=args.seed)
    except FileExistsError as e:
      print(f"error: {e}", file=sys.stderr)
      return 2
    print(f"wrote {out}: {args.long_videos} long videos and ground_truth.json")
    return 0
  try:
    out = generate(args.out_dir, subjects=args.subjects, seed=args.seed,
                   clips_per_emotion=args.clips_per_emotion, progress=True)
  except FileExistsError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(f"wrote {out}: {args.subjects} subjects x {len(EMOTIONS)} emotions x "
        f"{args.clips_per_emotion} clips")
  return 0


if __name__ == "__main__":
  sys.exit(main())
