"""Small file helpers."""

from __future__ import annotations

import os
from pathlib import Path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
  """Writes a sibling temp file and renames it over `path`: readers never see half a file."""
  path = Path(path)
  tmp = path.with_name(path.name + ".tmp")
  tmp.write_text(text)
  os.replace(tmp, path)
  return path
