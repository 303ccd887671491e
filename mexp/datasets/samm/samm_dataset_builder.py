"""SAMM (Davison et al., 2018): 159 micro-movements of 32 subjects at 200 fps, grey frames."""

from __future__ import annotations

from mexp import databases
from mexp.datasets import builder


class Samm(builder.MicroExpressionBuilder):
  """SAMM, from the licensed folder (or the synthetic twin: `mexp.synthetic DIR --layout samm`)."""

  DATABASE = databases.SAMM
  MANUAL_DOWNLOAD_INSTRUCTIONS = """\
  SAMM is licensed: request it from its owners (Moi Hoon Yap's group, Manchester Metropolitan
  University), sign their licence agreement, and unpack the archive into --manual_dir.
  Expected, anywhere below it:
    SAMM_Micro_FACS_Codes_v2.xlsx  (or a dated one: SAMM_20181215_Micro_FACS_Codes_v2.xlsx)
    SAMM/006/006_1_2/006_05562.jpg ...
  `python -m mexp.synthetic DIR --layout samm` writes a synthetic folder in the same layout.
  """

