"""Test setup: two fake CPU devices (before jax is imported), and tiny on-disk databases."""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# One persistent compilation cache for the session, inherited by the experiments the tests start
# as subprocesses: the same tiny programs are compiled once, not once per process.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  import atexit
  import shutil
  import tempfile
  os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="mexp-test-xla-cache-")
  atexit.register(shutil.rmtree, os.environ["JAX_COMPILATION_CACHE_DIR"], True)
  os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
  os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"

from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

CASME2_HEADER = ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None,
                 "Action Units", "Estimated Emotion"]


def write_jpegs(folder: Path, numbers, prefix="img", size=(24, 20), value=None):
  """Writes one small JPEG per frame number: flat grey `value(n)`, by default 10 * n % 250."""
  folder.mkdir(parents=True, exist_ok=True)
  for n in numbers:
    grey = value(n) if value is not None else (10 * n) % 250
    image = np.full((size[1], size[0], 3), grey, np.uint8)
    cv2.imwrite(str(folder / f"{prefix}{n}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 100])


def write_xlsx(path: Path, header, rows):
  import openpyxl
  book = openpyxl.Workbook()
  for row in [header, *rows]:
    book.active.append(list(row))
  book.save(path)


def write_xls(path: Path, header, rows):
  import xlwt
  book = xlwt.Workbook()
  sheet = book.add_sheet("Sheet1")
  for i, row in enumerate([header, *rows]):
    for j, value in enumerate(row):
      if value is not None:
        sheet.write(i, j, value)
  book.save(str(path))


@pytest.fixture
def casme2_dir(tmp_path):
  """A tiny CASME II folder in the exact Cropped layout (flat frames, no faces), with quirks.

  Rows: a clean clip; apex '/'; offset past the last frame; a frame missing in the middle.
  """
  root = tmp_path / "CASME2"
  crop = root / "Cropped"
  write_jpegs(crop / "sub01" / "EP02_01f", range(46, 56), prefix="reg_img")
  # Brightness peaks at frame 102: the estimated apex for the '/' row.
  write_jpegs(crop / "sub04" / "EP12_01f", range(98, 106), prefix="reg_img",
              value=lambda n: 100 - 10 * abs(n - 102))
  write_jpegs(crop / "sub16" / "EP01_08", range(7, 13), prefix="reg_img")
  write_jpegs(crop / "sub26" / "EP09f", [95, 96, 97, 99, 100, 101, 102], prefix="reg_img")
  rows = [
      [1, "EP02_01f", None, 46, 50, 55, None, "12", "happiness"],
      [4, "EP12_01f", None, 98, "/", 105, None, "4+7", "disgust"],
      [16, "EP01_08", None, 7, 9, 15, None, "1+2", "surprise"],
      [26, "EP09f", None, 95, 97, 102, None, "R14", "repression"],
  ]
  write_xlsx(root / "CASME2-coding-20140508.xlsx", CASME2_HEADER, rows)
  return root


@pytest.fixture(scope="session")
def tiny_casme2(tmp_path_factory):
  """4 subjects x 3 emotions of 6 textured 24x20 frames (Cropped layout), built at 4x16x16."""
  root = tmp_path_factory.mktemp("tiny") / "CASME2"
  rng = np.random.default_rng(0)
  rows = []
  for subject in (1, 2, 3, 4):
    for k, emotion in enumerate(("happiness", "surprise", "disgust")):
      folder = root / "Cropped" / f"sub{subject:02d}" / f"EP0{k + 1}_01"
      folder.mkdir(parents=True)
      base = rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)
      for n in range(10, 16):
        frame = np.roll(base, (n - 10) * (k + 1), axis=1)  # each emotion moves at its own speed
        cv2.imwrite(str(folder / f"reg_img{n}.jpg"), frame)
      rows.append([subject, f"EP0{k + 1}_01", None, 10, 12, 15, None, "12", emotion])
  write_xlsx(root / "CASME2-coding-20140508.xlsx", CASME2_HEADER, rows)
  data_dir = root.parent / "tfds"
  from mexp.datasets import build
  build.build("casme2", manual_dir=root, data_dir=data_dir, config="t4_16x16_grey_median")
  return root, data_dir


@pytest.fixture(scope="session")
def trained_workdir(tiny_casme2, tmp_path_factory):
  """`python experiments/two_stream.py` on the tiny dataset: (workdir, the finished process)."""
  import subprocess
  import sys
  manual_dir, data_dir = tiny_casme2
  workdir = tmp_path_factory.mktemp("trained") / "run"
  root = Path(__file__).parent.parent
  args = [sys.executable, "experiments/two_stream.py", "--manual_dir", str(manual_dir),
          "--data_dir", str(data_dir), "--workdir", str(workdir),
          "--config.data.builder_config=t4_16x16_grey_median", "--config.optim.epochs=1",
          "--config.data.folds=2", "--config.model.width_factor=0.03",
          "--config.optim.batch_size=4"]
  result = subprocess.run(args, cwd=root, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(root)})
  assert result.returncode == 0, result.stderr[-2000:]
  return workdir, args, result


def pytest_collection_modifyitems(items):
  """Tests that need the trained workdir (a model trained in a subprocess) are slow too."""
  for item in items:
    if "trained_workdir" in getattr(item, "fixturenames", ()):
      item.add_marker(pytest.mark.slow)
