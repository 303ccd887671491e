"""`python -m mexp.synthetic OUT_DIR [--layout L] [--subjects N] [--seed S] [--long_videos N]`."""

from __future__ import annotations

import argparse
import functools
import sys

from mexp.synthetic import casme2, casme3, casme_sq, mmew, samm, smic
from mexp.synthetic.long_videos import write_long_videos

# Layout -> (writer, number of emotions per subject).
LAYOUTS = {
    "casme2": (casme2.generate, len(casme2.EMOTIONS)),
    "samm": (samm.generate, len(samm.EMOTION_AUS)),
    "smic": (smic.generate, len(smic.EMOTION_AUS)),
    "smic_cropped": (functools.partial(smic.generate, cropped=True), len(smic.EMOTION_AUS)),
    "casme3": (casme3.generate, len(casme3.EMOTION_AUS)),
    "mmew": (mmew.generate, len(mmew.EMOTION_AUS)),
    "casme_sq": (casme_sq.generate, len(casme_sq.EMOTION_AUS)),
}


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(
      prog="python -m mexp.synthetic",
      description="Synthetic micro-expressions in the exact layout of a licensed database.")
  parser.add_argument("out_dir")
  parser.add_argument("--layout", choices=list(LAYOUTS), default="casme2",
                      help="which database's folder layout and sheet to write")
  parser.add_argument("--subjects", type=int, default=8)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--clips_per_emotion", type=int, default=2)
  parser.add_argument("--long_videos", type=int, default=0,
                      help="instead of clips, write this many long videos for spotting")
  args = parser.parse_args(argv)
  if args.long_videos:
    try:
      out = write_long_videos(args.out_dir, videos=args.long_videos, seed=args.seed)
    except FileExistsError as e:
      print(f"error: {e}", file=sys.stderr)
      return 2
    print(f"wrote {out}: {args.long_videos} long videos and ground_truth.json")
    return 0
  write, emotions = LAYOUTS[args.layout]
  try:
    out = write(args.out_dir, subjects=args.subjects, seed=args.seed,
                clips_per_emotion=args.clips_per_emotion, progress=True)
  except (FileExistsError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(f"wrote {out}: {args.subjects} subjects x {emotions} emotions x "
        f"{args.clips_per_emotion} clips ({args.layout} layout)")
  return 0
