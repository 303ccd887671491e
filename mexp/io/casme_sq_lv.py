"""CAS(ME)^2 long videos (Qu et al., 2018): `CAS(ME)^2code_final.xlsx` + frame folders -> videos.

Layout: `rawpic/s15/15_0101disgustingteeth/img001.jpg`, or the face-cropped copy
`longVideoFaceCropped/s15/15_0101disgustingteeth/img_1.jpg` (rawpic is read when both are there);
frames numbered from 1; 30 fps. The sheet, its naming rules and the folder matching by code
prefix (one folder is misspelt `unnyfarting`) are those of the short-clip reader,
mexp/io/casme_sq.py, which this reader shares; every row is kept, micro- and macro-expressions.
The video id is `{subject number}_{code}`: '15_0101'.

Quirks, never silent: offset 0 (the apex is used as the end) and apex 0 (apex unknown) are
recorded in `Expression.fixes`; a row with its offset before its apex is skipped with why; an
offset past the last frame on disk is clamped. Anything else wrong stops the read naming the file
and row, or with `skip_invalid` is skipped and listed.
"""

from __future__ import annotations

import os
from pathlib import Path

from mexp import databases
from mexp.io import casme_sq, layout, long_videos

FPS = databases.CASME_SQ.long_videos.fps
KINDS = {"micro-expression": "micro", "macro-expression": "macro"}


def video_folders(tree: Path) -> dict[str, tuple[str, Path]]:
  """{'15_0101': ('casme_sq/s15', folder)} of every subject's video folders in the tree."""
  out = {}
  for subject_dir in layout.subdirs(tree):
    if casme_sq.SUBJECT_DIR.fullmatch(subject_dir.name):
      subject = f"s{int(subject_dir.name[1:]):02d}"
      for code, folder in casme_sq.video_folders(subject_dir).items():
        out[f"{subject[1:]}_{code}"] = (f"casme_sq/{subject}", folder)
  return out


def _expression(row: casme_sq.Row) -> tuple[str, long_videos.Expression]:
  """A sheet Row -> (video id, Expression)."""
  return f"{row.subject[1:]}_{row.code}", long_videos.Expression(
      onset=row.onset, apex=row.apex, offset=row.offset, kind=KINDS[row.kind],
      emotion=row.emotion, action_units=row.action_units, fixes=row.fixes, source=row.source)


def read_casme_sq_lv(manual_dir: str | os.PathLike, *,
                     skip_invalid: bool = False) -> long_videos.LongVideoReport:
  """Reads CAS(ME)^2's long videos with every annotated micro- and macro-expression.

  Args:
    manual_dir: the folder the CAS(ME)^2 archive was unpacked into.
    skip_invalid: skip unusable rows (listed in the report, with why) instead of failing.

  Returns:
    A LongVideoReport of every video folder, annotated or not; notes say what was read.
  """
  root = Path(manual_dir)
  sheet = casme_sq.find_sheet(root)
  tree = casme_sq.find_tree(root)
  rows, skipped, types = casme_sq.read_rows(sheet, _expression, keep=lambda kind: True,
                                            skip_invalid=skip_invalid, apex_fix="apex unknown")
  videos, skipped = long_videos.assemble("casme_sq_lv", FPS, video_folders(tree), rows, skipped,
                                         skip_invalid=skip_invalid)
  notes = [casme_sq.WORKSHEETS_NOTE, f"frames from {tree.name}/"]
  notes += [f"{kind}: {types[kind]} row(s)" for kind in casme_sq.TYPES if types[kind]]
  notes += long_videos.summary_notes(videos)
  return long_videos.LongVideoReport(database="casme_sq_lv", videos=videos, skipped=skipped,
                                     sheet=sheet, tree=tree, notes=tuple(notes))
