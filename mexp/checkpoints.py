"""Orbax checkpoints: one manager per fold, restores always into a target structure."""

from __future__ import annotations

import os
from pathlib import Path

import orbax.checkpoint as ocp


def manager(directory: str | os.PathLike, max_to_keep: int = 2) -> ocp.CheckpointManager:
  """A synchronous manager: a save is complete (renamed into place by Orbax) when save returns."""
  return ocp.CheckpointManager(
      Path(directory).absolute(),
      options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                           enable_async_checkpointing=False))


def save(mngr: ocp.CheckpointManager, step: int, pytree) -> None:
  mngr.save(step, args=ocp.args.StandardSave(pytree), force=True)
  mngr.wait_until_finished()


def restore_latest(mngr: ocp.CheckpointManager, target):
  """(the latest checkpoint restored into `target`'s structure, shardings and dtypes, its step),
  or (target, 0) when there is none. The target keeps the optax state's structure intact."""
  step = mngr.latest_step()
  if step is None:
    return target, 0
  return mngr.restore(step, args=ocp.args.StandardRestore(target)), step
