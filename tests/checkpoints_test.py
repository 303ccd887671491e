import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec as P

from mexp import checkpoints
from mexp import input_pipeline as pipeline


def _tree(scale: float):
  """A small replicated pytree like the training state: floats, an int step, nested dicts."""
  tree = {"params": {"kernel": jnp.arange(6000, dtype=jnp.float32).reshape(60, 100) * scale,
                     "bias": jnp.full(7, scale, jnp.float32)},
          "step": jnp.array(int(scale), jnp.int32), "epoch_sums": np.arange(4, dtype=np.float32)}
  return jax.device_put(tree, NamedSharding(pipeline.data_mesh(), P()))


def _save_steps(directory, steps=(1, 2)):
  mngr = checkpoints.manager(directory)
  for step in steps:
    checkpoints.save(mngr, step, _tree(step))
  mngr.close()


def _restore(directory, target=None):
  mngr = checkpoints.manager(directory)
  try:
    return checkpoints.restore_latest(mngr, _tree(0) if target is None else target)
  finally:
    mngr.close()


def _data_files(directory, step):
  files = sorted(p for p in (directory / str(step)).glob("default/ocdbt.process_*/d/*"))
  assert files, f"no Orbax data files under {directory / str(step)}"
  return files


def _xor(directory, step):
  """XORs up to 4 KB in the middle of each data file, as the issue's author did."""
  for path in _data_files(directory, step):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, min(len(data), middle + 4096)):
      data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(directory, step):
  for path in _data_files(directory, step):
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


def _assert_equal(a, b):
  for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
    np.testing.assert_array_equal(x, y)


def test_round_trip_records_the_files_checksums(tmp_path, capsys):
  _save_steps(tmp_path)
  restored, step = _restore(tmp_path)
  assert step == 2
  _assert_equal(restored, _tree(2))
  recorded = json.loads((tmp_path / "2" / checkpoints.CHECKSUMS).read_text())
  data = {p.relative_to(tmp_path / "2").as_posix() for p in _data_files(tmp_path, 2)}
  assert data <= recorded.keys() and "default/_METADATA" in recorded
  assert recorded == checkpoints.file_digests(tmp_path / "2")
  assert capsys.readouterr().err == ""


def test_no_checkpoint_gives_the_target(tmp_path):
  target = _tree(0)
  restored, step = _restore(tmp_path / "empty", target)
  assert step == 0 and restored is target


@pytest.mark.parametrize("damage", [_xor, _truncate])
def test_damaged_latest_falls_back_to_the_previous_step(tmp_path, capsys, damage):
  _save_steps(tmp_path)
  damage(tmp_path, 2)
  restored, step = _restore(tmp_path)
  assert step == 1
  _assert_equal(restored, _tree(1))
  (line,) = capsys.readouterr().err.strip().splitlines()
  assert line.startswith(f"warning: {tmp_path}: step 2 is damaged (") and \
      line.endswith("; using step 1")
  # Training resumed from step 1 saves step 2 again over the damaged one.
  mngr = checkpoints.manager(tmp_path)
  checkpoints.save(mngr, 2, _tree(2))
  mngr.close()
  restored, step = _restore(tmp_path)
  assert step == 2
  _assert_equal(restored, _tree(2))
  assert capsys.readouterr().err == ""


def test_every_step_damaged_is_a_one_line_error(tmp_path, capsys):
  _save_steps(tmp_path)
  _xor(tmp_path, 2)
  _truncate(tmp_path, 1)
  with pytest.raises(checkpoints.CheckpointError) as e:
    _restore(tmp_path)
  message = str(e.value)
  assert len(message.splitlines()) == 1
  assert message.startswith(f"{tmp_path}: no usable checkpoint: step 2 is damaged (")
  assert "step 1 is damaged (" in message and "rerun the experiment" in message
  assert capsys.readouterr().err == ""


def test_non_finite_saved_state_is_damaged(tmp_path):
  mngr = checkpoints.manager(tmp_path)
  tree = _tree(1)
  tree["params"]["bias"] = tree["params"]["bias"].at[3].set(jnp.nan)
  checkpoints.save(mngr, 1, tree)
  mngr.close()
  with pytest.raises(checkpoints.CheckpointError,
                     match=r"step 1 is damaged \(non-finite values in \['params'\]\['bias'\]\)"):
    _restore(tmp_path)


def test_the_damaged_file_is_named(tmp_path):
  _save_steps(tmp_path, steps=(1,))
  (path, *_) = _data_files(tmp_path, 1)
  path.write_bytes(path.read_bytes()[:-1] + bytes([path.read_bytes()[-1] ^ 1]))  # one bit
  name = path.relative_to(tmp_path / "1").as_posix()
  with pytest.raises(checkpoints.CheckpointError,
                     match=f"step 1 is damaged \\({name} differs from its checksum\\)"):
    _restore(tmp_path)


def test_a_checkpoint_without_checksums_is_accepted_when_finite(tmp_path):
  _save_steps(tmp_path, steps=(1,))
  (tmp_path / "1" / checkpoints.CHECKSUMS).unlink()  # as older runs saved
  restored, step = _restore(tmp_path)
  assert step == 1
  _assert_equal(restored, _tree(1))


def test_a_failed_read_is_damage(tmp_path, monkeypatch):
  _save_steps(tmp_path, steps=(1,))
  (tmp_path / "1" / checkpoints.CHECKSUMS).unlink()  # no checksums: only Orbax's read can tell

  def restore(*_, **__):  # what Orbax raises on a truncated file (its other reads stay noisy)
    raise Exception("Encountered error while reading array index") from ValueError(
        "OUT_OF_RANGE: Error reading \"params.kernel/0.0\"\nmore lines")
  monkeypatch.setattr(checkpoints.ocp.CheckpointManager, "restore", restore)
  with pytest.raises(checkpoints.CheckpointError,
                     match=r"step 1 is damaged \(ValueError: OUT_OF_RANGE: Error reading "
                           r"\"params.kernel/0.0\"\);"):
    _restore(tmp_path)


def test_another_structure_is_a_mismatch_not_damage(tmp_path):
  _save_steps(tmp_path, steps=(1,))
  target = _tree(0)
  target["params"]["bias"] = jnp.zeros(8, jnp.float32)
  with pytest.raises(ValueError, match=r"params/bias is \(7,\) in the checkpoint but \(8,\)") as e:
    _restore(tmp_path, target)
  assert not isinstance(e.value, checkpoints.CheckpointError)
