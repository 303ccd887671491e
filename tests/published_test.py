"""The MEGC 2019 baselines: their sizes by hand, the apex input, BatchNorm through training."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mexp import config as config_lib
from mexp import evaluate, models, published, train
from mexp import input_pipeline as pipeline


def _variables(cls, classes=3):
  x = jnp.zeros((2, 4, 16, 16, 3))
  return cls(classes).init(jax.random.key(0), x, x, train=False)


def test_ststnet_has_its_published_size():
  # Three 3x3 convolutions on 3 channels: 3*3*3*(3+5+8) weights + 16 biases = 448; BatchNorm's
  # scale and bias 2*16 = 32; 28 -> 30 (padding 2) -> 10 (max-pool 3, stride 3, padding 1) -> 5
  # (average pool 2): 5*5*16 = 400 features, a dense layer to 3 classes 400*3 + 3 = 1203. About
  # 1.7 k, as published.
  variables = _variables(published.STSTNet)
  assert models.parameter_count(variables["params"]) == 448 + 32 + 1203 == 1683
  assert models.parameter_count(variables["batch_stats"]) == 32  # running mean and variance


def test_off_apexnet_has_its_published_size():
  # Per stream (u, v): conv 5x5 x6 (1*25*6 + 6 = 156), conv 5x5 x16 (6*25*16 + 16 = 2416);
  # 28 -> 14 -> 7: 7*7*16 = 784 features each, 1568 together; dense 1568*1024 + 1024,
  # 1024*1024 + 1024, 1024*3 + 3.
  expected = 2 * (156 + 2416) + (1568 * 1024 + 1024) + (1024 * 1024 + 1024) + (1024 * 3 + 3)
  assert models.parameter_count(_variables(published.OffApexNet)["params"]) == expected == 2664475


def test_apex_flow_reads_the_centre_frame_resized_to_28():
  sal = jnp.broadcast_to(jnp.arange(5.0)[None, :, None, None, None], (1, 5, 56, 56, 3))
  sal = sal * jnp.array([1.0, 10.0, 100.0])  # channels u, v, strain tell themselves apart
  out = published.apex_flow(sal, (2, 0, 1))
  assert out.shape == (1, 28, 28, 3)
  np.testing.assert_allclose(out[0, 5, 7], [200.0, 2.0, 20.0], rtol=1e-6)  # frame 2 of 5


def _clips(kind="ststnet", n=8):
  rng = np.random.default_rng(0)
  label = (np.arange(n) % 3).astype(np.int32)
  sal = rng.normal(0, 0.1, (n, 4, 16, 16, 3)).astype(np.float32)
  sal[np.arange(n), 2, 4:8, 4:8, label] += 2.0  # each class moves in its own channel
  return pipeline.Clips(
      raw_NxTxHxWxC=np.zeros((n, 4, 16, 16, 1), np.uint8),
      saliency_NxTxHxWxS=sal.astype(np.float16), label_N=label,
      subject_N=np.array([f"casme2/sub{i // 2:02d}" for i in range(n)]),
      clip_N=np.array([f"EP{i:02d}" for i in range(n)]), classes=("a", "b", "c"), dropped={},
      saliency_kind=kind, apex_index_N=np.full(n, 2, np.int32))


CONFIG = config_lib.Config(
    model=config_lib.ModelConfig(arch="ststnet", dropout=0.0),
    optim=config_lib.OptimConfig(epochs=3, batch_size=4, learning_rate=3e-2, schedule="constant",
                                 warmup_epochs=0, weight_decay=0.0, grad_clip=None),
    augment=config_lib.AugmentConfig(flip=False, max_shift=0, max_time_shift=0),
    checkpoint_every=2)


def test_batchnorm_statistics_train_checkpoint_and_restore(tmp_path):
  config_lib.validate(CONFIG, jax.device_count())
  mesh, clips = pipeline.data_mesh(), _clips()
  start = train.create_state(CONFIG, 3, clips, np.ones(3, np.float32), 2, jax.random.key(0))
  steps = train.compile_steps(mesh, CONFIG, "ststnet")
  state, history = train.fit(CONFIG, clips, np.arange(8), np.arange(0), tmp_path / "f", 0, mesh,
                             steps, progress=False)
  assert history[-1]["train_loss"] < history[0]["train_loss"]
  moved = jax.tree.map(lambda a, b: not np.allclose(a, b), start.batch_stats, state.batch_stats)
  assert all(jax.tree_util.tree_leaves(moved))  # the running statistics follow the batches
  restored = train.restore_state(CONFIG, clips, tmp_path / "f" / "checkpoints", mesh)
  for a, b in zip(jax.tree_util.tree_leaves(restored.batch_stats),
                  jax.tree_util.tree_leaves(state.batch_stats)):
    np.testing.assert_array_equal(a, b)
  # Evaluation uses the running statistics: a clip's prediction does not depend on its batch.
  _, evaluate_step = steps
  one = train.predict(evaluate_step, state, clips, np.arange(4), 4, mesh)
  mixed = train.predict(evaluate_step, state, clips, np.array([0, 5, 6, 7]), 4, mesh)
  np.testing.assert_allclose(one[0], mixed[0], rtol=1e-5)


def test_batchnorm_statistics_leave_out_a_batchs_padding():
  # Known answer: the masked batch's statistics are those of its real clips alone.
  model, rng = published.STSTNet(3, dropout=0.0), np.random.default_rng(1)
  sal = jnp.asarray(rng.normal(0, 1, (4, 4, 28, 28, 3)), jnp.float32)
  sal = sal.at[2:].set(1e3)  # padding rows, far from the real ones
  variables = model.init(jax.random.key(0), sal, sal, train=False)
  _, masked = model.apply(variables, sal, sal, train=True, mask_B=jnp.array([1.0, 1, 0, 0]),
                          mutable=["batch_stats"])
  _, real = model.apply(variables, sal[:2], sal[:2], train=True, mutable=["batch_stats"])
  for a, b in zip(jax.tree_util.tree_leaves(masked), jax.tree_util.tree_leaves(real)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
  # Through the train step: what pads a batch changes neither the weights nor the statistics.
  config = dataclasses.replace(CONFIG, model=config_lib.ModelConfig(arch="ststnet", dropout=0.0))
  mesh, clips = pipeline.data_mesh(), _clips()
  train_step, _ = train.compile_steps(mesh, config, "ststnet")
  mask = np.array([1, 1, 0, 0], np.float32)
  out = [train_step(train.create_state(config, 3, clips, np.ones(3, np.float32), 2,
                                       jax.random.key(0)),  # a fresh state: the step donates it
                    pipeline.shard_batch(clips, np.array(index), mask, mesh),
                    jax.random.key(1))[0] for index in ([0, 1, 2, 2], [0, 1, 5, 7])]
  for a, b in zip(jax.tree_util.tree_leaves((out[0].params, out[0].batch_stats)),
                  jax.tree_util.tree_leaves((out[1].params, out[1].batch_stats))):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_batch_larger_than_the_training_set_is_the_whole_set(tmp_path):
  assert pipeline.fit_batch(256, 84, 2) == 84 and pipeline.fit_batch(256, 83, 2) == 84
  assert pipeline.fit_batch(16, 84, 2) == 16 and pipeline.fit_batch(256, 420, 2) == 256
  config = dataclasses.replace(CONFIG, optim=dataclasses.replace(CONFIG.optim, batch_size=256))
  mesh, clips = pipeline.data_mesh(), _clips()
  steps = train.compile_steps(mesh, config, "ststnet")
  _, history = train.fit(config, clips, np.arange(8), np.arange(0), tmp_path / "f", 0, mesh,
                         steps, progress=False)
  assert [h["step"] for h in history] == [1, 2, 3]  # one step of all 8 clips per epoch


def test_the_baselines_see_their_apex_frame_alone_in_training_and_in_predict():
  from mexp import predictor
  clips = _clips()
  other = clips.saliency_NxTxHxWxS.copy()
  other[:, [0, 1, 3]] *= 7  # the frames around the apex differ; the apex frame is the same
  cut = clips.centre_frame()
  assert cut.saliency_NxTxHxWxS.shape[1] == 1 and (cut.apex_index_N == 0).all()
  trained = pipeline.to_float(cut.raw_NxTxHxWxC, cut.saliency_NxTxHxWxS)[1]
  np.testing.assert_allclose(jnp.std(trained, axis=(0, 2, 3))[0], 1.0, rtol=1e-2)  # its own scale
  for sal in (clips.saliency_NxTxHxWxS, other):  # predict's path, from the whole clip
    _, given = predictor.model_inputs(CONFIG, clips.raw_NxTxHxWxC, sal)
    np.testing.assert_array_equal(given, trained)
  two_stream = config_lib.Config()
  assert predictor.model_inputs(two_stream, clips.raw_NxTxHxWxC, other)[1].shape[1] == 4


def test_the_baselines_need_apex_centred_flow():
  stst = config_lib.ModelConfig(arch="ststnet")
  with pytest.raises(ValueError, match="model.arch 'ststnet' reads the apex frame's flow: the "
                                       "saliency is 'flow', not ststnet"):
    evaluate.check_inputs(stst, _clips("flow"))
  off = config_lib.ModelConfig(arch="off_apexnet")
  evaluate.check_inputs(off, _clips("flow"))
  with pytest.raises(ValueError, match="reads the apex frame's flow: the saliency is 'median'"):
    evaluate.check_inputs(off, _clips("median"))
  shifted = dataclasses.replace(_clips(), apex_index_N=np.full(8, 1, np.int32))
  with pytest.raises(ValueError, match="have their apex elsewhere"):
    evaluate.check_inputs(stst, shifted)
  with pytest.raises(ValueError, match="--config.model.arch 'resnet': expected 'two_stream', "
                                       "'ststnet', 'off_apexnet'"):
    config_lib.validate(dataclasses.replace(CONFIG, model=config_lib.ModelConfig(arch="resnet")))


def test_a_model_without_batchnorm_keeps_the_state_older_checkpoints_hold():
  # A field added to every state would make every checkpoint written before it unreadable (Orbax
  # compares the tree structures): BatchNorm's statistics live in a subclass instead.
  two_stream = dataclasses.replace(CONFIG, model=config_lib.ModelConfig(
      width_factor=1 / 32, shared_widths=(8,), dense=(4,)))
  state = train.create_state(two_stream, 3, _clips(), np.ones(3, np.float32), 2,
                             jax.random.key(0))
  assert type(state) is train.TrainState
  assert sorted(state.__dataclass_fields__) == ["apply_fn", "class_weights_K", "ema_params",
                                                "opt_state", "params", "step", "tx"]
  stst = train.create_state(CONFIG, 3, _clips(), np.ones(3, np.float32), 2, jax.random.key(0))
  assert type(stst) is train.NormTrainState and set(stst.batch_stats) == {
      "BatchNorm_0", "BatchNorm_1", "BatchNorm_2"}
