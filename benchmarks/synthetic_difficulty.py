"""Is the synthetic twin hard in the right way?  Run: python benchmarks/synthetic_difficulty.py

A linear probe (ridge regression on 8x8-pooled pixels, one-hot targets) over the default synthetic
dataset, leave-one-subject-out, 7 emotions. One raw frame at the apex should sit near chance:
the per-clip jitter of the neutral face hides the 1-3 px movement. The change against the onset
frame, or the stored saliency, should carry the label.
"""

from __future__ import annotations

import sys

import cv2
import numpy as np

from mexp import config as config_lib
from mexp.datasets import build as build_lib


def loso_ridge_accuracy(features_NxD: np.ndarray, labels_N: np.ndarray, subjects_N: np.ndarray,
                        classes: int, lam: float = 0.1) -> float:
  """Pooled accuracy of a ridge probe trained on all subjects but one, for every subject."""
  correct = 0
  for subject in np.unique(subjects_N):
    train, test = subjects_N != subject, subjects_N == subject
    mean, std = features_NxD[train].mean(0), features_NxD[train].std(0) + 1e-6
    a, b = (features_NxD[train] - mean) / std, (features_NxD[test] - mean) / std
    targets = np.eye(classes)[labels_N[train]]
    weights = a.T @ np.linalg.solve(a @ a.T + lam * len(a) * np.eye(len(a)), targets)
    correct += int((np.argmax(b @ weights, 1) == labels_N[test]).sum())
  return correct / len(labels_N)


def main() -> None:
  import tensorflow_datasets as tfds
  data = config_lib.DataConfig()
  dataset, _ = build_lib.prepare(data)
  source = tfds.data_source(f"{data.dataset}/{data.builder_config}",
                            data_dir=build_lib.data_dir_of(data), split="train")
  examples = [source[i] for i in range(len(source))]
  labels = np.array([x["emotion"] for x in examples])
  subjects = np.array([x["subject"] for x in examples])
  classes = dataset.info.features["emotion"].num_classes
  pool = lambda frames_NxHxW: np.stack([  # noqa: E731
      cv2.resize(f, (8, 8), interpolation=cv2.INTER_AREA) for f in frames_NxHxW]).reshape(
          len(frames_NxHxW), -1)
  raw = np.stack([x["raw"][..., 0] for x in examples]).astype(np.float32) / 255  # N,T,H,W
  mid = raw.shape[1] // 2
  probes = {
      "one raw frame (middle of the clip)": raw[:, mid],
      "|middle frame - onset frame|": np.abs(raw[:, mid] - raw[:, 0]),
      f"stored {data.builder_config.split('_')[-1]} saliency, middle frame":
          np.stack([x["saliency"][mid, ..., 0] for x in examples]).astype(np.float32) / 255,
  }
  print(f"protocol: LOSO over {len(np.unique(subjects))} subjects, {len(labels)} clips, "
        f"{classes} emotions (chance {1 / classes:.1%}); linear ridge probe on 8x8-pooled pixels")
  for name, frames in probes.items():
    print(f"  {name:>44}: accuracy {loso_ridge_accuracy(pool(frames), labels, subjects, classes):.1%}")


if __name__ == "__main__":
  sys.exit(main())
