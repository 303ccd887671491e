"""Shared TFDS builder: a sheet reader's Samples -> preprocessed raw + saliency clips.

Written as array_record and read with `tfds.data_source`, so TensorFlow is never needed.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import os

import numpy as np
import tensorflow_datasets as tfds

from mexp import databases
from mexp.io import frames as frames_io
from mexp.io import sheets
from mexp.preprocess import clip as clip_lib
from mexp.preprocess import face, motion


@dataclasses.dataclass
class ClipConfig(tfds.core.BuilderConfig):
  """A preprocessing variant; its name is derived from the spec."""
  spec: clip_lib.ClipSpec = clip_lib.ClipSpec()


def make_configs(specs) -> list[ClipConfig]:
  return [ClipConfig(name=s.name, description=f"{s.frames} frames of {s.height}x{s.width}, "
                     f"{s.channels} channel(s), {s.saliency} saliency"
                     + (", apex-centred" if s.apex_centred else ""), spec=s) for s in specs]


# The first is the default. `_a128`: motion measured on a 128 px face, then area-resized;
# without it, at the stored size (the seed's way). Tiny ones keep tests fast.
CONFIGS = make_configs([
    clip_lib.ClipSpec(16, 64, 64, 1, "ststnet", apex_centred=True, analysis_size=128),
    clip_lib.ClipSpec(16, 32, 32, 1, "ststnet", apex_centred=True, analysis_size=128),
    clip_lib.ClipSpec(16, 32, 32, 1, "median", apex_centred=True, analysis_size=128),
    clip_lib.ClipSpec(16, 32, 32, 1, "flow", apex_centred=True, analysis_size=128),
    clip_lib.ClipSpec(16, 32, 32, 1, "ststnet", analysis_size=128),
    clip_lib.ClipSpec(16, 64, 64, 1, "median", apex_centred=True, analysis_size=128),
    clip_lib.ClipSpec(16, 64, 64, 1, "flow", apex_centred=True, analysis_size=128),
    clip_lib.ClipSpec(16, 64, 64, 1, "strain", apex_centred=True, analysis_size=128),
    clip_lib.ClipSpec(16, 64, 64, 1, "onset", apex_centred=True, analysis_size=128),
    clip_lib.ClipSpec(16, 64, 64, 1, "median"),
    clip_lib.ClipSpec(16, 32, 32, 1, "median"),
    clip_lib.ClipSpec(16, 112, 112, 3, "median"),
    clip_lib.ClipSpec(32, 128, 128, 3, "ststnet", apex_centred=True, analysis_size=256),
    clip_lib.ClipSpec(8, 32, 32, 1, "onset"),
    clip_lib.ClipSpec(4, 16, 16, 1, "median"),
    clip_lib.ClipSpec(4, 16, 16, 1, "ststnet", apex_centred=True, analysis_size=32),
])


class BuildError(ValueError):
  """A sample that cannot be built; the message names the sheet row, clip and file."""


class MicroExpressionBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """Base for the database builders: a subclass names its DATABASE row."""

  VERSION = tfds.core.Version("2.1.0")
  RELEASE_NOTES = {"1.0.0": "First release.",
                   "2.0.0": "Motion measured at analysis resolution; saliency stored as float16 in "
                            "its own units (flow in stored pixels); the ststnet kind; faces aligned by "
                            "5 landmarks ('alignment' says which path each clip took).",
                   "2.1.0": "'kind': micro or macro (CAS(ME)^2 annotates both)."}
  BUILDER_CONFIGS = CONFIGS
  DATABASE: databases.Database  # its row of mexp.databases: emotions, reader, citation

  def __init__(self, *, skip_invalid: bool = False, workers: int | None = None, **kwargs):
    """`skip_invalid` skips unusable rows and clips (listed in `self.skipped`) instead of failing."""
    self._skip_invalid = skip_invalid
    self._workers = workers or os.cpu_count() or 1
    self.skipped: list[str] = []
    self.written: list[dict] = []  # small per-sample facts for the build summary
    self.sheet_report: sheets.SheetReport | None = None
    super().__init__(**kwargs)

  def _read_sheet(self, manual_dir, skip_invalid: bool) -> sheets.SheetReport:
    """The database's sheet and clips, by the reader its row names."""
    read = databases.resolve(self.DATABASE.reader)
    return read(manual_dir, skip_invalid=skip_invalid, **self.DATABASE.reader_kwargs)

  def _detect_face(self, report: sheets.SheetReport) -> bool:
    return True

  def _info(self) -> tfds.core.DatasetInfo:
    spec = self.builder_config.spec
    shape = (spec.frames, spec.height, spec.width)
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "raw": tfds.features.Tensor(shape=shape + (spec.channels,), dtype=np.uint8),
            "saliency": tfds.features.Tensor(shape=shape + (spec.saliency_channels,),
                                             dtype=np.float16),
            "emotion": tfds.features.ClassLabel(names=self.DATABASE.emotions),
            "subject": tfds.features.Text(),
            "clip": tfds.features.Text(),
            "onset": tfds.features.Scalar(dtype=np.int32),
            "apex": tfds.features.Scalar(dtype=np.int32),
            "offset": tfds.features.Scalar(dtype=np.int32),
            "apex_estimated": tfds.features.Scalar(dtype=np.bool_),
            "action_units": tfds.features.Text(),
            "fixes": tfds.features.Sequence(tfds.features.Text()),
            "alignment": tfds.features.Text(),  # 'landmarks', 'haar' or 'none'
            "kind": tfds.features.Text(),  # 'micro' or 'macro'
        }),
        supervised_keys=None,
        citation=self.DATABASE.citation,
    )

  def _split_generators(self, dl_manager):
    report = self._read_sheet(dl_manager.manual_dir, self._skip_invalid)
    self.sheet_report = report
    self.skipped = list(report.skipped)
    if not report.samples:
      first = f"; first: {report.skipped[0]}" if report.skipped else ""
      raise BuildError(f"{report.sheet or report.tree}: no usable rows "
                       f"({len(report.skipped)} skipped{first})")
    self.written = []
    return {"train": self._generate_examples(report)}

  def _generate_examples(self, report: sheets.SheetReport):
    detect = self._detect_face(report)
    spec = self.builder_config.spec
    with concurrent.futures.ThreadPoolExecutor(self._workers) as pool:
      # cv2 decode/resize/flow release the GIL, so threads use every core.
      results = pool.map(lambda s: _try_build(s, spec, detect), report.samples)
      for sample, (example, error) in zip(report.samples, results):
        if error is not None:
          if not self._skip_invalid:
            raise error
          self.skipped.append(str(error))
          continue
        self.written.append({k: example[k] for k in ("subject", "clip", "emotion", "kind",
                                                     "apex_estimated", "fixes", "alignment")})
        yield f"{sample.subject}/{sample.clip}", example
    if not self.written:
      raise BuildError(f"no sample of {report.sheet or report.tree} could be built "
                       f"({len(self.skipped)} skipped; first: {self.skipped[0]})")


def _try_build(sample: sheets.Sample, spec, detect_face: bool):
  try:
    return build_example(sample, spec, detect_face), None
  except BuildError as e:
    return None, e


def build_example(sample: sheets.Sample, spec: clip_lib.ClipSpec, detect_face: bool) -> dict:
  """Reads and preprocesses one Sample into a feature dict; errors name the row, clip and file."""
  numbers = [n for n, _ in sample.frames]
  paths = [p for _, p in sample.frames]
  if len(paths) < clip_lib.MIN_FRAMES:
    raise BuildError(f"{sample.source}: {len(paths)} frame(s) from onset to offset on disk; a "
                     f"clip needs at least {clip_lib.MIN_FRAMES} (onset, apex, offset)")
  try:
    frames = frames_io.read_frames(paths)
  except frames_io.FrameReadError as e:
    raise BuildError(f"{sample.source}: {e}") from None
  try:
    out = clip_lib.process_clip(frames, numbers, onset=sample.onset, apex=sample.apex,
                                offset=sample.offset, spec=spec, detect_face=detect_face)
  except face.NoFaceError as e:
    onset = next((p for n, p in sample.frames if n >= sample.onset), paths[0])
    raise BuildError(f"{sample.source}: {e} in the onset frame {onset}") from None
  fixes = list(sample.fixes)
  if out.apex_estimated:
    fixes = [f.replace("apex estimated", f"apex estimated as frame {out.apex}") for f in fixes]
  return {
      "raw": out.raw_TxHxWxC, "saliency": out.saliency_TxHxWxS, "emotion": sample.emotion,
      "subject": sample.subject, "clip": sample.clip, "onset": sample.onset, "apex": out.apex,
      "offset": sample.offset, "apex_estimated": out.apex_estimated,
      "action_units": sample.action_units, "fixes": fixes, "alignment": out.alignment,
      "kind": sample.kind,
  }


def summarise(written: list[dict], skipped: list[str]) -> str:
  """The build summary: samples per emotion and per subject, then every fix and skip."""
  lines = [f"{len(written)} samples written, {len(skipped)} skipped"]
  for title, key in (("per emotion", "emotion"), ("per subject", "subject"),
                     ("per kind", "kind"), ("face alignment", "alignment")):
    counts = collections.Counter(w[key] for w in written)
    lines.append(f"{title}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
  haar = [f"{w['subject']}/{w['clip']}" for w in written if w.get("alignment") == "haar"]
  if haar:
    lines.append(f"no landmarks found, Haar box crop instead ({len(haar)}): {', '.join(haar)}")
  fixes = [(w, f) for w in written for f in w["fixes"]]
  lines.append(f"fixes applied ({len(fixes)}):")
  lines += [f"  {w['subject']}/{w['clip']}: {f}" for w, f in fixes]
  lines.append(f"rows skipped ({len(skipped)}):")
  lines += [f"  {s}" for s in skipped]
  return "\n".join(lines)
