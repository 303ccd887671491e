"""CAS(ME)^3 Part A (Li et al., 2023): 860 MEs of 94 subjects at 30 fps, colour frames."""

from __future__ import annotations

from mexp import databases
from mexp.datasets import builder


class Casme3(builder.MicroExpressionBuilder):
  """CAS(ME)^3 Part A, from the licensed folder (or `mexp.synthetic DIR --layout casme3`)."""

  DATABASE = databases.CASME3
  MANUAL_DOWNLOAD_INSTRUCTIONS = """\
  CAS(ME)^3 is licensed: request it from its owners (Xiaolan Fu's group, Institute of
  Psychology, Chinese Academy of Sciences), sign their licence agreement, and unpack Part A
  into --manual_dir. Expected, anywhere below it:
    cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx   (data on the worksheet named `label`)
    part_A/data/part_A/spNO.1/a/color/0.jpg ...  (depth/ is not read)
  Known bad rows stop the build naming the row; --skip_invalid skips and lists them.
  `python -m mexp.synthetic DIR --layout casme3` writes a synthetic folder in the same layout.
  """

