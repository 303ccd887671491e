"""The synthetic SMIC twin: `SMIC/HS/s1/micro/negative/s1_ne_01/image036237.bmp`, no sheet.

Raw layout (`cropped=False`): whole 640x480 colour frames under SMIC/HS/, plus what a reader
must leave alone: a `non_micro/` clip and VIS/ and NIR/ copies (tiny frames, so reading them
would fail the build). Cropped layout: `SMIC_all_cropped/HS/.../reg_image036237.bmp`, 140x170
face crops, as the aligned variant is distributed.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import cv2
import numpy as np

from mexp import databases
from mexp.synthetic.clips import atomic_dir, render_clip, run_all, write_frames
from mexp.synthetic.faces import Face, jitter_face, random_face

FPS = databases.SMIC.fps  # the HS camera
SUBJECTS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12, 13, 14, 15, 18, 19, 20)  # SMIC-HS's 16
EMOTION_AUS = {
    "negative": [(4, 7), (9,), (10,), (14,), (1, 4, 15)],
    "positive": [(6, 12), (12,)],
    "surprise": [(1, 2)],
}
CODES = {"negative": "ne", "positive": "po", "surprise": "sur"}
CROP_WH = (140, 170)


@dataclasses.dataclass(frozen=True)
class SmicClip:
  subject: int  # 1 -> folder 's1'
  filename: str  # 's1_ne_01'
  emotion: str
  aus: tuple[int, ...]
  onset: int  # first frame number on disk
  apex: int  # not written anywhere: SMIC has none
  offset: int
  seed: int


def plan(subjects: int, seed: int, clips_per_emotion: int = 1) -> tuple[list[Face], list[SmicClip]]:
  """Every subject's face and every clip's name, timing and label, from one seed."""
  if not 1 <= subjects <= len(SUBJECTS):
    raise ValueError(f"--subjects must be 1..{len(SUBJECTS)} for SMIC, not {subjects}")
  rng = np.random.default_rng([seed, 3])
  faces = [random_face(rng) for _ in range(subjects)]
  clips = []
  for subject in SUBJECTS[:subjects]:
    for emotion, choices in EMOTION_AUS.items():
      for k in range(clips_per_emotion):
        n = int(rng.integers(14, 31))  # 140-300 ms at 100 fps
        onset = int(rng.integers(1000, 90000))
        clips.append(SmicClip(subject=subject, filename=f"s{subject}_{CODES[emotion]}_{k + 1:02d}",
                              emotion=emotion, aus=choices[rng.integers(len(choices))],
                              onset=onset, apex=onset + int(round(n * rng.uniform(0.35, 0.65))),
                              offset=onset + n - 1, seed=int(rng.integers(2**31))))
  return faces, clips


def crop_face(frames_NxHxWx3: np.ndarray, face: Face) -> np.ndarray:
  """The face box of every frame, area-resized to CROP_WH: what SMIC_all_cropped holds."""
  h, w = frames_NxHxWx3.shape[1:3]
  x0, x1 = int(max(0, face.cx - face.fw)), int(min(w, face.cx + face.fw))
  y0, y1 = int(max(0, face.cy - 1.1 * face.fh)), int(min(h, face.cy + 1.05 * face.fh))
  return np.stack([cv2.resize(f[y0:y1, x0:x1], CROP_WH, interpolation=cv2.INTER_AREA)
                   for f in frames_NxHxWx3])


def _write_clip(out: Path, face: Face, clip: SmicClip, cropped: bool) -> None:
  rng = np.random.default_rng(clip.seed)
  jittered = jitter_face(face, rng)
  frames = render_clip(jittered, clip.aus, rng, clip.offset - clip.onset + 1,
                       clip.apex - clip.onset, fps=FPS)
  tree = out / "SMIC_all_cropped" / "HS" if cropped else out / "SMIC" / "HS"
  prefix = "reg_image" if cropped else "image"
  write_frames(tree / f"s{clip.subject}" / "micro" / clip.emotion / clip.filename,
               crop_face(frames, jittered) if cropped else frames,
               [f"{prefix}{clip.onset + i:06d}.bmp" for i in range(len(frames))])


def _write_decoys(out: Path, clips: list[SmicClip]) -> None:
  """Tiny frames where the HS reader must not look: non_micro/, VIS/ and NIR/."""
  tiny = np.zeros((3, 8, 8, 3), np.uint8)
  names = [f"image{n:06d}.bmp" for n in (1, 2, 3)]
  first = clips[0]
  write_frames(out / "SMIC" / "HS" / f"s{first.subject}" / "non_micro" / f"s{first.subject}_nm_01",
               tiny, names)
  for camera in ("VIS", "NIR"):
    write_frames(out / "SMIC" / camera / f"s{first.subject}" / "micro" / first.emotion /
                 first.filename, tiny, names)


def generate(out_dir: str | os.PathLike, *, subjects: int = 8, seed: int = 0,
             clips_per_emotion: int = 1, cropped: bool = False, workers: int | None = None,
             progress: bool = False) -> Path:
  """Writes the synthetic SMIC folder atomically.

  Args:
    out_dir: must not exist yet (or be empty).
    subjects: number of distinct faces (SMIC-HS's ids s1, s2, s3, ...).
    seed: everything is deterministic given it.
    clips_per_emotion: clips of each of the 3 classes per subject.
    cropped: write SMIC_all_cropped/HS (face crops) instead of SMIC/HS (whole frames).
    workers: rendering threads; all cores when None.
    progress: show a progress bar.

  Returns:
    The folder, ready for `python -m mexp.datasets build smic --manual_dir`.
  """
  faces, clips = plan(subjects, seed, clips_per_emotion)
  with atomic_dir(out_dir) as tmp:
    run_all(lambda c: _write_clip(tmp, faces[SUBJECTS.index(c.subject)], c, cropped), clips,
            workers=workers, progress=progress)
    if not cropped:
      _write_decoys(tmp, clips)
  return Path(out_dir)
