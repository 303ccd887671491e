import numpy as np
import openpyxl
import pytest

from mexp import synthetic
from mexp.datasets import build as build_lib
from mexp.io import frames as frames_io
from mexp.io import sheets


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory):
  out = tmp_path_factory.mktemp("syn") / "casme2"
  return synthetic.generate(out, subjects=1, seed=7, clips_per_emotion=1)


def test_layout_and_sheet_are_casme2(synthetic_dir):
  rows = list(openpyxl.load_workbook(synthetic_dir / "CASME2-coding-synthetic.xlsx").active
              .iter_rows(values_only=True))
  assert rows[0] == ("Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None,
                     "Action Units", "Estimated Emotion")
  assert sorted(r[8] for r in rows[1:]) == sorted(synthetic.EMOTIONS)
  quirks = synthetic.QUIRK_APEX_SLASH_ROW, synthetic.QUIRK_OFFSET_PAST_END_ROW
  assert rows[1 + quirks[0]][4] == "/"
  for i, (subject, filename, _, onset, apex, offset, _, aus, emotion) in enumerate(rows[1:]):
    if i == quirks[1]:
      offset -= 14  # the sheet says 14 frames more than the folder holds, as in sub16/EP01_08
    assert isinstance(subject, int) and onset < (apex if i != quirks[0] else offset) <= offset
    folder = synthetic_dir / "CASME2_RAW_selected" / f"sub{subject:02d}" / filename
    numbers = [n for n, _ in frames_io.list_frames(folder)]
    assert numbers == list(range(onset, offset + 1))
    assert (folder / f"img{onset}.jpg").exists()  # unpadded, starting at the onset number
    assert frames_io.read_image(folder / f"img{onset}.jpg").shape == (480, 640, 3)
    assert aus in {"+".join(map(str, a)) for a in synthetic.EMOTION_AUS[emotion]}


def test_deterministic_from_the_seed(synthetic_dir, tmp_path):
  again = synthetic.generate(tmp_path / "again", subjects=1, seed=7, clips_per_emotion=1)
  first = sorted((synthetic_dir / "CASME2_RAW_selected").rglob("*.jpg"))[:5]
  for path in first:
    twin = again / path.relative_to(synthetic_dir)
    assert twin.read_bytes() == path.read_bytes()
  other = synthetic.plan(1, seed=8)[1][0]
  assert other != synthetic.plan(1, seed=7)[1][0]


def test_refuses_to_overwrite(synthetic_dir):
  with pytest.raises(FileExistsError, match="not empty"):
    synthetic.generate(synthetic_dir, subjects=1)


def test_movement_is_small_and_where_the_action_units_are():
  face = synthetic.random_face(np.random.default_rng(0))
  field = synthetic.au_field(face, (6, 12), amplitude=2.0)
  magnitude = np.linalg.norm(field, axis=-1)
  assert 1.9 < magnitude.max() <= 2.0 * 1.05  # bumps of both sides barely overlap
  mouth_corner = magnitude[int(face.mouth_y), int(face.cx + face.mouth_w)]
  brow = magnitude[int(face.brow_y), int(face.cx)]
  assert mouth_corner > 1.0 and brow < 0.01
  surprise = np.linalg.norm(synthetic.au_field(face, (1, 2), 2.0), axis=-1)
  assert surprise[int(face.brow_y), int(face.cx + 0.16 * face.fw)] > 1.0
  assert surprise[int(face.mouth_y), int(face.cx + face.mouth_w)] < 0.01


def test_one_frame_does_not_give_the_label_away():
  # Per-clip jitter of the neutral face moves features more than the expression does.
  rng = np.random.default_rng(0)
  face = synthetic.random_face(rng)
  shifts = [abs(synthetic.jitter_face(face, rng).mouth_y - face.mouth_y) for _ in range(50)]
  assert max(shifts) > 2.0


def test_builder_reads_the_synthetic_folder(synthetic_dir, tmp_path):
  report = sheets.read_casme2(synthetic_dir)
  assert report.tree.name == "CASME2_RAW_selected" and len(report.samples) == 7
  dataset, summary = build_lib.build("casme2", manual_dir=synthetic_dir, data_dir=tmp_path,
                                     config="t4_16x16_grey_median")
  assert "7 samples written, 0 skipped" in summary  # a face was found in every onset frame
  assert "fixes applied (2)" in summary and "apex estimated as frame" in summary
  assert "offset clamped" in summary
  import tensorflow_datasets as tfds
  source = tfds.data_source("casme2/t4_16x16_grey_median", data_dir=tmp_path, split="train")
  names = dataset.info.features["emotion"].names
  by_clip = {s.clip: s for s in report.samples}
  for i in range(len(source)):
    x = source[i]
    s = by_clip[x["clip"].decode()]
    assert names[x["emotion"]] == s.emotion
    assert (int(x["onset"]), int(x["offset"])) == (s.onset, s.offset)
    if s.apex is None:  # the '/' row: estimated near the true apex the generator used
      true_apex = synthetic.plan(1, seed=7, clips_per_emotion=1)[1][
          synthetic.QUIRK_APEX_SLASH_ROW].apex
      assert bool(x["apex_estimated"]) and abs(int(x["apex"]) - true_apex) <= 6
    else:
      assert int(x["apex"]) == s.apex and not x["apex_estimated"]


def test_builds_are_identical_run_to_run(synthetic_dir, tmp_path):
  # The builder detects faces in a thread pool: results must not depend on thread timing.
  import tensorflow_datasets as tfds
  arrays = []
  for run in ("a", "b"):
    build_lib.build("casme2", manual_dir=synthetic_dir, data_dir=tmp_path / run,
                    config="t8_32x32_grey_onset")
    source = tfds.data_source("casme2/t8_32x32_grey_onset", data_dir=tmp_path / run, split="train")
    arrays.append({source[i]["clip"]: source[i]["raw"] for i in range(len(source))})
  assert arrays[0].keys() == arrays[1].keys()
  for clip, raw in arrays[0].items():
    np.testing.assert_array_equal(raw, arrays[1][clip])


def test_package_keeps_every_public_name():
  for name in ("H", "W", "FPS", "EMOTION_AUS", "EMOTIONS", "Face", "random_face", "jitter_face",
               "render", "au_field", "render_clip", "ClipPlan", "plan", "write_sheet", "generate",
               "QUIRK_APEX_SLASH_ROW", "QUIRK_OFFSET_PAST_END_ROW", "LongEvent", "plan_long_video",
               "render_long_video", "write_long_videos", "main", "generate_samm", "generate_smic",
               "generate_casme3", "generate_mmew", "generate_casme_sq"):
    assert hasattr(synthetic, name), name


def test_cli_defaults_to_casme2_and_refuses_a_full_folder(synthetic_dir, capsys):
  assert synthetic.main([str(synthetic_dir), "--subjects", "1"]) == 2
  assert "not empty" in capsys.readouterr().err
  assert synthetic.main([str(synthetic_dir), "--layout", "samm", "--subjects", "40"]) == 2
  assert "--subjects must be 1..29 for SAMM" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--subjects", "0"], "--subjects 0: must be at least 1"),
    (["--clips_per_emotion", "0"], "--clips_per_emotion 0: must be at least 1"),
    (["--long_videos", "-1"], "--long_videos -1: must be at least 0"),
    (["--long_videos", "2", "--micro", "-2"], "--micro -2: must be at least 0"),
])
def test_cli_refuses_counts_that_make_nothing(tmp_path, capsys, flags, message):
  assert synthetic.main([str(tmp_path / "x")] + flags) == 2
  assert capsys.readouterr().err.strip() == f"error: {message}"
  assert not (tmp_path / "x").exists()


def test_clips_and_long_videos_share_one_blink_and_frame_path():
  from mexp.synthetic import clips
  assert np.allclose(clips.blink_profile(10, 2, close=2),
                     [0, 0, 0, 0.5, 1, 0.75, 0.5, 0.25, 0, 0])
  face = synthetic.random_face(np.random.default_rng(0))
  base, closed = synthetic.render(face), synthetic.render(face, eyes_closed=True)
  yy, xx = np.mgrid[:synthetic.H, :synthetic.W].astype(np.float32)
  rng = np.random.default_rng(0)
  still = clips.compose_frame(base, closed, 0.0, xx, yy, 1.0, 0.0, rng)
  assert np.array_equal(still, np.clip(np.rint(base), 0, 255).astype(np.uint8))
  shut = clips.compose_frame(base, closed, 1.0, xx, yy, 1.0, 0.0, rng)
  assert np.array_equal(shut, np.clip(np.rint(closed), 0, 255).astype(np.uint8))
  # Sampling one pixel to the left moves the image one pixel right.
  moved = clips.compose_frame(base, closed, 0.0, xx - 1, yy, 1.0, 0.0, rng)
  assert np.array_equal(moved[:, 1:], still[:, :-1])
  noisy = clips.compose_frame(base, closed, 0.0, xx, yy, 1.0, 2.0, rng).astype(float) - still
  assert 1.6 < noisy.std() < 2.4
