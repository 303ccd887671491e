"""`python -m mexp.synthetic OUT_DIR [--layout L] [--subjects N] [--seed S] [--long_videos N]`.

With --long_videos, `--hard` writes the spotting issue's case (200 fps, micro-expressions 1.5 s
apart, noise sigma 1.5, slow head moves between them) and `--micro` sets their number; `--joined`
writes videos joined from clips instead (mexp.synthetic.joined). Long videos show the recording
conditions of mexp.synthetic.recording (tremor, drift and flicker around events, JPEG, turns and
talking in gaps); `--without tremor,jpeg,...` turns some off.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys

from mexp import databases
from mexp.synthetic import joined, recording, smic
from mexp.synthetic.long_videos import DEFAULT, HARD, hard_seconds, write_long_videos

# Layout -> its writer: each database's twin (mexp.synthetic.LAYOUT.generate), and SMIC's
# cropped tree.
LAYOUTS = {row.twin: f"mexp.synthetic.{row.twin}:generate" for row in databases.TABLE if row.twin}
LAYOUTS["smic_cropped"] = functools.partial(smic.generate, cropped=True)
# Long-video layouts (`--layout samm_lv --long_videos N`): their sheet and frame folders.
LONG_LAYOUTS = {layout: v.twin for layout, v in databases.LONG_VIDEOS.items()}


def writer(layout: str):
  """The function that writes a layout's synthetic twin."""
  ref = {**LAYOUTS, **LONG_LAYOUTS}[layout]
  return databases.resolve(ref) if isinstance(ref, str) else ref


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(
      prog="python -m mexp.synthetic",
      description="Synthetic micro-expressions in the exact layout of a licensed database.")
  parser.add_argument("out_dir")
  parser.add_argument("--layout", choices=[*LAYOUTS, *LONG_LAYOUTS], default="casme2",
                      help="which database's folder layout and sheet to write")
  parser.add_argument("--subjects", type=int, default=8)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--clips_per_emotion", type=int, default=2)
  parser.add_argument("--long_videos", type=int, default=0,
                      help="instead of clips, write this many long videos for spotting")
  parser.add_argument("--hard", action="store_true",
                      help="long videos as in the spotting issue: 200 fps, micro-expressions 1.5 s "
                      "apart, still face with noise sigma 1.5, slow head moves between them")
  parser.add_argument("--micro", type=int, default=None,
                      help="micro-expressions per long video (default 3, or 6 with --hard)")
  parser.add_argument("--joined", action="store_true",
                      help="long videos joined from clips of 95-300 ms (200 fps), as a CASME "
                      "II-layout set holds them, with held faces and head moves between them")
  parser.add_argument("--without", default="",
                      help="recording conditions to leave out of long videos, comma-separated: "
                      + ",".join(f.name for f in dataclasses.fields(recording.Conditions)))
  args = parser.parse_args(argv)
  for flag, value, least in (("--subjects", args.subjects, 1),
                             ("--clips_per_emotion", args.clips_per_emotion, 1),
                             ("--long_videos", args.long_videos, 0), ("--micro", args.micro, 0)):
    if value is not None and value < least:
      print(f"error: {flag} {value}: must be at least {least}", file=sys.stderr)
      return 2
  names = [n for n in args.without.split(",") if n]
  unknown = sorted(set(names) - {f.name for f in dataclasses.fields(recording.Conditions)})
  if unknown:
    print(f"error: --without {','.join(unknown)}: not a recording condition", file=sys.stderr)
    return 2
  conditions = dataclasses.replace(recording.Conditions(), **{n: False for n in names})
  if args.layout in LONG_LAYOUTS:
    try:
      out = writer(args.layout)(args.out_dir, videos=args.long_videos or 2, seed=args.seed,
                                micro=args.micro or 3, progress=True)
    except (FileExistsError, ValueError) as e:
      print(f"error: {e}", file=sys.stderr)
      return 2
    print(f"wrote {out}: {args.long_videos or 2} long videos and their sheet ({args.layout})")
    return 0
  if args.long_videos:
    try:
      if args.joined:
        out = joined.write_joined_videos(args.out_dir, videos=args.long_videos, seed=args.seed,
                                         micro=args.micro or 4)
      elif args.hard:
        micro = args.micro or 6
        out = write_long_videos(args.out_dir, videos=args.long_videos, seed=args.seed, fps=200.0,
                                micro=micro, seconds=hard_seconds(micro),
                                style=dataclasses.replace(HARD, conditions=conditions))
      else:
        out = write_long_videos(args.out_dir, videos=args.long_videos, seed=args.seed,
                                micro=args.micro or 3,
                                style=dataclasses.replace(DEFAULT, conditions=conditions))
    except FileExistsError as e:
      print(f"error: {e}", file=sys.stderr)
      return 2
    print(f"wrote {out}: {args.long_videos} long videos and ground_truth.json")
    return 0
  try:
    out = writer(args.layout)(args.out_dir, subjects=args.subjects, seed=args.seed,
                clips_per_emotion=args.clips_per_emotion, progress=True)
  except (FileExistsError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(f"wrote {out}: {args.subjects} subjects, {args.clips_per_emotion} clips per emotion "
        f"({args.layout} layout)")
  return 0
