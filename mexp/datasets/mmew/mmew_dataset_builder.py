"""MMEW (Ben et al., 2022): 300 micro-expressions at 90 fps, seven emotions."""

from __future__ import annotations

from mexp import databases
from mexp.datasets import builder


class Mmew(builder.MicroExpressionBuilder):
  """MMEW's micro-expressions, from the licensed folder (or `mexp.synthetic DIR --layout mmew`)."""

  DATABASE = databases.MMEW
  MANUAL_DOWNLOAD_INSTRUCTIONS = """\
  MMEW is licensed: request it from its owners (Xianye Ben's group, Shandong University), sign
  their licence agreement, and unpack the archive into --manual_dir. Expected, anywhere below it:
    MMEW_Micro_Exp.xlsx
    MMEW_Final/Micro_Expression/happiness/{Filename}/1.jpg ...
  The others class may sit in others/ or repression/; the build summary says which matched.
  `python -m mexp.synthetic DIR --layout mmew` writes a synthetic folder in the same layout.
  """

