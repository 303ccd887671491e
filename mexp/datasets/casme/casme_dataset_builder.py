"""CASME (Yan et al., 2013): Sections A and B, 19 subjects at 60 fps, eight emotions."""

from __future__ import annotations

from mexp import databases
from mexp.datasets import builder


class Casme(builder.MicroExpressionBuilder):
  """CASME (v1), from the licensed folder."""

  DATABASE = databases.CASME
  MANUAL_DOWNLOAD_INSTRUCTIONS = """\
  CASME is licensed: request it from its owners (Institute of Psychology, Chinese Academy of
  Sciences). Put into --manual_dir either or both sections:
    CASME_A/Section A/Section A.xls
    CASME_A/Section A/sub01/EP01_5/EP01_5-1.jpg ...
    CASME_B/Section B/Section B.xls
    CASME_B/Section B/sub08/...
  """

