"""CAS(ME)^2 short clips (Qu et al., 2018): 57 micro- and 300 macro-expressions at 30 fps."""

from __future__ import annotations

from mexp import databases
from mexp.datasets import builder


class CasmeSq(builder.MicroExpressionBuilder):
  """CAS(ME)^2 micro-expressions as short clips (or `mexp.synthetic DIR --layout casme_sq`)."""

  DATABASE = databases.CASME_SQ
  MANUAL_DOWNLOAD_INSTRUCTIONS = """\
  CAS(ME)^2 is licensed: request it from its owners (Xiaolan Fu's group, Institute of
  Psychology, Chinese Academy of Sciences), sign their licence agreement, and unpack it into
  --manual_dir. Expected, anywhere below it:
    CAS(ME)^2code_final.xlsx  (worksheets CASFEcode_final, naming rule1, naming rule2)
    rawpic/s15/15_0101disgustingteeth/img001.jpg ...
  casme_sq keeps the micro-expressions; casme_sq_all keeps the macro-expressions too.
  `python -m mexp.synthetic DIR --layout casme_sq` writes a synthetic folder in the same layout.
  """


class CasmeSqAll(CasmeSq):
  """CAS(ME)^2 micro- and macro-expressions as short clips."""

  DATABASE = databases.CASME_SQ_ALL
