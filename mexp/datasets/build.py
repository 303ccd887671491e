"""Builds a registered dataset without `tfds build` (which needs TensorFlow and Beam)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import shutil
import sys
import tempfile
import zlib
from pathlib import Path

import tensorflow_datasets as tfds

from mexp import config as config_lib
from mexp import databases
from mexp.datasets import builder as builder_lib
from mexp.datasets import source
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
    name: a registered builder ('casme2', 'casme', 'samm', 'smic', 'casme3', 'mmew', 'casme_sq',
      'casme_sq_all').
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
  try:
    fingerprint = source.fingerprint(manual_dir)
  except OSError as e:
    raise builder_lib.BuildError(f"{e.filename or manual_dir}: cannot read the manual folder "
                                 f"({e.strerror or e})") from None
  kwargs = {"config": config} if config else {}
  dataset = _builder(name, data_dir=data_dir, file_format="array_record",
                     skip_invalid=skip_invalid, **kwargs)
  with _locked(dataset):  # one build of a dataset at a time; a second one then reuses it
    dataset = _builder(name, data_dir=data_dir, file_format="array_record",
                       skip_invalid=skip_invalid, **kwargs)  # what is on disk now
    report_path = Path(dataset.data_dir) / REPORT
    why = "built"
    if dataset.is_prepared() and not overwrite:
      report = json.loads(report_path.read_text()) if report_path.exists() else {}
      built_from, previous = report.get("manual_dir"), report.get("source")
      moved = built_from and Path(built_from).resolve() != manual_dir.resolve()
      if previous == fingerprint:
        note = f" (built from {built_from}; same sheets and frames)" if moved else ""
        return dataset, f"reused {dataset.data_dir}{note}\n{report.get('summary', '')}".rstrip()
      if moved:
        raise FileExistsError(f"{dataset.data_dir} was built from {built_from}, not {manual_dir}, "
                              "whose sheets or frames differ; use another --data_dir, or "
                              "--overwrite to rebuild it")
      changed = source.changes(previous, fingerprint) if previous else [
          "no source fingerprint recorded (built by an older mexp)"]
      why = f"rebuilt ({'; '.join(changed)})"
      overwrite = True
    # TFDS writes into an `incomplete.*` folder and renames it only on success.
    mode = (tfds.download.GenerateMode.FORCE_REDOWNLOAD if overwrite
            else tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS)
    try:
      dataset.download_and_prepare(download_config=tfds.download.DownloadConfig(
          manual_dir=str(manual_dir), download_mode=mode))
    except BaseException as e:
      _clean_failed(dataset)
      # A reader's FileNotFoundError (no sheet, no frame tree) carries no errno: not a write failure.
      if (isinstance(e, OSError) and e.errno is not None) or "No space left on device" in str(e):
        reason = getattr(e, "strerror", None) or str(e).strip().splitlines()[-1]
        full = getattr(e, "errno", None) == errno.ENOSPC or "No space left" in str(e)
        raise builder_lib.BuildError(
            f"{getattr(e, 'filename', None) or dataset.data_dir}: cannot write the dataset "
            f"({reason}); " + ("free space or choose another --data_dir" if full else
                               "choose a writable --data_dir")) from None
      raise
    _remove_stale_incomplete(dataset)
    summary = builder_lib.summarise(dataset.written, dataset.skipped)
    report = dataset.sheet_report
    header = "\n".join([f"sheet {report.sheet or 'none (labels from folder names)'}",
                        f"frames {report.tree}", *report.notes]) if report else ""
    summary = f"{header}\n{summary}".strip()
    files.write_text_atomic(report_path, json.dumps(
        {"manual_dir": str(manual_dir), "source": fingerprint, "summary": summary,
         "skipped": dataset.skipped, "samples": dataset.written}, indent=1))
    return dataset, f"{why} {dataset.data_dir}\n{summary}"


def _builder(name: str, **kwargs) -> tfds.core.DatasetBuilder:
  """tfds.builder, minus the empty temporary folder TFDS leaves behind each time it constructs
  a builder of a dataset not yet built (DatasetInfo.initialize_from_bucket, GCS off or not)."""
  scratch = tempfile.mkdtemp(prefix="mexp-tfds-")
  default, tempfile.tempdir = tempfile.tempdir, scratch
  try:
    return tfds.builder(name, **kwargs)
  finally:
    tempfile.tempdir = default
    shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def _locked(dataset):
  """Holds an exclusive lock on the dataset's version in its data dir (fcntl, released when the
  process ends however it ends); says so when it must wait for another build."""
  root = Path(dataset.data_dir_root)
  config = dataset.builder_config.name if dataset.builder_config else "default"
  path = root / f".{dataset.name}-{config}-{dataset.version}.lock"
  try:
    root.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")
  except OSError as e:
    raise builder_lib.BuildError(f"{e.filename or root}: cannot write the dataset "
                                 f"({e.strerror or e}); choose a writable --data_dir") from None
  with handle:
    try:
      fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
      print(f"waiting for another build of {dataset.name} into {root} to finish", file=sys.stderr,
            flush=True)
      fcntl.flock(handle, fcntl.LOCK_EX)
    yield


def _clean_failed(dataset) -> None:
  """Removes what a failed build left: its incomplete.* folder and every empty folder (a failed
  rebuild also leaves the config folder whose stale version TFDS removed first)."""
  root = Path(dataset.data_dir_root)
  if not root.is_dir():
    return
  _remove_stale_incomplete(dataset)
  for path in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts),
                     reverse=True):
    try:
      path.rmdir()  # only empty ones
    except OSError:
      pass


def _remove_stale_incomplete(dataset) -> None:
  parent = Path(dataset.data_dir).parent
  if parent.is_dir():
    for path in parent.glob(f"incomplete.*"):
      shutil.rmtree(path, ignore_errors=True)


def synthetic_suffix(data: DataConfig) -> str:
  """'' for the default twins (8 subjects, seed 0), else '_4subjects_seed3': other twins get
  other folders, so a twin is never reused for another size or seed."""
  if (data.synthetic_subjects, data.synthetic_seed) == (8, 0):
    return ""
  return f"_{data.synthetic_subjects}subjects_seed{data.synthetic_seed}"


def data_dir_of(data: DataConfig) -> str:
  """Where the built datasets live; the synthetic twins never share a folder with real data."""
  if data.data_dir is not None:
    return data.data_dir
  return "data/tfds" if data.manual_dir else f"data/tfds_synthetic{synthetic_suffix(data)}"


def synthetic_dir(data, name: str) -> tuple[Path, str, int]:
  """(folder, layout, seed) of a database's synthetic twin; each layout gets its own faces."""
  layout = databases.ROWS[name].twin
  if layout is None:
    raise ValueError(f"--dataset {name}: no synthetic twin is written for it; pass --manual_dir")
  seed = data.synthetic_seed if layout == "casme2" else (
      data.synthetic_seed * 1000 + zlib.crc32(layout.encode()) % 1000)
  folder = data.synthetic_dir.format(name=layout) + synthetic_suffix(data)
  return Path(folder), layout, seed


def prepare(data, name: str | None = None) -> tuple[tfds.core.DatasetBuilder, str]:
  """Builds one database a DataConfig names (the first when None), generating its synthetic
  twin first when there is no manual_dir."""
  name = name or config_lib.datasets_of(data)[0]
  manual_dir = config_lib.manual_dir_of(data, name)
  if manual_dir is None:
    from mexp.synthetic import cli
    manual_dir, layout, seed = synthetic_dir(data, name)
    if not (manual_dir.is_dir() and any(manual_dir.iterdir())):
      cli.writer(layout)(manual_dir, subjects=data.synthetic_subjects, seed=seed, progress=True)
  return build(name, manual_dir=manual_dir, data_dir=data_dir_of(data),
               config=data.builder_config, skip_invalid=data.skip_invalid)


def prepare_all(data) -> dict[str, str]:
  """Builds every database a DataConfig names; {name: its build summary}."""
  return {name: prepare(data, name)[1] for name in config_lib.datasets_of(data)}
