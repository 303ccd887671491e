"""Orbax checkpoints: one manager per fold, restores always into a target structure, verified.

Each save records the sha256 of every file Orbax wrote for the step in `<step>/CHECKSUMS.json`.
A restore checks those files before Orbax reads them (Orbax fails noisily on corrupt data and may
decode flipped bytes into wrong values), checks that the structure matches the target, and
rejects restored values that are not finite. The newest step that passes is used.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from mexp import distributed
from mexp.io import files

CHECKSUMS = "CHECKSUMS.json"


class CheckpointError(ValueError):
  """No usable checkpoint; the message is the one line the user sees."""


def manager(directory: str | os.PathLike, max_to_keep: int = 2) -> ocp.CheckpointManager:
  """A synchronous manager: a save is complete (renamed into place by Orbax) when save returns."""
  return ocp.CheckpointManager(
      Path(directory).absolute(),
      options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                           enable_async_checkpointing=False),
      item_handlers=ocp.StandardCheckpointHandler())


def _step_dir(mngr: ocp.CheckpointManager, step: int) -> Path:
  return Path(mngr.directory) / str(step)  # manager() keeps Orbax's default step names


def file_digests(step_dir: Path) -> dict[str, str]:
  """sha256 of every file under a step directory but the checksum file, by relative path."""
  digests = {}
  for path in sorted(p for p in step_dir.rglob("*") if p.is_file() and p.name != CHECKSUMS):
    digest = hashlib.sha256()
    with path.open("rb") as f:
      for block in iter(lambda: f.read(1 << 20), b""):
        digest.update(block)
    digests[path.relative_to(step_dir).as_posix()] = digest.hexdigest()
  return digests


def save(mngr: ocp.CheckpointManager, step: int, pytree) -> None:
  """Saves `pytree` at `step` with its files' checksums, replacing a stale step of that number."""
  if step in mngr.all_steps():  # left behind by a damaged run that was resumed from earlier
    mngr.delete(step)
  mngr.save(step, args=ocp.args.StandardSave(pytree), force=True)
  mngr.wait_until_finished()
  if distributed.is_writer():
    step_dir = _step_dir(mngr, step)
    files.write_text_atomic(step_dir / CHECKSUMS, json.dumps(file_digests(step_dir), indent=1))


def _changed_files(step_dir: Path) -> str | None:
  """Which files differ from the checksums recorded at save, or None (also when none recorded)."""
  recorded = step_dir / CHECKSUMS
  if not recorded.exists():  # saved before checksums were recorded: only the values are checked
    return None
  try:
    wanted = dict(json.loads(recorded.read_text()))
  except (ValueError, TypeError, OSError) as e:
    return f"{CHECKSUMS} unreadable: {e}"
  found = file_digests(step_dir)
  bad = [name for name, digest in wanted.items() if found.get(name) != digest]
  if not bad:
    return None
  first = f"{bad[0]} {'differs from its checksum' if bad[0] in found else 'is missing'}"
  return first + (f" (and {len(bad) - 1} more file(s))" if len(bad) > 1 else "")


def _shapes(flat: dict) -> dict:
  return {"/".join(map(str, k)): tuple(getattr(v, "shape", np.shape(v))) for k, v in flat.items()}


def _mismatch(mngr: ocp.CheckpointManager, step: int, target) -> str | None:
  """How the step's stored structure differs from `target`'s, or None."""
  stored = _shapes(ocp.tree.to_flat_dict(mngr.item_metadata(step).tree))
  wanted = _shapes(ocp.tree.to_flat_dict(ocp.tree.serialize_tree(target, keep_empty_nodes=True)))
  for name in sorted(stored.keys() | wanted.keys()):
    if stored.get(name) != wanted.get(name):
      return (f"{name} is {stored.get(name, 'missing')} in the checkpoint but "
              f"{wanted.get(name, 'missing')} in the model")
  return None


def _first_line(e: BaseException) -> str:
  while e.__cause__ is not None:  # the root cause says what is wrong with the bytes
    e = e.__cause__
  return f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:160]}"


def non_finite(tree) -> str | None:
  """'non-finite values in <path>' for the first float leaf holding NaN or inf, else None."""
  for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
    if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
      leaf = leaf.addressable_data(0)  # this process's shard (the state is replicated)
    value = np.asarray(leaf)
    if jnp.issubdtype(value.dtype, jnp.inexact) and not np.isfinite(value).all():
      return f"non-finite values in {jax.tree_util.keystr(path)}"
  return None


def restore_step(mngr: ocp.CheckpointManager, step: int, target):
  """(the step restored into `target`, None) or (None, why it is damaged).

  Raises:
    ValueError: when the step's structure or shapes do not match `target` (another model).
  """
  changed = _changed_files(_step_dir(mngr, step))
  if changed:
    return None, changed
  try:
    mismatch = _mismatch(mngr, step, target)
  except Exception as e:  # noqa: BLE001 - unreadable metadata is damage, whatever Orbax raises
    return None, f"metadata: {_first_line(e)}"
  if mismatch:
    raise ValueError(f"{mngr.directory} step {step}: {mismatch}")
  try:
    restored = mngr.restore(step, args=ocp.args.StandardRestore(target))
  except Exception as e:  # noqa: BLE001 - tensorstore raises bare Exception on corrupt data
    return None, _first_line(e)
  bad = non_finite(restored)
  return (None, bad) if bad else (restored, None)


def restore_latest(mngr: ocp.CheckpointManager, target, *, fall_back: bool = True):
  """(the newest good checkpoint restored into `target`'s structure, shardings and dtypes, its
  step), or (target, 0) when there is none. The target keeps the optax state's structure intact.

  Damaged newer steps are skipped with a one-line warning on stderr (resuming training); with
  fall_back=False only the newest step will do (a deployed model is the finished one).

  Raises:
    CheckpointError: when every step is damaged.
    ValueError: when the checkpoints hold another structure than `target`.
  """
  steps = sorted(mngr.all_steps(), reverse=True)
  if not steps:
    return target, 0
  damaged = []
  for step in steps:
    restored, why = restore_step(mngr, step, target)
    if restored is not None:
      if damaged and distributed.is_writer():
        print(f"warning: {mngr.directory}: {'; '.join(damaged)}; using step {step}",
              file=sys.stderr, flush=True)
      return restored, step
    damaged.append(f"step {step} is damaged ({why})")
    if not fall_back:
      break
  raise CheckpointError(f"{mngr.directory}: no usable checkpoint: {'; '.join(damaged)}; delete "
                        "this folder and rerun the experiment to train it again")
