"""SMIC (Li et al., 2013): labels from folder names -> Samples; there is no sheet.

Layout: `HS/s1/micro/{negative|positive|surprise}/s1_ne_01/<frames>` (the raw tree, e.g. under
`SMIC_all_raw/` or `SMIC/`), and the cropped variant `SMIC_all_cropped/HS/s1/micro/.../
reg_image036237.bmp` (faces already cropped and aligned; preferred when both are present, as
CASME II's Cropped tree is). Frames are numbered by the last run of digits in their names.

Onset and offset are a clip's first and last frames on disk. SMIC gives no apex: it is estimated
from peak motion and marked, and the fix is recorded. `non_micro/` is not read. One camera is
read: HS (100 fps) by default; VIS and NIR (25 fps) only when asked for.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from mexp import databases
from mexp import labels
from mexp.io import frames as frames_io
from mexp.io import layout, sheets

FPS = {"HS": databases.SMIC.fps, "VIS": 25.0, "NIR": 25.0}  # per camera
_SUBJECT_DIR = re.compile(r"s(\d+)", re.IGNORECASE)
NO_APEX_FIX = "no apex in SMIC: apex estimated from peak motion against the onset frame"


def find_trees(root: Path, camera: str) -> list[Path]:
  """Every `{camera}/` folder holding subject folders (s1/, s2/, ...), up to 3 levels below root."""
  return [d for level in layout.levels(root, 4, prune=lambda d: _SUBJECT_DIR.fullmatch(d.name))
          for d in level if d.name.upper() == camera.upper()
          and any(_SUBJECT_DIR.fullmatch(c.name) for c in layout.subdirs(d))]


def is_cropped(tree: Path) -> bool:
  """True for a camera folder inside a '*cropped*' one (SMIC_all_cropped/HS): faces aligned."""
  return "crop" in tree.parent.name.lower()


def read_smic(manual_dir: str | os.PathLike, *, camera: str = "HS",
              skip_invalid: bool = False) -> sheets.SheetReport:
  """Reads one SMIC camera's micro-expression clips, labelled by their folders.

  Args:
    manual_dir: the folder the SMIC archive was unpacked into.
    camera: 'HS' (100 fps, the MEGC subset), 'VIS' or 'NIR' (25 fps).
    skip_invalid: skip unusable folders (listed in the report) instead of failing.

  Returns:
    A SheetReport with `sheet` None; its notes say which tree was read and what was left out.
  """
  root = Path(manual_dir)
  if camera.upper() not in FPS:
    raise ValueError(f"unknown SMIC camera {camera!r}; expected one of {', '.join(FPS)}")
  trees = find_trees(root, camera)
  if not trees:
    raise FileNotFoundError(f"{root}: no SMIC {camera} folder (looked for {camera}/s1/micro/... "
                            f"and SMIC_all_cropped/{camera}/s1/micro/...)")
  cropped = [t for t in trees if is_cropped(t)]
  tree = (cropped or trees)[0]
  notes = [f"{camera} camera only ({FPS[camera.upper()]:g} fps); "
           + ("cropped tree: faces already aligned, no face detection" if cropped
              else "raw tree: faces detected")]
  notes += [f"other {camera} tree not read: {t}" for t in trees if t != tree]
  others = sorted({t.name for c in FPS if c != camera.upper() for t in find_trees(root, c)})
  notes += [f"{', '.join(others)} present, not read"] if others else []
  samples, skipped, non_micro = [], [], 0
  for subject_dir in sorted((d for d in layout.subdirs(tree) if _SUBJECT_DIR.fullmatch(d.name)),
                            key=lambda d: int(_SUBJECT_DIR.fullmatch(d.name).group(1))):
    subject = f"s{int(_SUBJECT_DIR.fullmatch(subject_dir.name).group(1)):02d}"
    if (subject_dir / "non_micro").is_dir():
      non_micro += sum(1 for f, _, files in os.walk(subject_dir / "non_micro") if files)
    if not (subject_dir / "micro").is_dir():
      notes.append(f"{subject_dir.name}: no micro/ folder")
      continue
    for emotion_dir in layout.subdirs(subject_dir / "micro"):
      where = emotion_dir.relative_to(tree.parent).as_posix()
      try:
        emotion = labels.canonical_emotion(emotion_dir.name, databases.SMIC)
      except labels.UnknownEmotionError as e:
        message = f"{where}: {e} (the folder name)"
        if not skip_invalid:
          raise sheets.SheetError(message) from None
        skipped.append(message)
        continue
      for clip_dir in layout.subdirs(emotion_dir):
        try:
          samples.append(_sample(f"{where}/{clip_dir.name}", clip_dir, subject, emotion))
        except (sheets.SheetError, ValueError) as e:
          if not skip_invalid:
            raise sheets.SheetError(str(e)) from None
          skipped.append(str(e))
  if non_micro:
    notes.append(f"non_micro/ not read ({non_micro} folder(s) of frames)")
  sheets.check_unique(samples)
  return sheets.SheetReport(samples=samples, skipped=skipped, sheet=None, tree=tree,
                            notes=tuple(notes))


def _sample(source: str, clip_dir: Path, subject: str, emotion: str) -> sheets.Sample:
  """One clip folder -> a Sample from its first to its last frame, apex to be estimated."""
  try:
    on_disk = frames_io.list_frames(clip_dir)
  except frames_io.FrameReadError as e:
    raise sheets.SheetError(f"{source}: {e}") from None
  if not on_disk:
    raise sheets.MissingFramesError(f"{source}: the clip folder holds no frames")
  onset, offset = on_disk[0][0], on_disk[-1][0]
  frames, offset, frame_fixes = sheets.clip_frames(source, clip_dir, onset, None, offset)
  return sheets.Sample(database="smic", subject=f"smic/{subject}", clip=clip_dir.name,
                       emotion=emotion, onset=onset, apex=None, offset=offset, action_units="",
                       frames=frames, fixes=(NO_APEX_FIX, *frame_fixes), source=source)
