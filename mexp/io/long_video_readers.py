"""Every long-video layout's reader, by name: the synthetic `ground_truth.json` folder, SAMM-LV
and CAS(ME)^2 (each reader imports mexp.io.long_videos for what they share; this module sits
above them)."""

from __future__ import annotations

import os

from mexp.io import casme_sq_lv, long_videos, samm_lv


def read_long_videos(layout: str, folder: str | os.PathLike, *,
                     skip_invalid: bool = False) -> long_videos.LongVideoReport:
  """Reads the long videos of one layout.

  Args:
    layout: one of long_videos.LAYOUTS ('synthetic': a ground_truth.json folder).
    folder: the manual folder the database was unpacked into (or its synthetic twin).
    skip_invalid: skip unusable rows (listed in the report) instead of failing.

  Returns:
    A LongVideoReport.
  """
  if layout == "synthetic":
    return long_videos.read_ground_truth(folder, skip_invalid=skip_invalid)
  if layout == "samm_lv":
    return samm_lv.read_samm_lv(folder, skip_invalid=skip_invalid)
  if layout == "casme_sq_lv":
    return casme_sq_lv.read_casme_sq_lv(folder, skip_invalid=skip_invalid)
  raise ValueError(f"unknown long-video layout {layout!r}; expected one of "
                   f"{', '.join(long_videos.LAYOUTS)}")
