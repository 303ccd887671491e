"""Builds a registered dataset without `tfds build` (which needs TensorFlow and Beam)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import tensorflow_datasets as tfds

from mexp.datasets import builder as builder_lib
from mexp.io import files
from mexp.io import frames as frames_io
from mexp.io import sheets
from mexp.preprocess import face

REPORT = "build_report.json"
# What a build reports as a one-line error instead of a traceback.
INPUT_ERRORS = (sheets.SheetError, builder_lib.BuildError, frames_io.FrameReadError,
                face.NoFaceError, FileNotFoundError, FileExistsError)


def quiet_tfds_logs() -> None:
  """Entry points only: hide TFDS's absl warnings (e.g. about the folder it is about to write)."""
  logging.getLogger("absl").setLevel(logging.ERROR)


def build(name: str, *, manual_dir: str | os.PathLike, data_dir: str | os.PathLike | None = None,
          config: str | None = None, skip_invalid: bool = False,
          overwrite: bool = False) -> tuple[tfds.core.DatasetBuilder, str]:
  """Builds (or reuses) `name` from a manual folder, atomically.

  Args:
    name: a registered builder ('casme2', 'casme').
    manual_dir: the licensed (or synthetic) folder.
    data_dir: where datasets live; TFDS's default when None.
    config: a builder config name; the builder's default when None.
    skip_invalid: skip and list unusable rows instead of failing.
    overwrite: rebuild even when a finished build exists.

  Returns:
    (the builder, the build summary). The summary is also saved as build_report.json beside
    the dataset, and read back from there when the build is reused.
  """
  import mexp.datasets  # noqa: F401  (registers the builders)

  manual_dir = Path(manual_dir)
  if not manual_dir.is_dir():
    raise FileNotFoundError(f"{manual_dir}: no such manual folder")
  kwargs = {"config": config} if config else {}
  dataset = tfds.builder(name, data_dir=data_dir, file_format="array_record",
                         skip_invalid=skip_invalid, **kwargs)
  report_path = Path(dataset.data_dir) / REPORT
  if dataset.is_prepared() and not overwrite:
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    built_from = report.get("manual_dir")
    if built_from and Path(built_from).resolve() != manual_dir.resolve():
      raise FileExistsError(f"{dataset.data_dir} was built from {built_from}, not {manual_dir}; "
                            "use another --data_dir, or --overwrite to rebuild it")
    return dataset, f"reused {dataset.data_dir}\n{report.get('summary', '(no build report)')}"
  mode = (tfds.download.GenerateMode.FORCE_REDOWNLOAD if overwrite
          else tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS)
  # TFDS writes into an `incomplete.*` folder and renames it only on success.
  dataset.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=str(manual_dir), download_mode=mode))
  summary = builder_lib.summarise(dataset.written, dataset.skipped)
  header = (f"sheet {dataset.sheet_report.sheet}\nframes {dataset.sheet_report.tree}"
            if dataset.sheet_report else "")
  summary = f"{header}\n{summary}".strip()
  files.write_text_atomic(report_path, json.dumps(
      {"manual_dir": str(manual_dir), "summary": summary, "skipped": dataset.skipped,
       "samples": dataset.written}, indent=1))
  return dataset, f"built {dataset.data_dir}\n{summary}"


def prepare(data) -> tuple[tfds.core.DatasetBuilder, str]:
  """Builds the dataset a DataConfig names, generating the synthetic folder first if needed."""
  manual_dir = data.manual_dir
  if manual_dir is None:
    from mexp import synthetic
    manual_dir = Path(data.synthetic_dir)
    if not (manual_dir / "CASME2-coding-synthetic.xlsx").exists():
      synthetic.generate(manual_dir, subjects=data.synthetic_subjects, seed=data.synthetic_seed,
                         progress=True)
  from mexp import config as config_lib
  return build(data.dataset, manual_dir=manual_dir, data_dir=config_lib.data_dir_of(data),
               config=data.builder_config, skip_invalid=data.skip_invalid)
