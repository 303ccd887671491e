"""CASME II (Yan et al., 2014): 255 coded micro-expression clips of 26 subjects at 200 fps."""

from __future__ import annotations

from pathlib import Path

from mexp import databases
from mexp.datasets import builder


class Casme2(builder.MicroExpressionBuilder):
  """CASME II, from the licensed folder (or the synthetic twin written by `mexp.synthetic`)."""

  DATABASE = databases.CASME2
  MANUAL_DOWNLOAD_INSTRUCTIONS = """\
  CASME II is licensed: request it from its owners (Institute of Psychology, Chinese Academy of
  Sciences). Put into --manual_dir:
    CASME2-coding-20140508.xlsx   (or -20190701 / -updated; the newest name is used)
    CASME2_RAW_selected/sub01/EP02_01f/img46.jpg ...   and/or
    Cropped/sub01/EP02_01f/reg_img46.jpg ...           (preferred when both are present)
  `python -m mexp.synthetic DIR` writes a synthetic folder in the same layout.
  """

  def _detect_face(self, report):
    return Path(report.tree).name != "Cropped"  # the Cropped tree is already face-aligned
