"""A trained workdir's model, restored and ready to classify a clip: what predict (offline) and
stream (live) share."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np

from mexp import config as config_lib
from mexp import labels
from mexp.preprocess import clip as clip_lib
from mexp.preprocess import face

MIN_FRAMES = clip_lib.MIN_FRAMES


class PredictError(ValueError):
  """Bad input or workdir; the message is the one line the user sees."""


@dataclasses.dataclass(frozen=True)
class Predictor:
  config: config_lib.Config
  spec: clip_lib.ClipSpec
  classes: tuple[str, ...]
  params: object  # the variables to predict with: weights (the Polyak average when training kept
  # one) and BatchNorm's running statistics where the model has them
  forward: object  # jitted (params, raw_1xTxHxWxC, saliency_1xTxHxWxS) -> probabilities_1xK
  checkpoint: Path | None = None  # named when the model gives non-finite probabilities


def load(workdir: str | Path) -> Predictor:
  """Restores the deployable model of a workdir; PredictError when there is none or it mismatches."""
  from mexp import checkpoints
  from mexp import input_pipeline as pipeline
  from mexp import train
  from mexp.datasets import builder

  workdir = Path(workdir)
  saved = workdir / "config.json"
  if not saved.is_file():
    raise PredictError(f"{workdir}: no config.json (not a workdir written by experiments/*.py)")
  try:
    config = config_lib.from_dict(json.loads(saved.read_text()))
  except (ValueError, TypeError) as e:
    raise PredictError(f"{saved}: {e}") from None
  specs = {c.name: c.spec for c in builder.CONFIGS}
  if config.data.builder_config not in specs:
    raise PredictError(f"{saved}: unknown builder config {config.data.builder_config!r}")
  spec = specs[config.data.builder_config]
  classes = labels.task_classes(config.data.task)
  checkpoint_dir = workdir / "final" / "checkpoints"
  if not checkpoint_dir.is_dir() or not any(p.name.isdigit() for p in checkpoint_dir.iterdir()):
    raise PredictError(f"{workdir}: no checkpoint in final/checkpoints (train without "
                       "--no_final_model to get the deployable model)")
  shape = (1, spec.frames, spec.height, spec.width)
  dummy = pipeline.Clips(np.zeros(shape + (spec.channels,), np.uint8),
                         np.zeros(shape + (spec.saliency_channels,), np.float16),
                         np.zeros(1, np.int32), np.array(["s"]), np.array(["c"]), classes, {},
                         spec.saliency, np.zeros(1, np.int32))
  try:
    state = train.restore_state(config, dummy, checkpoint_dir, pipeline.data_mesh())
  except checkpoints.CheckpointError as e:
    raise PredictError(str(e)) from None
  except (ValueError, KeyError, TypeError) as e:
    raise PredictError(f"{checkpoint_dir}: the checkpoint does not match {saved} "
                       f"({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
  import jax
  from mexp import models
  fuse = models.fused_probabilities(config.model)
  forward = jax.jit(lambda variables, raw, sal: fuse(
      state.apply_fn(variables, raw, sal, train=False)))
  raw, sal = model_inputs(config, dummy.raw_NxTxHxWxC, dummy.saliency_NxTxHxWxS)
  predictor = Predictor(config=config, spec=spec, classes=classes,
                        params=train.eval_variables(state), forward=forward,
                        checkpoint=checkpoint_dir)
  _finite(predictor, forward(predictor.params, raw, sal))  # compile now, not on the first event
  return predictor


def model_inputs(config: config_lib.Config, raw_NxTxHxWxC: np.ndarray,
                 saliency_NxTxHxWxS: np.ndarray):
  """The model's float inputs from stored clip arrays, as training gives them (a published
  baseline: the centre frame alone)."""
  from mexp import input_pipeline as pipeline
  from mexp import models
  if models.reads_centre_frame(config.model):
    raw_NxTxHxWxC, saliency_NxTxHxWxS = map(pipeline.centre_frame,
                                            (raw_NxTxHxWxC, saliency_NxTxHxWxS))
  return pipeline.to_float(raw_NxTxHxWxC, saliency_NxTxHxWxS)


def _finite(predictor: Predictor, probs: np.ndarray) -> np.ndarray:
  """`probs` on the host; PredictError naming the checkpoint when any is NaN or infinite."""
  probs = np.asarray(probs)
  if not np.isfinite(probs).all():
    raise PredictError(f"{predictor.checkpoint}: the model gives non-finite probabilities, so the "
                       "checkpoint is damaged; delete it and rerun the experiment to retrain it")
  return probs


def classify(predictor: Predictor, frames_NxHxWx3: np.ndarray, numbers_N: np.ndarray,
             onset: int, offset: int, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
  """Class probabilities (K,) of the interval onset..offset (frame numbers); see classify_face."""
  return classify_face(predictor, frames_NxHxWx3, numbers_N, onset, offset, box)[0]


def classify_face(predictor: Predictor, frames_NxHxWx3: np.ndarray, numbers_N: np.ndarray,
                  onset: int, offset: int,
                  box: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, int]:
  """(class probabilities (K,), the frame number the face was first found at) of the interval
  onset..offset (frame numbers).

  The face is aligned on its first frame with a face (the onset frame, unless the input fades
  in) as in training, searched inside a tracked (x, y, w, h)
  `box` when one is given (a box crop alone would not match the aligned training faces).
  """
  from mexp import input_pipeline as pipeline
  keep = (numbers_N >= onset) & (numbers_N <= offset)
  if keep.sum() < MIN_FRAMES:
    raise PredictError(f"interval {onset}..{offset} holds {int(keep.sum())} frame(s); the model "
                       f"needs at least {MIN_FRAMES}")
  frames = frames_NxHxWx3[keep] if box is None else face.crop_clip(frames_NxHxWx3[keep], box)
  numbers = numbers_N[keep]
  first = _first_face(frames)
  if first is None:
    raise PredictError(f"no face found in any frame of {onset}..{offset}")
  if len(frames) - first < MIN_FRAMES:
    raise PredictError(f"interval {onset}..{offset}: the face shows from frame {numbers[first]} "
                       f"only, {len(frames) - first} frame(s); the model needs {MIN_FRAMES}")
  frames, numbers = frames[first:], numbers[first:]
  try:
    out = clip_lib.process_clip(frames, numbers, onset=int(numbers[0]), apex=None,
                                offset=int(numbers[-1]), spec=predictor.spec, detect_face=True)
  except face.NoFaceError as e:
    raise PredictError(f"{e} at frame {numbers[0]}") from None
  raw, sal = model_inputs(predictor.config, out.raw_TxHxWxC[None], out.saliency_TxHxWxS[None])
  return _finite(predictor, predictor.forward(predictor.params, raw, sal))[0], int(numbers[0])


def _first_face(frames_NxHxWx3: np.ndarray) -> int | None:
  """Index of the first frame with a detectable face (a fade-in starts black), or None."""
  for i, frame in enumerate(frames_NxHxWx3):
    try:
      face.detect_face_box(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
      return i
    except face.NoFaceError:
      continue
  return None
