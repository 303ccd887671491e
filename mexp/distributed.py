"""Multi-process JAX (several hosts, or several processes on one): start-up and who writes.

Every process runs the same program on the same config; `jax.distributed` joins their devices
into one global ('data',) mesh. Folds, shuffles and class weights are derived from the config,
so all processes agree on them; each process feeds only its own rows of every global batch
(input_pipeline.shard_batch). Orbax saves and restores are collective: every process takes part.
Everything else in a workdir (config.json, metrics.jsonl, predictions.json, results.json, plots)
is written by process 0 alone, and the others learn its outcome through `agree`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os

# Each flag's environment variable (JAX itself reads only JAX_COORDINATOR_ADDRESS).
ENV = {"coordinator_address": "JAX_COORDINATOR_ADDRESS", "num_processes": "JAX_NUM_PROCESSES",
       "process_id": "JAX_PROCESS_ID"}


@dataclasses.dataclass(frozen=True)
class Launch:
  """How this process joins the others; `auto`: let JAX detect SLURM, Open MPI or a Cloud TPU."""
  coordinator_address: str | None = None
  num_processes: int | None = None
  process_id: int | None = None
  auto: bool = False

  @property
  def multi(self) -> bool:
    return self.auto or self.num_processes is not None


def add_flags(parser: argparse.ArgumentParser) -> None:
  """--coordinator_address, --num_processes, --process_id and --distributed_auto."""
  group = parser.add_argument_group("multi-process (default: one process)")
  group.add_argument("--coordinator_address", default=None,
                     help=f"host:port of process 0 (or ${ENV['coordinator_address']})")
  group.add_argument("--num_processes", type=int, default=None,
                     help=f"processes in the run (or ${ENV['num_processes']})")
  group.add_argument("--process_id", type=int, default=None,
                     help=f"this process, 0..num_processes-1 (or ${ENV['process_id']})")
  group.add_argument("--distributed_auto", action="store_true",
                     help="let jax.distributed detect the cluster (SLURM, Open MPI, Cloud TPU)")


def launch_from(args: argparse.Namespace, environ=os.environ) -> Launch:
  """The Launch that flags (first) or environment variables describe; ValueError naming a flag."""
  values = {}
  for key, var in ENV.items():
    value = getattr(args, key, None)
    if value is None and environ.get(var):
      value = environ[var]
      if key != "coordinator_address":
        try:
          value = int(value)
        except ValueError:
          raise ValueError(f"${var} {value!r}: expected an integer") from None
    values[key] = value
  launch = Launch(**values, auto=bool(getattr(args, "distributed_auto", False)))
  given = [f"--{k}" for k, v in values.items() if v is not None]
  if launch.auto:
    if given:
      raise ValueError(f"--distributed_auto detects the cluster; drop {', '.join(given)}")
    return launch
  if given and len(given) < 3:
    missing = [f"--{k}" for k, v in values.items() if v is None]
    raise ValueError(f"a multi-process run needs --coordinator_address, --num_processes and "
                     f"--process_id; missing {', '.join(missing)}")
  if given:
    if launch.num_processes < 1:
      raise ValueError(f"--num_processes {launch.num_processes}: must be >= 1")
    if not 0 <= launch.process_id < launch.num_processes:
      raise ValueError(f"--process_id {launch.process_id}: must be in 0..{launch.num_processes - 1}")
  return launch


def initialize(launch: Launch) -> None:
  """Joins the other processes; call before any other JAX call. Nothing for one process."""
  if not launch.multi:
    return
  import jax
  # CPU processes need a collectives library to talk to each other; GPUs and TPUs bring their own.
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  if launch.auto:
    jax.distributed.initialize()
  else:
    jax.distributed.initialize(launch.coordinator_address, num_processes=launch.num_processes,
                               process_id=launch.process_id)


def is_writer() -> bool:
  """Whether this process writes the workdir's files (process 0)."""
  import jax
  return jax.process_index() == 0


def agree(value: int) -> int:
  """Process 0's integer, in every process (a collective: every process must call it)."""
  import jax
  if jax.process_count() == 1:
    return int(value)
  import numpy as np
  from jax.experimental import multihost_utils
  return int(multihost_utils.broadcast_one_to_all(np.int32(value)))
