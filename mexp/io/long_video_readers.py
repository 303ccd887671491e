"""Every long-video layout's reader, by name: the synthetic `ground_truth.json` folder, and the
readers the database table names (SAMM-LV, CAS(ME)^2)."""

from __future__ import annotations

import os

from mexp import databases
from mexp.io import long_videos


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
  if layout not in databases.LONG_VIDEOS:
    raise ValueError(f"unknown long-video layout {layout!r}; expected one of "
                     f"{', '.join(long_videos.LAYOUTS)}")
  read = databases.resolve(databases.LONG_VIDEOS[layout].reader)
  return read(folder, skip_invalid=skip_invalid)
