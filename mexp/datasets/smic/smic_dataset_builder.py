"""SMIC-HS (Li et al., 2013): 164 clips of 16 subjects at 100 fps, negative/positive/surprise."""

from __future__ import annotations

from mexp import databases
from mexp.datasets import builder
from mexp.io import smic


class Smic(builder.MicroExpressionBuilder):
  """SMIC's HS camera, from the licensed folder (or `mexp.synthetic DIR --layout smic`)."""

  DATABASE = databases.SMIC
  MANUAL_DOWNLOAD_INSTRUCTIONS = """\
  SMIC is licensed: request it from its owners (Center for Machine Vision and Signal Analysis,
  University of Oulu), sign their licence agreement, and unpack the archive into --manual_dir.
  Expected, up to three levels below it, either or both of:
    HS/s1/micro/negative/s1_ne_01/image036237.bmp ...   (raw, e.g. under SMIC_all_raw/)
    SMIC_all_cropped/HS/s1/micro/negative/s1_ne_01/reg_image036237.bmp   (preferred)
  Only the HS camera (100 fps) is read; VIS/ and NIR/ and every non_micro/ folder are left out.
  `python -m mexp.synthetic DIR --layout smic` (or smic_cropped) writes a synthetic folder.
  """

  def _detect_face(self, report):
    return not smic.is_cropped(report.tree)  # the cropped tree is already face-aligned
