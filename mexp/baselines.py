"""The floor: a linear probe on onset -> apex flow, on the same folds as the deep model.

Features: the stored flow (u, v, measured at analysis resolution) at the sampled frame nearest
the apex, with |flow|, area-pooled to a grid x grid layout; standardised with training-side
statistics only; then a multinomial logistic regression with balanced class weights and a fixed
L2 strength (sklearn's C), fitted to convergence with L-BFGS. Nothing is tuned.

The same probe on the raw frames' apex-minus-onset grey levels (ProbeConfig.features) measures
how much of the movement the raw stream can see, alone or beside the flow.
"""

from __future__ import annotations

import functools

import cv2
import jax
import jax.numpy as jnp
import numpy as np
import optax

from mexp import config as config_lib
from mexp import folds as folds_lib
from mexp.preprocess import motion


_FEATURE_NAMES = {"flow": "onset->apex flow (u, v, |flow|)",
                  "raw_diff": "apex-minus-onset raw grey levels"}


def description(probe: config_lib.ProbeConfig) -> str:
  read = " and ".join(_FEATURE_NAMES[f] for f in probe.features.split("+"))
  return (f"linear probe: {read} area-pooled to {probe.grid}x{probe.grid}, "
          f"standardised on training subjects, multinomial logistic regression (C={probe.c}, "
          "balanced class weights), fixed, not tuned")


def flow_features(saliency_NxTxHxWxS: np.ndarray, apex_index_N: np.ndarray, grid: int) -> np.ndarray:
  """(N, grid * grid * 3) features: u, v and |flow| of each clip's apex frame, area-pooled.

  Args:
    saliency_NxTxHxWxS: a flow-type saliency (flow or ststnet: channels 0, 1 are u, v).
    apex_index_N: the index of each clip's apex frame among its T frames.
    grid: output grid side.
  """
  out = []
  for sal_TxHxWxS, t in zip(saliency_NxTxHxWxS, apex_index_N):
    uv = np.asarray(sal_TxHxWxS[t, ..., :2], np.float32)
    uvm = np.concatenate([uv, np.linalg.norm(uv, axis=-1, keepdims=True)], axis=-1)
    out.append(cv2.resize(uvm, (grid, grid), interpolation=cv2.INTER_AREA).reshape(-1))
  return np.stack(out).astype(np.float32)


def raw_diff_features(raw_NxTxHxWxC: np.ndarray, apex_index_N: np.ndarray, grid: int) -> np.ndarray:
  """(N, grid * grid * C) features: each clip's apex frame minus its onset (first) frame, in grey
  levels, area-pooled."""
  out = []
  for raw_TxHxWxC, t in zip(raw_NxTxHxWxC, apex_index_N):
    diff = raw_TxHxWxC[t].astype(np.float32) - raw_TxHxWxC[0].astype(np.float32)
    out.append(cv2.resize(diff, (grid, grid), interpolation=cv2.INTER_AREA).reshape(-1))
  return np.stack(out).astype(np.float32)


def features(probe: config_lib.ProbeConfig, clips) -> np.ndarray:
  """(N, D): the probe's features of every clip, side by side in the order probe.features names."""
  parts = {"flow": lambda: flow_features(clips.saliency_NxTxHxWxS, clips.apex_index_N, probe.grid),
           "raw_diff": lambda: raw_diff_features(clips.raw_NxTxHxWxC, clips.apex_index_N,
                                                 probe.grid)}
  return np.concatenate([parts[f]() for f in probe.features.split("+")], axis=1)


def balanced_weights(label_N: np.ndarray, num_classes: int) -> np.ndarray:
  """sklearn's 'balanced': n / (classes present * count of the sample's class)."""
  counts = np.bincount(label_N, minlength=num_classes)
  present = int((counts > 0).sum())
  return (len(label_N) / (present * counts[label_N])).astype(np.float32)


@functools.partial(jax.jit, static_argnames=("num_classes", "steps"))
def fit_logistic(x_NxD: jax.Array, label_N: jax.Array, weight_N: jax.Array, c: float, *,
                 num_classes: int, steps: int = 300) -> dict:
  """Minimises 0.5 |W|^2 + C sum_i w_i xent_i (sklearn's multinomial objective) with L-BFGS.

  Returns:
    {'w': (D, K), 'b': (K,)}.
  """
  def loss(p):
    logits = x_NxD @ p["w"] + p["b"]
    xent = optax.softmax_cross_entropy_with_integer_labels(logits, label_N)
    return 0.5 * jnp.sum(p["w"] ** 2) + c * jnp.sum(weight_N * xent)

  opt = optax.lbfgs()
  value_and_grad = optax.value_and_grad_from_state(loss)
  params = {"w": jnp.zeros((x_NxD.shape[1], num_classes)), "b": jnp.zeros(num_classes)}

  def step(carry, _):
    p, state = carry
    value, grad = value_and_grad(p, state=state)
    updates, state = opt.update(grad, state, p, value=value, grad=grad, value_fn=loss)
    return (optax.apply_updates(p, updates), state), value

  (params, _), _ = jax.lax.scan(step, (params, opt.init(params)), None, length=steps)
  return params


def probe_fold(features_NxD: np.ndarray, label_N: np.ndarray, train: np.ndarray,
               test: np.ndarray, num_classes: int, probe: config_lib.ProbeConfig) -> np.ndarray:
  """Test-clip probabilities (len(test), K) from a probe fitted on `train` only."""
  mean = features_NxD[train].mean(0)
  std = features_NxD[train].std(0) + 1e-6
  x = (features_NxD - mean) / std
  params = fit_logistic(jnp.asarray(x[train]), jnp.asarray(label_N[train]),
                        jnp.asarray(balanced_weights(label_N[train], num_classes)), probe.c,
                        num_classes=num_classes, steps=probe.steps)
  return np.asarray(jax.nn.softmax(x[test] @ params["w"] + params["b"], axis=-1))


def applies(probe: config_lib.ProbeConfig, saliency_kind: str) -> bool:
  """Whether a dataset holds what the probe reads (flow: a flow-type saliency)."""
  return "flow" not in probe.features.split("+") or saliency_kind in motion.FLOW_KINDS


def check_flow(probe: config_lib.ProbeConfig, saliency_kind: str) -> None:
  if not applies(probe, saliency_kind):
    raise ValueError(f"the linear probe needs a flow saliency ({', '.join(motion.FLOW_KINDS)}), "
                     f"not {saliency_kind!r}; pick a builder config such as "
                     "t16_64x64_grey_ststnet_apex_a128")


def cross_validate(probe: config_lib.ProbeConfig, clips, folds: list[folds_lib.Fold]) -> list[dict]:
  """Per fold, the probe's test predictions in the format of a fold's predictions.json."""
  check_flow(probe, clips.saliency_kind)
  features_NxD = features(probe, clips)
  rows = []
  for fold in folds:
    train = np.concatenate([fold.train, fold.val])  # no model selection: validation is training
    probs = probe_fold(features_NxD, clips.label_N, train, fold.test, len(clips.classes), probe)
    rows.append({"clip": clips.clip_N[fold.test].tolist(),
                 "subject": clips.subject_N[fold.test].tolist(),
                 "label": clips.label_N[fold.test].tolist(), "probabilities": probs.tolist()})
  return rows
