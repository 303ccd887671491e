"""Preprocessing speed on one core.  Run: python benchmarks/preprocess.py

Prints frames/s for each saliency kind on already-decoded grey clips at 64x64 and 128x128, and for
a whole-clip build (JPEG decode -> face detection -> crop -> resize -> resample -> saliency) of
synthetic 640x480 clips. Goal: >= 2,000 frames/s per core for the motion maps at 64x64.
"""

from __future__ import annotations

import os
import tempfile
import time

import cv2
import numpy as np

from mexp import synthetic
from mexp.datasets import builder as builder_lib
from mexp.io import sheets
from mexp.preprocess import clip as clip_lib
from mexp.preprocess import motion


def _rate(fn, frames: int, repeats: int) -> float:
  fn()  # warm up
  start = time.perf_counter()
  for _ in range(repeats):
    fn()
  return frames * repeats / (time.perf_counter() - start)


def main() -> None:
  cv2.setNumThreads(1)  # per-core figures
  rng = np.random.default_rng(0)
  face = synthetic.random_face(rng)
  print("saliency maps, one core, clips of T=16 grey frames (input already decoded and cropped)")
  print(f"{'kind':>8} {'64x64 frames/s':>16} {'128x128 frames/s':>18}")
  for kind in motion.SALIENCY_KINDS:
    rates = []
    for size in (64, 128):
      clip = synthetic.render_clip(face, (6, 12), rng, 16, 8)
      grey = np.stack([cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (size, size),
                                  interpolation=cv2.INTER_AREA) for f in clip])
      grey = grey[..., None].astype(np.float32)
      rates.append(_rate(lambda: motion.saliency(kind, grey), 16, 40 if size == 64 else 10))
    print(f"{kind:>8} {rates[0]:>16,.0f} {rates[1]:>18,.0f}")

  with tempfile.TemporaryDirectory() as tmp:
    root = synthetic.generate(os.path.join(tmp, "syn"), subjects=1, clips_per_emotion=1, workers=1)
    samples = sheets.read_casme2(root).samples
    n_frames = sum(len(s.frames) for s in samples)
    print(f"\nwhole-clip build, one core: {len(samples)} synthetic clips, {n_frames} JPEG frames "
          "of 640x480, decode + landmark alignment + resample + saliency at analysis size + resize")
    for spec in (clip_lib.ClipSpec(16, 32, 32, 1, "median"),
                 clip_lib.ClipSpec(16, 32, 32, 1, "ststnet", apex_centred=True, analysis_size=128),
                 clip_lib.ClipSpec(16, 64, 64, 1, "ststnet", apex_centred=True, analysis_size=128)):
      start = time.perf_counter()
      for s in samples:
        builder_lib.build_example(s, spec, detect_face=True)
      seconds = time.perf_counter() - start
      print(f"  {spec.name:>34}: {n_frames / seconds:,.0f} source frames/s, "
            f"{len(samples) / seconds:.1f} clips/s")


if __name__ == "__main__":
  main()
