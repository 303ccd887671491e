"""The experiment driver behind experiments/*.py: flags -> data -> cross-validation -> report."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from mexp import config as config_lib
from mexp import config_io, databases, distributed, labels


EPILOG = """Any config field is set by its dotted path, e.g. --config.optim.epochs=60
--config.data.folds=5 --config.model.late_weights='(0.3,0.7)' (mexp/config.py lists them)."""


# A short flag's dest -> the field it sets.
ALIASES = {flag.removeprefix("--"): path for path, flag in config_lib.ALIASES.items()} | {
    "no_final_model": "final_model"}


def _parser(description: str) -> argparse.ArgumentParser:
  """The short flags: aliases of the fields typed daily, the variant and the launch."""
  parser = argparse.ArgumentParser(description=description, epilog=EPILOG, allow_abbrev=False,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--variant", default=None, help="the experiment's get_config(variant)")
  parser.add_argument("--dataset", default=None, help="--config.data.dataset: a builder (casme2, "
                      "samm, smic, ...), several joined by ',', or megc2019")
  parser.add_argument("--manual_dir", default=None,
                      help="--config.data.manual_dir: the licensed folder, or "
                      "'casme2=DIR,samm=DIR,...' (default: the synthetic twins, generated once)")
  parser.add_argument("--data_dir", default=None, help="--config.data.data_dir: where built "
                      "datasets live (default data/tfds, data/tfds_synthetic)")
  parser.add_argument("--workdir", default=None, help="--config.workdir")
  parser.add_argument("--no_final_model", action="store_const", const=False,
                      help="--config.final_model=false: skip the all-subjects model that "
                      "predict/stream use")
  parser.add_argument("--seeds", default=None, help="run once per seed (e.g. 0,1,2), each in "
                      "WORKDIR/seed_S, and report each metric as mean +- sd over the seeds")
  distributed.add_flags(parser)  # read by launch_from_argv; listed here for --help
  return parser


def default_task(task: str, dataset: str, test_dataset: str | None) -> str:
  """The experiment's task, or megc3 where a database read lacks one of its classes."""
  names = config_lib.datasets_of(config_lib.DataConfig(dataset=dataset, test_dataset=test_dataset))
  rows = [databases.ROWS[n] for n in names if n in databases.ROWS]  # the rest: validate says
  classes = set(labels.task_classes(task)) if task in labels.TASKS else set()
  return task if all(classes <= set(row.emotions) for row in rows) else "megc3"


def config_from_argv(get_config, argv=None, description: str = ""):
  """get_config(--variant), then the short flags, then every --config.PATH=VALUE.

  Returns:
    (the config, the variant or None); config.overrides lists what the command line changed.

  Raises:
    ValueError: one line naming the flag, for an unknown variant, field or unparsable value.
  """
  config, given, args = config_io.from_argv(
      lambda args: get_config(args.variant) if args.variant else get_config(), argv,
      _parser(description), ALIASES)
  if "data.task" not in given:
    config = config_io.replace(config, "data.task", default_task(
        config.data.task, config.data.dataset, config.data.test_dataset))
  return dataclasses.replace(config, overrides=tuple(
      f"{config_lib.flag(path)}={value}" for path, value in given.items())), args.variant


def seeds_from_argv(argv=None) -> tuple[int, ...] | None:
  """--seeds '0,1,2' -> (0, 1, 2); None without the flag."""
  parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
  parser.add_argument("--seeds", default=None)
  text = parser.parse_known_args(argv)[0].seeds
  if text is None:
    return None
  try:
    seeds = tuple(int(s) for s in text.split(","))
  except ValueError:
    seeds = ()
  if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
    raise ValueError(f"--seeds {text!r}: expected seeds >= 0 joined by ',', each once "
                     "(e.g. 0,1,2)")
  return seeds


def _per_seed(config: config_lib.Config, seeds) -> dict:
  """seed -> the config of that seed's run: the same experiment in WORKDIR/seed_S."""
  if seeds is None:
    return {config.seed: config}
  return {s: dataclasses.replace(config, seed=s, workdir=f"{config.workdir}/seed_{s}")
          for s in seeds}


def launch_from_argv(argv=None) -> distributed.Launch:
  """The multi-process flags (or their environment variables) of a command line."""
  parser = argparse.ArgumentParser(add_help=False)
  distributed.add_flags(parser)
  known, _ = parser.parse_known_args(argv)
  return distributed.launch_from(known)


def _prepare(config: config_lib.Config) -> dict[str, str]:
  """Process 0 builds (or checks) the datasets first; the others then reuse them."""
  from mexp.datasets import build as build_lib
  summary, error = {}, None
  if distributed.is_writer():
    try:
      summary = build_lib.prepare_all(config.data)
    except Exception as e:  # noqa: BLE001 - re-raised below, after the others heard of it
      error = e
  if not distributed.agree(error is None):
    raise error or ValueError("process 0 could not prepare the data (its output says why)")
  if not summary:
    summary = build_lib.prepare_all(config.data)
  return summary


def main(get_config, argv=None, description: str = "", probe_only: bool = False) -> int:
  """Parses flags, prepares the data, cross-validates and prints the report; 2 on bad input.

  Args:
    get_config: the experiment's get_config(variant); `--variant NAME` picks the variant.
    argv: the command line (sys.argv[1:] when None).
    description: for --help.
    probe_only: run only the floor (the linear probe), not the deep model.
  """
  try:
    config, _ = config_from_argv(get_config, argv, description)
    seeds = seeds_from_argv(argv)
    distributed.initialize(launch_from_argv(argv))  # before any other JAX call
  except ValueError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  import jax
  from mexp import checkpoints, evaluate, input_pipeline, report, train
  from mexp.datasets import build as build_lib
  build_lib.quiet_tfds_logs()
  # Orbax logs a failed save's traceback at ERROR before it re-raises here, where it is reported.
  logging.getLogger("absl").setLevel(logging.CRITICAL)
  try:
    runs = _per_seed(config, seeds)
    for each in runs.values():  # before any build
      config_lib.validate(each, 1 if probe_only else jax.device_count())
    # Every process, before any write; how each command line spelled it does not matter.
    distributed.same_config(dataclasses.asdict(dataclasses.replace(config, overrides=())))
    summary = _prepare(config)
    if distributed.is_writer():
      for name, text in summary.items():
        print(text.splitlines()[0] if len(summary) == 1 else f"{name}: {text.splitlines()[0]}")
    clips = input_pipeline.load(config.data)
    for seed, each in runs.items():
      if probe_only:  # no JAX collectives: process 0 alone
        results = evaluate.probe_only(each, clips) if distributed.is_writer() else {}
      else:
        results = evaluate.cross_validate(each, clips)
      if distributed.is_writer():
        print(report.table(results))
        print(f"wrote {each.workdir}/results.json, report.html, confusion.png"
              + ("" if probe_only else ", curves.png"))
      runs[seed] = results
  except (*build_lib.INPUT_ERRORS, evaluate.WorkdirMismatchError, train.NonFiniteLossError,
          checkpoints.CheckpointError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  except OSError as e:  # a write failed: read-only workdir, disk full, ...
    print(f"error: {e.filename or config.workdir}: {e.strerror or e}; check that it is writable "
          "and the disk has space, then rerun the same command: it resumes", file=sys.stderr)
    return 2
  if seeds is not None and distributed.is_writer():
    summary = report.over_seeds(runs)
    report.write_json(Path(config.workdir) / "seeds.json", summary)
    print(report.seeds_table(summary))
    print(f"wrote {config.workdir}/seeds.json")
  return 0
