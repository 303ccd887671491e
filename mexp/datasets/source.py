"""A manual folder's fingerprint, stored with each built dataset so that reuse is never silent.

Sheets are hashed by content (they are small and are what users edit). Frames are summarised per
folder by name, size and modification time: enough to see a frame replaced, edited, added or
removed without reading every image again, and cheap (one stat per file) on every run.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

SHEET_SUFFIXES = (".xlsx", ".xls", ".csv")


def fingerprint(manual_dir: str | os.PathLike) -> dict:
  """{'sheets': {relative path: sha256 of its bytes}, 'folders': {relative path: digest of its
  files' names, sizes and mtimes}}; hidden files and folders are ignored."""
  root = Path(manual_dir)
  sheets, folders = {}, {}
  for folder, dirs, names in os.walk(root, onerror=_raise):
    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    rel = Path(folder).relative_to(root).as_posix()
    digest = hashlib.sha256()
    for name in sorted(n for n in names if not n.startswith(".")):
      path = Path(folder, name)
      if path.suffix.lower() in SHEET_SUFFIXES:
        sheets[(Path(rel) / name).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
      else:
        st = path.stat()
        digest.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    if any(not n.startswith(".") and Path(n).suffix.lower() not in SHEET_SUFFIXES for n in names):
      folders[rel] = digest.hexdigest()
  return {"sheets": sheets, "folders": folders}


def _raise(error: OSError) -> None:
  raise error


def changes(old: dict, new: dict, limit: int = 5) -> list[str]:
  """What differs between two fingerprints, in words (at most `limit` names per kind)."""
  out = []
  for kind, noun in (("sheets", "sheet"), ("folders", "frame folder")):
    a, b = old.get(kind, {}), new.get(kind, {})
    for verb, names in (("changed", sorted(k for k in a.keys() & b.keys() if a[k] != b[k])),
                        ("added", sorted(b.keys() - a.keys())),
                        ("removed", sorted(a.keys() - b.keys()))):
      if names:
        shown = ", ".join(names[:limit]) + (f" and {len(names) - limit} more"
                                           if len(names) > limit else "")
        out.append(f"{len(names)} {noun}(s) {verb}: {shown}")
  return out
