"""What the long-video twins (SAMM-LV, CAS(ME)^2) share: a planned video with apexes, and its
frames written as a database writes them, through long_videos.py's one renderer."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import numpy as np

from mexp.synthetic.clips import atomic_dir, run_all, write_frames
from mexp.synthetic.faces import Face, random_face
from mexp.synthetic.long_videos import LongEvent, plan_long_video, render_long_video


@dataclasses.dataclass(frozen=True)
class TwinVideo:
  """One planned long video: events in frame indices from 0 (apex set), blinks, length, seed."""
  events: tuple[LongEvent, ...]
  blinks: tuple[int, ...]
  frames: int
  seed: int  # of its rendering


def plan_video(rng: np.random.Generator, seconds: float, fps: float, micro: int, *,
               macro_first: bool = False) -> TwinVideo:
  """long_videos.plan_long_video's events with an apex each (35-65 % of the way).

  Args:
    rng: the twin's planning generator.
    seconds: length before any cut.
    fps: the database's rate.
    micro: micro-expressions (there is one macro-expression too).
    macro_first: make the macro-expression the first event and start the video on its onset
      frame, as SAMM-LV's rows with onset 0 describe.

  Returns:
    The TwinVideo.
  """
  frames = int(seconds * fps)
  events, blinks = plan_long_video(rng, frames, fps, micro)
  while macro_first and events[0].kind != "macro":  # drawn again: every micro-expression stays
    events, blinks = plan_long_video(rng, frames, fps, micro)
  events = [dataclasses.replace(e, apex=e.onset + int((e.offset - e.onset + 1)
                                                      * rng.uniform(0.35, 0.65))) for e in events]
  if macro_first:
    cut = next(e.onset for e in events if e.kind == "macro")
    shift = lambda e: dataclasses.replace(e, onset=e.onset - cut, apex=e.apex - cut,  # noqa: E731
                                          offset=e.offset - cut)
    events = [shift(e) for e in events]
    blinks = [b - cut for b in blinks if b >= cut]
    frames -= cut
  return TwinVideo(tuple(events), tuple(blinks), frames, int(rng.integers(2**31)))


def write_video(folder: Path, face: Face, video: TwinVideo, fps: float,
                name: Callable[[int], str], *, grey: bool = False) -> None:
  """Renders a planned video into `folder`, frame n (from 1) as name(n), one frame at a time."""
  rng = np.random.default_rng(video.seed)
  frames = render_long_video(face, rng, list(video.events), list(video.blinks), video.frames, fps)
  write_frames(folder, frames, [name(n) for n in range(1, video.frames + 1)], grey=grey,
               quality=int(rng.integers(85, 95)))


def write_twin(out_dir, videos: list[tuple[Path, int, TwinVideo, Callable[[int], str]]], *,
               fps: float, seed: list[int], write_sheet: Callable[[Path], None], grey: bool,
               workers: int | None, progress: bool) -> Path:
  """Writes a twin atomically: each (folder, subject, video, frame name) with its subject's face."""
  rng = np.random.default_rng(seed)
  faces = {s: random_face(rng) for s in sorted({v[1] for v in videos})}
  with atomic_dir(out_dir) as tmp:
    run_all(lambda v: write_video(tmp / v[0], faces[v[1]], v[2], fps, v[3], grey=grey), videos,
            workers=workers, progress=progress)
    write_sheet(tmp)
  return Path(out_dir)
