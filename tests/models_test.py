import dataclasses

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mexp import config as config_lib
from mexp import models
from mexp.preprocess import align


@pytest.mark.parametrize("impl,pool", [(impl, None) for impl in ("xla", "taps", "im2col", "auto")]
                         + [("auto", (1, 2, 2)), ("auto", (2, 3, 2)), ("taps", (2, 2, 2))])
@pytest.mark.parametrize("channels", [1, 6])
def test_conv3d_matches_nn_conv(impl, pool, channels):
  x = jax.random.normal(jax.random.key(0), (2, 4, 7, 6, channels))
  reference = nn.Conv(4, (3, 3, 3), padding="SAME")
  params = reference.init(jax.random.key(1), x)
  params = jax.tree_util.tree_map(lambda p: p + 0.1, params)  # non-zero bias too
  expected = reference.apply(params, x)
  if pool:  # pooled before the bias is added: the same values as after it
    expected = nn.max_pool(expected, pool, strides=pool)
  ours = models.Conv3D(4, impl, pool=pool).apply(params, x)
  np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_cpu_convolution_trains_as_xla_does():
  # 'auto' on CPU: chunked convolutions, max-pool fused before bias and ReLU.
  cfg = config_lib.ModelConfig(stream_widths=(8, 8), shared_widths=(8, 8), dense=(8,),
                               dropout=0.0)
  raw, sal = (jax.random.normal(jax.random.key(i), (2, 4, 10, 9, 1)) for i in (2, 3))
  outputs = []
  for conv in ("xla", "auto"):
    model = models.TwoStream3DCNN(dataclasses.replace(cfg, conv=conv), 3)
    params = model.init(jax.random.key(0), raw, sal, train=False)["params"]
    loss = lambda p: jnp.sum(model.apply({"params": p}, raw, sal, train=False) ** 2)  # noqa: E731
    outputs.append(jax.jit(jax.value_and_grad(loss))(params))
  (loss_xla, grads_xla), (loss_auto, grads_auto) = outputs
  np.testing.assert_allclose(loss_auto, loss_xla, rtol=1e-5)
  for a, b in zip(jax.tree_util.tree_leaves(grads_auto), jax.tree_util.tree_leaves(grads_xla)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def _init(cfg, k=6, shape=(1, 8, 16, 16, 1)):
  model = models.TwoStream3DCNN(cfg, k)
  x = jnp.zeros(shape)
  return model, model.init(jax.random.key(0), x, x, train=False)["params"]


def test_seed_layout_scaled_by_width_factor():
  cfg = config_lib.ModelConfig(width_factor=1 / 32)
  _, params = _init(cfg)
  stream = params["raw_stream"]
  assert stream["Conv3D_0"]["kernel"].shape == (3, 3, 3, 1, 4)  # 128 / 32
  assert stream["Conv3D_1"]["kernel"].shape == (3, 3, 3, 4, 8)  # 256 / 32
  assert params["shared_conv0"]["kernel"].shape == (3, 3, 3, 16, 16)  # 2 streams x 8 -> 512 / 32
  assert [params[f"shared_conv{i}"]["kernel"].shape[-1] for i in range(3)] == [16, 16, 16]
  assert params["dense0"]["kernel"].shape == (16, 100) and params["head"]["kernel"].shape == (100, 6)


def test_single_stream_variants_and_forward_shape():
  cfg = config_lib.ModelConfig(width_factor=1 / 32, streams=("saliency",))
  model, params = _init(cfg)
  assert "raw_stream" not in params and "saliency_stream" in params
  x = jnp.ones((3, 8, 16, 16, 1))
  assert model.apply({"params": params}, x, x, train=False).shape == (3, 6)


def test_dropout_only_in_training():
  cfg = config_lib.ModelConfig(width_factor=1 / 32, dropout=0.5)
  model, params = _init(cfg)
  x = jax.random.normal(jax.random.key(2), (2, 8, 16, 16, 1))
  a = model.apply({"params": params}, x, x, train=False)
  b = model.apply({"params": params}, x, x, train=False)
  c = model.apply({"params": params}, x, x, train=True, rngs={"dropout": jax.random.key(3)})
  np.testing.assert_array_equal(a, b)
  assert not np.allclose(a, c)


def test_parameter_count_and_flops():
  cfg = config_lib.ModelConfig(width_factor=1 / 32)
  model, params = _init(cfg)
  # By hand: per stream 3x3x3 convs 1->4, 4->8; three shared 16->16; Dense 16->100->100->6.
  streams = 2 * ((27 * 1 * 4 + 4) + (27 * 4 * 8 + 8))
  shared = 3 * (27 * 16 * 16 + 16)
  dense = (16 * 100 + 100) + (100 * 100 + 100) + (100 * 6 + 6)
  assert models.parameter_count(params) == streams + shared + dense == 35_158
  x = jnp.zeros((1, 8, 16, 16, 1))
  # The first conv alone: 8*16*16 outputs x 4 channels x 27 taps x 2 flops, per stream.
  assert models.forward_gflops(model, {"params": params}, x, x) > 2 * 8 * 16 * 16 * 4 * 27 * 2 / 1e9


def test_changes_remove_the_static_face_and_keep_the_movement():
  rng = np.random.default_rng(0)
  moving = np.zeros((1, 4, 6, 6, 1), np.float32)
  moving[0, 2:, 2, 3] = 1.0  # one pixel brightens for the clip's second half
  face = rng.normal(size=(1, 1, 6, 6, 1)).astype(np.float32)  # a subject: constant over time
  out = np.asarray(models.changes(jnp.asarray(moving + face)))
  np.testing.assert_allclose(out, np.asarray(models.changes(jnp.asarray(moving))), atol=1e-5)
  changed = np.zeros((6, 6), bool)
  changed[2, 3] = True
  np.testing.assert_allclose(out[0][:, ~changed], 0, atol=1e-6)  # static pixels: nothing
  assert np.all(out[0, :2, 2, 3] < 0) and np.all(out[0, 2:, 2, 3] > 0)  # before/after the change
  np.testing.assert_allclose(np.std(out), 1, rtol=0.02)  # up to the 1e-3 guard


def test_raw_changes_make_the_model_blind_to_the_subjects_face():
  cfg = config_lib.ModelConfig(width_factor=1 / 64, shared_widths=(64,), dense=(8,), dropout=0.0,
                               raw_input="changes")
  model = models.TwoStream3DCNN(cfg, 3)
  raw = jax.random.normal(jax.random.key(1), (2, 4, 8, 8, 1))
  sal = jax.random.normal(jax.random.key(2), (2, 4, 8, 8, 3))
  params = model.init(jax.random.key(0), raw, sal, train=False)["params"]
  face = jax.random.normal(jax.random.key(3), (2, 1, 8, 8, 1))
  a = model.apply({"params": params}, raw, sal, train=False)
  np.testing.assert_allclose(a, model.apply({"params": params}, raw + face, sal, train=False),
                             rtol=1e-4, atol=1e-5)
  frames = models.TwoStream3DCNN(dataclasses.replace(cfg, raw_input="frames"), 3)
  b = frames.apply({"params": params}, raw + face, sal, train=False)
  assert not np.allclose(a, b, atol=1e-3)  # the stored frames do carry the face


def test_area_pool_known_answer():
  x = jnp.arange(2 * 4 * 6 * 1, dtype=jnp.float32).reshape(2, 4, 6, 1)
  out = np.asarray(models.area_pool(x, 2))  # 2x3 tiles of the 4x6 image
  np.testing.assert_allclose(out[0, :, :, 0], [[4.0, 7.0], [16.0, 19.0]])
  assert out.shape == (2, 2, 2, 1)
  with pytest.raises(ValueError, match="motion_path_grid 5 exceeds the 4x6"):
    models.area_pool(x, 5)


def test_motion_path_adds_a_linear_view_of_the_mean_motion():
  cfg = config_lib.ModelConfig(width_factor=1 / 64, shared_widths=(64,), dense=(8,), dropout=0.0,
                               motion_path_grid=2)
  model = models.TwoStream3DCNN(cfg, 3)
  raw = jax.random.normal(jax.random.key(1), (2, 4, 8, 8, 1))
  sal = jax.random.normal(jax.random.key(2), (2, 4, 8, 8, 3))
  params = model.init(jax.random.key(0), raw, sal, train=False)["params"]
  assert params["motion_path"]["kernel"].shape == (2 * 2 * 3, 3)
  plain = models.TwoStream3DCNN(dataclasses.replace(cfg, motion_path_grid=0), 3)
  deep = plain.apply({"params": {k: v for k, v in params.items() if k != "motion_path"}},
                     raw, sal, train=False)
  pooled = np.asarray(sal).mean(1).reshape(2, 2, 4, 2, 4, 3).mean((2, 4)).reshape(2, -1)
  expected = deep + pooled @ params["motion_path"]["kernel"] + params["motion_path"]["bias"]
  np.testing.assert_allclose(model.apply({"params": params}, raw, sal, train=False), expected,
                             rtol=1e-4, atol=1e-5)


def test_motion_path_apex_uv_reads_the_centre_frame_u_and_v():
  sal = jax.random.normal(jax.random.key(3), (2, 5, 4, 4, 3))
  np.testing.assert_array_equal(models.motion_path_view(sal, "apex_uv"), sal[:, 2, :, :, :2])
  np.testing.assert_allclose(models.motion_path_view(sal, "mean"), sal.mean(1), rtol=1e-6)
  cfg = config_lib.ModelConfig(width_factor=1 / 64, shared_widths=(64,), dense=(8,), dropout=0.0,
                               motion_path_grid=2, motion_path_input="apex_uv")
  model = models.TwoStream3DCNN(cfg, 3)
  raw = jax.random.normal(jax.random.key(1), (2, 5, 4, 4, 1))
  params = model.init(jax.random.key(0), raw, sal, train=False)["params"]
  assert params["motion_path"]["kernel"].shape == (2 * 2 * 2, 3)
  # Only the centre frame's u and v reach the path: changing anything else leaves it alone.
  other = sal.at[:, 1].add(5.0).at[:, 2, :, :, 2].add(5.0)
  view = lambda s: models.area_pool(models.motion_path_view(s, "apex_uv"), 2)
  np.testing.assert_array_equal(view(other), view(sal))


def test_late_fusion_is_each_single_stream_network_side_by_side():
  cfg = config_lib.ModelConfig(width_factor=1 / 64, shared_widths=(64,), dense=(8,), dropout=0.0,
                               motion_path_grid=2, fusion="late")
  model = models.TwoStream3DCNN(cfg, 3)
  raw = jax.random.normal(jax.random.key(1), (2, 4, 8, 8, 1))
  sal = jax.random.normal(jax.random.key(2), (2, 4, 8, 8, 3))
  params = model.init(jax.random.key(0), raw, sal, train=False)["params"]
  assert set(params) == {"raw_net", "saliency_net"}
  assert "motion_path" in params["saliency_net"] and "motion_path" not in params["raw_net"]
  logits = model.apply({"params": params}, raw, sal, train=False)
  assert logits.shape == (2, 2, 3)
  for i, stream in enumerate(cfg.streams):  # each slice is that stream's own ablation network
    single = models.TwoStream3DCNN(models.single_stream(cfg, stream), 3)
    np.testing.assert_allclose(logits[:, i], single.apply({"params": params[f"{stream}_net"]},
                                                          raw, sal, train=False), rtol=1e-6)
  np.testing.assert_allclose(models.probabilities(logits),
                             (jax.nn.softmax(logits[:, 0]) + jax.nn.softmax(logits[:, 1])) / 2,
                             rtol=1e-6)
  np.testing.assert_allclose(models.probabilities(logits[:, 0]), jax.nn.softmax(logits[:, 0]))


def test_mask_eyes_makes_the_model_blind_to_the_eyes_only():
  cfg = config_lib.ModelConfig(width_factor=1 / 64, shared_widths=(64,), dense=(8,), dropout=0.0,
                               raw_input="changes", motion_path_grid=2, mask_eyes=True,
                               fusion="late")
  model = models.TwoStream3DCNN(cfg, 3)
  raw = jax.random.normal(jax.random.key(1), (2, 4, 16, 16, 1))
  sal = jax.random.normal(jax.random.key(2), (2, 4, 16, 16, 3))
  params = model.init(jax.random.key(0), raw, sal, train=False)["params"]
  apply = lambda r, s: model.apply({"params": params}, r, s, train=False)  # noqa: E731
  eyes = jnp.asarray(1 - align.eye_mask((16, 16)))[:, :, None]
  blink = jax.random.normal(jax.random.key(3), (2, 4, 16, 16, 1)) * 9 * eyes
  np.testing.assert_allclose(apply(raw + blink, sal + blink), apply(raw, sal), rtol=1e-4,
                             atol=1e-5)
  brow = jnp.zeros((16, 16, 1)).at[3, 5].set(1.0)  # one pixel above the eye boxes
  assert not np.allclose(apply(raw, sal + 9 * brow), apply(raw, sal), atol=1e-3)


def test_late_average_of_log_probabilities_is_the_normalised_geometric_mean():
  p = np.array([[[0.5, 0.25, 0.25], [0.125, 0.5, 0.375]]], np.float32)  # (B=1, S=2, K=3)
  logits = jnp.log(p) + 3.0  # softmax ignores a shift
  geometric = np.sqrt(p[0, 0] * p[0, 1])
  np.testing.assert_allclose(models.probabilities(logits, "log_probs")[0],
                             geometric / geometric.sum(), rtol=1e-5)
  np.testing.assert_allclose(models.probabilities(logits, "probs")[0], p[0].mean(0), rtol=1e-5)
  # Class 0, plausible to both streams, over classes 1 and 2, each nearly ruled out by one.
  q = jnp.log(jnp.array([[[0.3, 0.69, 0.01], [0.3, 0.02, 0.68]]]))
  assert int(models.probabilities(q, "probs").argmax()) == 1
  assert int(models.probabilities(q, "log_probs").argmax()) == 0


def test_late_weights_give_each_stream_its_share():
  p = np.array([[[0.5, 0.25, 0.25], [0.125, 0.5, 0.375]]], np.float32)
  logits = jnp.log(p)
  np.testing.assert_allclose(models.probabilities(logits, "probs", (1.0, 3.0))[0],
                             0.25 * p[0, 0] + 0.75 * p[0, 1], rtol=1e-5)
  weighted = p[0, 0] ** 0.25 * p[0, 1] ** 0.75
  np.testing.assert_allclose(models.probabilities(logits, "log_probs", (1.0, 3.0))[0],
                             weighted / weighted.sum(), rtol=1e-5)
  for rule in ("probs", "log_probs"):  # equal weights are the plain average; (0, 1): stream 1
    np.testing.assert_allclose(models.probabilities(logits, rule, (2.0, 2.0)),
                               models.probabilities(logits, rule), rtol=1e-6)
    np.testing.assert_allclose(models.probabilities(logits, rule, (0.0, 1.0))[0], p[0, 1],
                               rtol=1e-5)


def test_space_to_depth_known_answer_and_error():
  x = jnp.arange(4 * 4, dtype=jnp.float32).reshape(1, 1, 4, 4, 1)
  out = np.asarray(models.space_to_depth(x, 2))
  assert out.shape == (1, 1, 2, 2, 4)
  np.testing.assert_array_equal(out[0, 0, 0, 0], [0, 1, 4, 5])  # the top-left 2x2 block
  np.testing.assert_array_equal(out[0, 0, 1, 1], [10, 11, 14, 15])
  with pytest.raises(ValueError, match="divisible.*6x4"):
    models.space_to_depth(jnp.zeros((1, 1, 6, 4, 1)), 4)


def test_space_to_depth_runs_a_larger_clip_at_the_smaller_clips_cost():
  cfg = config_lib.ModelConfig(width_factor=1 / 64, shared_widths=(64,), dense=(8,), dropout=0.0,
                               raw_input="changes", motion_path_grid=2, fusion="late",
                               space_to_depth=2)
  big = models.TwoStream3DCNN(cfg, 3)
  raw = jax.random.normal(jax.random.key(1), (2, 4, 16, 16, 1))
  sal = jax.random.normal(jax.random.key(2), (2, 4, 16, 16, 3))
  params = big.init(jax.random.key(0), raw, sal, train=False)["params"]
  small = models.TwoStream3DCNN(dataclasses.replace(cfg, space_to_depth=1), 3)
  small_params = small.init(jax.random.key(0), raw[:, :, :8, :8], sal[:, :, :8, :8],
                            train=False)["params"]
  shapes = lambda p: {"/".join(k): v.shape for k, v in flax.traverse_util.flatten_dict(p).items()}  # noqa: E731
  big_shapes, small_shapes = shapes(params), shapes(small_params)
  differ = {k for k in big_shapes if big_shapes[k] != small_shapes[k]}
  # Only the first convolutions' input channels grow (x4); the rest is the 8x8 network's.
  assert differ and all(k.endswith("stream/Conv3D_0/kernel") for k in differ), differ
  for k in differ:
    assert big_shapes[k][-2] == 4 * small_shapes[k][-2]
  # Every stored pixel reaches the output: one changed pixel changes the logits.
  apply = lambda r: big.apply({"params": params}, r, sal, train=False)  # noqa: E731
  assert not np.allclose(apply(raw.at[:, 1, 15, 15, 0].add(5.0)), apply(raw), atol=1e-4)


def test_golden_parameter_count_of_the_experiment_model():
  """A change to the default model shows up here, to be updated on purpose: 274,018 parameters
  for 6 classes at the stored 16x64x64 grey clips with 3-channel ststnet saliency."""
  import sys
  from pathlib import Path
  sys.path.insert(0, str(Path(__file__).parent.parent / "experiments"))
  import two_stream
  model = models.TwoStream3DCNN(two_stream.get_config().model, 6)
  raw, sal = jnp.zeros((1, 16, 64, 64, 1)), jnp.zeros((1, 16, 64, 64, 3))
  params = jax.jit(lambda r, a, b: model.init(r, a, b, train=False)["params"])(
      jax.random.key(0), raw, sal)
  assert models.parameter_count(params) == 274_018
