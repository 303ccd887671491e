"""confusion.png and curves.png for a run (matplotlib, no display needed)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np


def _pyplot():
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  return plt


def confusion(path: Path, confusion_KxK, classes, title: str) -> None:
  """Row-normalised confusion matrix with counts in the cells."""
  plt = _pyplot()
  counts = np.asarray(confusion_KxK)
  rows = counts / np.maximum(counts.sum(1, keepdims=True), 1)
  fig, ax = plt.subplots(figsize=(1.1 * len(classes) + 2, 1.0 * len(classes) + 1.5))
  ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
  ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
  ax.set_yticks(range(len(classes)), classes)
  ax.set_xlabel("predicted")
  ax.set_ylabel("true")
  for i in range(len(classes)):
    for j in range(len(classes)):
      ax.text(j, i, str(counts[i, j]), ha="center", va="center",
              color="white" if rows[i, j] > 0.5 else "black")
  ax.set_title(textwrap.fill(title, 70), fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def curves(path: Path, histories: dict[str, list[dict]], title: str) -> None:
  """Per-fold training loss and accuracy (and validation, when present) against epochs."""
  plt = _pyplot()
  fig, axes = plt.subplots(1, 2, figsize=(10, 4))
  for name, history in histories.items():
    epochs = [h["epoch"] for h in history]
    for ax, key in zip(axes, ("loss", "accuracy")):
      line, = ax.plot(epochs, [h[f"train_{key}"] for h in history], lw=1, label=f"{name} train")
      if history and f"val_{key}" in history[0]:
        ax.plot(epochs, [h[f"val_{key}"] for h in history], lw=1, ls="--", color=line.get_color(),
                label=f"{name} val")
  for ax, key in zip(axes, ("loss", "accuracy")):
    ax.set_xlabel("epoch")
    ax.set_ylabel(key)
    if len(histories) <= 10:
      ax.legend(fontsize=6)
  fig.suptitle(textwrap.fill(title, 140), fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def bars(path: Path, names, values, title: str, ylabel: str) -> None:
  """One bar per name (values in [0, 1]; None drawn as an empty slot)."""
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * len(names) + 1.5), 3))
  ax.bar(range(len(names)), [0.0 if v is None else v for v in values], color="#4a7ab5")
  ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
  ax.set_ylim(0, 1)
  ax.set_ylabel(ylabel)
  ax.set_title(title, fontsize=9)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def clip_thumbnail(path: Path, raw_TxHxWxC, saliency_TxHxWxS, apex: int, title: str) -> None:
  """The apex frame beside its motion: the flow field (u, v) as arrows on its magnitude, or the
  saliency map where it is not a flow."""
  plt = _pyplot()
  fig, axes = plt.subplots(1, 2, figsize=(4, 2.2))
  axes[0].imshow(np.asarray(raw_TxHxWxC[apex]).mean(-1), cmap="gray")
  sal = np.asarray(saliency_TxHxWxS[apex], np.float32)
  if sal.shape[-1] >= 2:  # flow or ststnet: u, v first
    u, v = sal[..., 0], sal[..., 1]
    axes[1].imshow(np.hypot(u, v), cmap="magma")
    step = max(1, u.shape[0] // 12)
    ys, xs = np.mgrid[0:u.shape[0]:step, 0:u.shape[1]:step]
    axes[1].quiver(xs, ys, u[::step, ::step], -v[::step, ::step], color="cyan", scale=None,
                   angles="xy", width=0.006)
  else:
    axes[1].imshow(sal.mean(-1), cmap="magma")
  for ax, name in zip(axes, ("apex frame", "motion")):
    ax.set_title(name, fontsize=7)
    ax.axis("off")
  fig.suptitle(title, fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=80)
  plt.close(fig)


def timeline(path: Path, seconds_N, energy_N, fps: float, truth, spotted, title: str) -> None:
  """One long video: the energy trace (baseline deviations) over time, the ground truth's
  intervals (grey, by kind) and the spotted ones coloured by outcome (green TP, red FP), with the
  ground truth a spotted interval missed in orange (FN), and each interval's emotion.

  Args:
    seconds_N, energy_N: each read frame's time (from its frame number: gaps stay gaps) and
      energy (None: not measured).
    truth: (onset_s, offset_s, kind, emotion, matched) per ground-truth interval.
    spotted: (onset_s, offset_s, kind, emotion, matched) per spotted interval.
  """
  plt = _pyplot()
  fig, (ax, lanes) = plt.subplots(2, 1, figsize=(11, 3.2), sharex=True,
                                  gridspec_kw={"height_ratios": [2, 1]})
  z = np.array([np.nan if v is None else v for v in energy_N], np.float64)
  ax.plot(seconds_N, z, lw=0.6, color="#333")
  ax.set_ylabel("energy (MADs)", fontsize=7)
  for row, items, colours in ((1, truth, ("#999999", "#ff8c00")),
                              (0, spotted, ("#2e8b57", "#d62728"))):
    for onset, offset, kind, emotion, matched in items:
      colour = colours[0] if matched else colours[1]
      lanes.broken_barh([(onset, max(offset - onset, 1 / fps))], (row + 0.1, 0.8),
                        color=colour, alpha=0.9 if kind == "micro" else 0.5)
      if emotion:
        lanes.text(onset, row + 0.5, emotion, fontsize=6, va="center")
  lanes.set_yticks([0.5, 1.5], ["spotted", "truth"], fontsize=7)
  lanes.set_xlabel("seconds", fontsize=7)
  ax.set_title(title, fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)
