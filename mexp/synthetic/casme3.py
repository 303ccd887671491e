"""The synthetic CAS(ME)^3 Part A twin: `part_A/data/part_A/spNO.1/a/color/{N}.jpg` + the sheet.

Quirks, each on fixed rows or videos: the data is on the worksheet `label`, which is not the
first; every subject's video `a` starts at frame 0 and holds two MEs, with a gap of GAP frame
numbers between them and one frame missing inside the second; `Others` is capitalised once, the
other emotions spelled as the sheet spells them (sad, happy, ...); and BAD_ROWS, one row of each
known bad kind, inserted after the first BAD_AT rows (they point at spNO.1's video `a`). Frames are
640x480 colour (the real ones are 1280x720); `depth/` holds a few tiny PNGs that must not be read.
"""

from __future__ import annotations

import collections
import dataclasses
import os
from pathlib import Path

import numpy as np

from mexp import databases
from mexp.synthetic.clips import atomic_dir, render_clip, run_all, write_frames
from mexp.synthetic.faces import Face, jitter_face, random_face

FPS = databases.CASME3.fps
SHEET = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]
WORKSHEETS = ("README", "label", "AU statistics")  # `label` second, on purpose
# Emotion as the sheet spells it -> (candidate AU sets, objective class).
EMOTION_AUS = {
    "disgust": ([(9,), (10,), (4, 9)], 4),
    "surprise": ([(1, 2)], 2),
    "others": ([(7,), (24,), (38,)], 7),
    "fear": ([(1, 2, 4, 20)], 6),
    "anger": ([(4, 7), (4,)], 3),
    "sad": ([(1, 4, 15)], 5),
    "happy": ([(6, 12), (12,)], 1),
}
SUBJECTS = tuple(range(1, 40))
GAP = 3  # frame numbers missing between video a's two MEs
BAD_AT = 3
BAD_ROWS = ("apex before onset", "offset far beyond", "onset after apex", "onset and apex 0",
            "offset 0")


@dataclasses.dataclass(frozen=True)
class Casme3Clip:
  subject: int  # 1 -> 'spNO.1'
  video: str  # 'a'
  clip: str  # the reader's sample id: 'a', 'a_2', 'b', ...
  emotion: str  # as the sheet spells it
  aus: tuple[int, ...]
  onset: int
  apex: int
  offset: int
  on_disk: tuple[int, ...]  # this ME's frame numbers on disk, padding included
  seed: int


def plan(subjects: int, seed: int,
         clips_per_emotion: int = 1) -> tuple[list[Face], list[Casme3Clip]]:
  """Every subject's face and every ME's video, timing and label, from one seed."""
  if not 1 <= subjects <= len(SUBJECTS):
    raise ValueError(f"--subjects must be 1..{len(SUBJECTS)} for CAS(ME)^3, not {subjects}")
  rng = np.random.default_rng([seed, 4])
  faces = [random_face(rng) for _ in range(subjects)]
  clips = []
  for subject in SUBJECTS[:subjects]:
    episodes = [e for e in EMOTION_AUS for _ in range(clips_per_emotion)]
    rng.shuffle(episodes)
    end = -1  # the last frame number written in video a
    for i, emotion in enumerate(episodes):
      n = int(rng.integers(6, 16))  # 200-500 ms at 30 fps
      if i == 0:  # video a starts at frame 0
        video, clip, onset = "a", "a", 0
      elif i == 1:  # the second ME of video a, after a gap
        video, clip, onset = "a", "a_2", end + GAP + 2
      else:
        video = chr(ord("a") + i - 1)
        clip, onset = video, int(rng.integers(50, 3000))
      apex = onset + int(round((n - 1) * rng.uniform(0.35, 0.65)))
      offset = onset + n - 1
      on_disk = list(range(max(onset - 1, 0), offset + 2))
      if i == 1:
        on_disk.remove(onset + 1)  # a frame missing inside the ME
      end = on_disk[-1]
      choices = EMOTION_AUS[emotion][0]
      clips.append(Casme3Clip(subject=subject, video=video, clip=clip, emotion=emotion,
                              aus=choices[rng.integers(len(choices))], onset=onset, apex=apex,
                              offset=offset, on_disk=tuple(on_disk),
                              seed=int(rng.integers(2**31))))
  return faces, clips


def _write_video(out: Path, face: Face, clips: list[Casme3Clip]) -> None:
  """One video folder: every ME's frames (neutral padding around each), and depth decoys."""
  rng = np.random.default_rng(clips[0].seed)
  jittered = jitter_face(face, rng)
  frames, names = [], []
  for c in clips:
    me = render_clip(jittered, c.aus, np.random.default_rng(c.seed), c.offset - c.onset + 1,
                     c.apex - c.onset, fps=FPS)
    for n in c.on_disk:
      frames.append(me[min(max(n - c.onset, 0), len(me) - 1)])
      names.append(f"{n}.jpg")
  video = out / "part_A" / "data" / "part_A" / f"spNO.{clips[0].subject}" / clips[0].video
  write_frames(video / "color", np.stack(frames), names, quality=int(rng.integers(85, 95)))
  write_frames(video / "depth", np.zeros((2, 8, 8, 3), np.uint8), ["0.png", "1.png"])


def sheet_rows(clips: list[Casme3Clip]) -> list[list]:
  """The `label` worksheet's body: one row per ME, `Others` once, BAD_ROWS after row BAD_AT."""
  rows = []
  for i, c in enumerate(clips):
    emotion = "Others" if c.emotion == "others" and "Others" not in [r[7] for r in rows] else \
        c.emotion
    rows.append([f"spNO.{c.subject}", c.video, c.onset, c.apex, c.offset,
                 "+".join(map(str, c.aus)), EMOTION_AUS[c.emotion][1], emotion])
  first, second = clips[0], clips[1]
  subject = f"spNO.{first.subject}"
  bad = {
      "apex before onset": (second.onset, second.onset - 2, second.offset),
      "offset far beyond": (5, 7, 3460),
      "onset after apex": (second.offset + 20, second.apex, second.offset),
      "onset and apex 0": (0, 0, first.offset),
      "offset 0": (second.onset, second.apex, 0),
  }
  bad_rows = [[subject, "a", *bad[kind], "4", 4, "disgust"] for kind in BAD_ROWS]
  return rows[:BAD_AT] + bad_rows + rows[BAD_AT:]


def write_sheet(path: Path, clips: list[Casme3Clip]) -> None:
  """The label workbook: worksheets README, label (the data) and AU statistics."""
  import openpyxl
  book = openpyxl.Workbook()
  readme, label, stats = book.active, book.create_sheet(), book.create_sheet()
  for sheet, title in zip((readme, label, stats), WORKSHEETS):
    sheet.title = title
  readme.append(["CAS(ME)^3 Part A micro-expression labels (synthetic twin); see sheet 'label'."])
  readme.append(["Frame numbers are the JPG indices of each video's color/ folder (30 fps)."])
  for row in [HEADER, *sheet_rows(clips)]:
    label.append(row)
  stats.append(["AU", "count"])
  for au, n in sorted(collections.Counter(a for c in clips for a in c.aus).items()):
    stats.append([au, n])
  book.save(path)


def generate(out_dir: str | os.PathLike, *, subjects: int = 8, seed: int = 0,
             clips_per_emotion: int = 1, workers: int | None = None,
             progress: bool = False) -> Path:
  """Writes the synthetic CAS(ME)^3 Part A folder atomically.

  Args:
    out_dir: must not exist yet (or be empty).
    subjects: number of distinct faces (spNO.1, spNO.2, ...).
    seed: everything is deterministic given it.
    clips_per_emotion: MEs of each of the 7 emotions per subject.
    workers: rendering threads; all cores when None.
    progress: show a progress bar.

  Returns:
    The folder, ready for `python -m mexp.datasets build casme3 --manual_dir DIR --skip_invalid`
    (without --skip_invalid, the bad rows stop the build, as they would the real one).
  """
  faces, clips = plan(subjects, seed, clips_per_emotion)
  videos = collections.defaultdict(list)
  for c in clips:
    videos[c.subject, c.video].append(c)
  with atomic_dir(out_dir) as tmp:
    run_all(lambda v: _write_video(tmp, faces[SUBJECTS.index(v[0].subject)], v),
            list(videos.values()), workers=workers, progress=progress)
    write_sheet(tmp / SHEET, clips)
  return Path(out_dir)
