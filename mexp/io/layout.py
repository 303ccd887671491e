"""Helpers every database reader shares: finding files and folders, and the usual sheet columns."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable

from mexp.io import sheets

# The usual micro-expression sheet columns: key -> accepted (normalised) header spellings.
ME_COLUMNS = {
    "subject": ("subject",), "filename": ("filename",),
    "onset": ("onsetframe", "onset"), "apex": ("apexframe", "apex"),
    "offset": ("offsetframe", "offset"), "aus": ("actionunits", "actionunit", "aus", "au"),
    "emotion": ("estimatedemotion", "emotion"),
}


def find_files(root: Path, match: Callable[[str], bool]) -> list[Path]:
  """Every file below root whose name `match`es, hidden folders skipped, sorted by path."""
  found = []
  for folder, dirs, names in os.walk(root):
    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    found += [Path(folder, n) for n in names if match(n)]
  return sorted(found)


def subdirs(folder: Path) -> list[Path]:
  """The visible subfolders, sorted."""
  return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def levels(root: Path, depth: int, prune: Callable[[Path], bool] = lambda d: False):
  """root's visible folders breadth-first, one list per depth 0..depth-1; pruned ones not entered."""
  level = [root]
  for _ in range(depth):
    yield level
    level = [c for d in level for c in subdirs(d) if not prune(c)]


def holders(root: Path, child: re.Pattern, depth: int) -> list[Path]:
  """The shallowest folders, fewer than `depth` levels below root, with a subfolder like `child`."""
  for level in levels(root, depth):
    found = [d for d in level if any(child.fullmatch(c.name) for c in subdirs(d))]
    if found:
      return found
  return []


def find_tree(root: Path, child: re.Pattern, depth: int, prefer: str, what: str) -> Path:
  """The shallowest folder holding folders like `child`, the one named `prefer` first."""
  found = holders(root, child, depth)
  if not found:
    raise FileNotFoundError(f"{root}: no {what}")
  return min(found, key=lambda d: (d.name.lower() != prefer.lower(), str(d)))


def me_columns(keys: list[str], sheet: Path, optional: tuple[str, ...] = ("aus",)) -> dict:
  """ME_COLUMNS -> column index (None for a missing optional one); SheetError names a missing one."""
  return {k: sheets.column(keys, sheet, *names, required=k not in optional)
          for k, names in ME_COLUMNS.items()}


def row_cells(row: list, col: dict) -> dict:
  """{key: the row's cell in that column, or None}."""
  return {k: row[i] if i is not None and i < len(row) else None for k, i in col.items()}
