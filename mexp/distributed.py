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
import socket
import time

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
  timeout: int = 60  # seconds to wait for every process to join

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
  group.add_argument("--distributed_timeout", type=int, default=60,
                     help="seconds to wait for every process to join (default 60)")


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
  timeout = getattr(args, "distributed_timeout", 60)
  if not isinstance(timeout, int) or timeout < 1:
    raise ValueError(f"--distributed_timeout {timeout}: must be a whole number of seconds >= 1")
  launch = Launch(**values, auto=bool(getattr(args, "distributed_auto", False)), timeout=timeout)
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
    check_address(launch.coordinator_address)
    if launch.num_processes < 1:
      raise ValueError(f"--num_processes {launch.num_processes}: must be >= 1")
    if not 0 <= launch.process_id < launch.num_processes:
      raise ValueError(f"--process_id {launch.process_id}: must be in 0..{launch.num_processes - 1}")
  return launch


def check_address(address: str) -> None:
  """ValueError unless `address` is host:port with a port in 1..65535."""
  host, _, port = address.rpartition(":")
  if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
    raise ValueError(f"--coordinator_address {address!r}: expected host:port, e.g. "
                     "10.0.0.1:1234 (the port process 0 listens on, 1..65535)")


def _clusters_found() -> tuple[list[str], list[str]]:
  """(the cluster kinds jax.distributed can detect, those whose environment is present)."""
  try:
    from jax._src import clusters
    kinds = list(clusters.ClusterEnv._cluster_types)
  except (ImportError, AttributeError):  # another JAX: let it decide
    return [], []
  return ([k.__name__.removesuffix("Cluster") for k in kinds],
          [k.__name__ for k in kinds if k.is_env_present()])


def _rendezvous(launch: Launch) -> None:
  """Every process checks in with process 0 on the coordinator's port before JAX starts there:
  JAX itself waits in native code and aborts the process (no Python error) when a peer never
  comes, and hangs or aborts on a process id given twice. Here either is one ValueError naming
  the address and the missing or doubled ids."""
  host, _, port = launch.coordinator_address.rpartition(":")
  deadline = time.monotonic() + launch.timeout
  where = f"{launch.coordinator_address}: "
  if launch.process_id == 0:
    try:
      server = socket.create_server(("", int(port)))
    except OSError as e:
      raise ValueError(f"{where}process 0 cannot listen on port {port} ({e.strerror}); is another "
                       "process 0 running, or the port taken?") from None
    joined = {}
    try:
      while len(joined) < launch.num_processes - 1:
        server.settimeout(max(0.01, deadline - time.monotonic()))
        try:
          conn, _ = server.accept()
        except socket.timeout:
          missing = sorted(set(range(1, launch.num_processes)) - set(joined))
          raise ValueError(f"{where}process(es) {', '.join(map(str, missing))} did not join "
                           f"within {launch.timeout} s (--distributed_timeout)") from None
        conn.settimeout(5)
        text = conn.recv(64).decode(errors="replace").strip()
        other = int(text) if text.isdigit() else None
        if other in joined or other == 0:
          conn.sendall(b"taken\n")
          conn.close()
          raise ValueError(f"{where}--process_id {other} was given to two processes; give each "
                           "process its own id")
        joined[other] = conn
      for conn in joined.values():
        conn.sendall(b"go\n")
      for conn in joined.values():  # the peers close first, so the port is free for JAX
        conn.recv(8)
    finally:
      for conn in joined.values():
        conn.close()
      server.close()
    return
  while True:
    try:
      conn = socket.create_connection((host, int(port)), timeout=1)
      break
    except OSError:
      if time.monotonic() > deadline:
        raise ValueError(f"{where}process 0 did not answer within {launch.timeout} s "
                         f"(this is process {launch.process_id}); is it running, at this "
                         "address?") from None
      time.sleep(0.2)
  with conn:
    conn.sendall(f"{launch.process_id}\n".encode())
    conn.settimeout(max(1.0, deadline - time.monotonic() + 5))
    try:
      answer = conn.recv(16).decode(errors="replace").strip()
    except socket.timeout:
      answer = ""
  if answer == "taken":
    raise ValueError(f"{where}--process_id {launch.process_id} was given to two processes; give "
                     "each process its own id")
  if answer != "go":
    raise ValueError(f"{where}not every process joined within {launch.timeout} s (this is "
                     f"process {launch.process_id}; process 0's output says which)")


def initialize(launch: Launch) -> None:
  """Joins the other processes; call before any other JAX call. Nothing for one process.

  Raises:
    ValueError: one line, when no cluster is found for --distributed_auto, a process id is given
      twice, or the processes do not all join within `launch.timeout` seconds.
  """
  if not launch.multi:
    return
  import jax
  if launch.auto:
    kinds, present = _clusters_found()
    if kinds and not present:
      raise ValueError(f"--distributed_auto: no cluster found (looked for {', '.join(kinds)} "
                       "environments); give --coordinator_address, --num_processes and "
                       "--process_id instead")
  else:
    _rendezvous(launch)
  # CPU processes need a collectives library to talk to each other; GPUs and TPUs bring their own.
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  if launch.auto:
    jax.distributed.initialize(initialization_timeout=launch.timeout)
  else:
    jax.distributed.initialize(launch.coordinator_address, num_processes=launch.num_processes,
                               process_id=launch.process_id, initialization_timeout=launch.timeout)


def same_config(config_dict: dict) -> None:
  """ValueError naming the fields where the processes' configs differ (every process must call
  it, before anything is written); nothing for one process."""
  import jax
  if jax.process_count() == 1:
    return
  import json
  import zlib
  import numpy as np
  from jax.experimental import multihost_utils

  def leaves(d, prefix=""):
    for k, v in sorted(d.items()):
      yield from leaves(v, f"{prefix}{k}.") if isinstance(v, dict) else [(f"{prefix}{k}", v)]
  names, values = zip(*leaves(config_dict))
  digest = np.array([zlib.crc32(json.dumps(v, sort_keys=True).encode()) for v in values],
                    np.uint32).view(np.int32)
  every = np.asarray(multihost_utils.process_allgather(digest))
  differ = [n for n, column in zip(names, every.T) if len(set(column.tolist())) > 1]
  if differ:
    raise ValueError(f"the {every.shape[0]} processes were given different configs ("
                     f"{', '.join(differ)}); start every process with the same flags")


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
