"""The experiment driver behind experiments/*.py: flags -> data -> cross-validation -> report."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from mexp import config as config_lib
from mexp import distributed


def apply_flags(config: config_lib.Config, argv=None, description: str = "") -> config_lib.Config:
  """The few overrides every experiment takes on the command line."""
  parser = argparse.ArgumentParser(description=description)
  parser.add_argument("--variant", default=None, help="the experiment's get_config(variant)")
  parser.add_argument("--dataset", default=config.data.dataset,
                      help="a builder (casme2, samm, smic, ...), several joined by ',', or megc2019")
  parser.add_argument("--test_dataset", default=config.data.test_dataset,
                      help="cross-database: train on --dataset, test on this (no folds)")
  parser.add_argument("--manual_dir", default=None,
                      help="the licensed folder, or 'casme2=DIR,samm=DIR,...' for several "
                      "(default: the synthetic twins, generated once)")
  parser.add_argument("--synthetic_subjects", type=int, default=config.data.synthetic_subjects,
                      help="subjects of each synthetic twin (only without --manual_dir)")
  parser.add_argument("--synthetic_seed", type=int, default=config.data.synthetic_seed)
  parser.add_argument("--workdir", default=config.workdir)
  parser.add_argument("--data_dir", default=config.data.data_dir,
                      help="where built datasets live (default data/tfds, data/tfds_synthetic)")
  parser.add_argument("--builder_config", default=config.data.builder_config)
  parser.add_argument("--task", default=None,
                      help=f"seed6, casme2_5 or megc3 (default {config.data.task}; megc3 with "
                      "megc2019 or a union with samm or smic)")
  parser.add_argument("--folds", default=config.data.folds, help="'loso' or a number of folds")
  parser.add_argument("--val_subjects", type=int, default=config.data.val_subjects)
  parser.add_argument("--score_on", default=config.data.score_on,
                      help="'test', or 'validation' (each fold's validation subjects; for tuning)")
  parser.add_argument("--epochs", type=int, default=config.optim.epochs)
  parser.add_argument("--batch_size", type=int, default=config.optim.batch_size)
  parser.add_argument("--learning_rate", type=float, default=config.optim.learning_rate)
  parser.add_argument("--width_factor", type=float, default=config.model.width_factor)
  parser.add_argument("--seed", type=int, default=config.seed)
  parser.add_argument("--no_final_model", action="store_true",
                      help="skip the all-subjects model that predict/stream use")
  distributed.add_flags(parser)  # read by launch_from_argv; listed here for --help
  args = parser.parse_args(argv)
  return dataclasses.replace(
      config, workdir=args.workdir, seed=args.seed,
      final_model=config.final_model and not args.no_final_model,
      data=dataclasses.replace(config.data, dataset=args.dataset, test_dataset=args.test_dataset,
                               manual_dir=args.manual_dir, data_dir=args.data_dir,
                               synthetic_subjects=args.synthetic_subjects,
                               synthetic_seed=args.synthetic_seed,
                               builder_config=args.builder_config,
                               task=args.task or default_task(config.data.task, args.dataset,
                                                              args.test_dataset),
                               folds=args.folds, val_subjects=args.val_subjects,
                               score_on=args.score_on),
      optim=dataclasses.replace(config.optim, epochs=args.epochs, batch_size=args.batch_size,
                                learning_rate=args.learning_rate),
      model=dataclasses.replace(config.model, width_factor=args.width_factor))


def default_task(task: str, dataset: str, test_dataset: str | None) -> str:
  """The experiment's task, or megc3 where its classes do not exist in every database read."""
  names = config_lib.datasets_of(config_lib.DataConfig(dataset=dataset, test_dataset=test_dataset))
  return "megc3" if set(names) - {"casme2", "casme"} else task


def config_from_argv(get_config, argv=None, description: str = ""):
  """get_config(--variant) with the command line's overrides; (config, the variant)."""
  parser = argparse.ArgumentParser(add_help=False)
  parser.add_argument("--variant", default=None)
  known, rest = parser.parse_known_args(argv)
  config = get_config(known.variant) if known.variant else get_config()
  return apply_flags(config, rest, description), known.variant


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
  config, _ = config_from_argv(get_config, argv, description)
  try:
    distributed.initialize(launch_from_argv(argv))  # before any other JAX call
  except ValueError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  import jax
  from mexp import checkpoints, evaluate, input_pipeline, train
  from mexp.datasets import build as build_lib
  build_lib.quiet_tfds_logs()
  # Orbax logs a failed save's traceback at ERROR before it re-raises here, where it is reported.
  logging.getLogger("absl").setLevel(logging.CRITICAL)
  try:
    config_lib.validate(config, 1 if probe_only else jax.device_count())  # before any build
    distributed.same_config(dataclasses.asdict(config))  # every process, before any write
    summary = _prepare(config)
    if distributed.is_writer():
      for name, text in summary.items():
        print(text.splitlines()[0] if len(summary) == 1 else f"{name}: {text.splitlines()[0]}")
    clips = input_pipeline.load(config.data)
    if probe_only:  # no JAX collectives: process 0 alone
      results = evaluate.probe_only(config, clips) if distributed.is_writer() else {}
    else:
      results = evaluate.cross_validate(config, clips)
  except (*build_lib.INPUT_ERRORS, evaluate.WorkdirMismatchError, train.NonFiniteLossError,
          checkpoints.CheckpointError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  except OSError as e:  # a write failed: read-only workdir, disk full, ...
    print(f"error: {e.filename or config.workdir}: {e.strerror or e}; check that it is writable "
          "and the disk has space, then rerun the same command: it resumes", file=sys.stderr)
    return 2
  if not distributed.is_writer():
    return 0
  print(evaluate.table(results))
  print(f"wrote {config.workdir}/results.json, confusion.png"
        + ("" if probe_only else ", curves.png"))
  return 0
