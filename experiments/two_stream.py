"""The main job.  Run: python experiments/two_stream.py [--manual_dir DIR]

For now (training lands with the next issue) it prepares the data: generates the synthetic CASME II
twin when no --manual_dir is given, builds the TFDS dataset, and summarises what it holds.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import sys

from mexp import config as config_lib


def get_config() -> config_lib.Config:
  return config_lib.Config()


def main(config: config_lib.Config, argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--manual_dir", default=None, help="a CASME II folder (default: synthetic)")
  parser.add_argument("--data_dir", default=config.data.data_dir)
  parser.add_argument("--builder_config", default=config.data.builder_config)
  args = parser.parse_args(argv)
  config = dataclasses.replace(config, data=dataclasses.replace(
      config.data, manual_dir=args.manual_dir, data_dir=args.data_dir,
      builder_config=args.builder_config))

  import tensorflow_datasets as tfds
  from mexp.datasets import build as build_lib
  build_lib.quiet_tfds_logs()
  try:
    dataset, summary = build_lib.prepare(config.data)
  except build_lib.INPUT_ERRORS as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(summary)
  source = tfds.data_source(f"{config.data.dataset}/{config.data.builder_config}",
                            data_dir=config.data.data_dir, split="train")
  names = dataset.info.features["emotion"].names
  first = source[0]
  counts = collections.Counter(names[source[i]["emotion"]] for i in range(len(source)))
  print(f"\ntfds.data_source: {len(source)} clips, raw {first['raw'].shape} {first['raw'].dtype}, "
        f"saliency {first['saliency'].shape}; emotions {dict(sorted(counts.items()))}")
  return 0


if __name__ == "__main__":
  sys.exit(main(get_config()))
