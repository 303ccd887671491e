import json

import numpy as np

from mexp import spotting_eval, synthetic
from mexp.io import frames as frames_io


def test_long_videos_ground_truth(tmp_path):
  out = synthetic.write_long_videos(tmp_path / "long", videos=1, seconds=4.0, fps=50, micro=1)
  truth = json.loads((out / "ground_truth.json").read_text())
  (video,) = truth["videos"]
  kinds = sorted(e["kind"] for e in video["events"])
  assert kinds == ["macro", "micro"] and truth["frames"] == 200
  spans = sorted((e["onset"], e["offset"]) for e in video["events"])
  assert all(a[1] + 25 <= b[0] for a, b in zip(spans, spans[1:]))  # >= 0.5 s apart
  for e in video["events"]:
    seconds = (e["offset"] - e["onset"] + 1) / 50
    assert (seconds <= 0.5) == (e["kind"] == "micro")
  frames, fps = frames_io.read_video(out / video["file"])
  assert frames.shape == (200, 480, 640, 3) and fps == 50


def test_evaluate_scores_and_writes(trained_workdir, tmp_path):
  videos = synthetic.write_long_videos(tmp_path / "long", videos=1, seconds=4.0, fps=50, micro=1)
  results = spotting_eval.evaluate(trained_workdir[0], videos)
  for kind in ("micro", "macro"):
    s = results["spotting"][kind]
    assert s["tp"] + s["fn"] == 1 and 0 <= s["f1"] <= 1
  overall = results["spotting"]["overall"]
  assert overall["tp"] + overall["fn"] == 2 and overall["tp"] == sum(
      results["spotting"][k]["tp"] for k in ("micro", "macro"))
  assert "overall spotting: F1" in spotting_eval.table(results)
  assert 0 <= results["strs"] <= 1 and "IoU >= 0.5" in results["protocol"]
  assert "STRS" in spotting_eval.table(results)
  path = spotting_eval.write(results, tmp_path / "out")
  assert json.loads(path.read_text())["strs"] == results["strs"]


def _results(recognition, strs, micro_tps, unmapped):
  score = {"f1": 0.8, "recall": 0.8, "precision": 0.8, "tp": micro_tps, "fp": 1, "fn": 1}
  return {"protocol": "p", "database": "SAMM-LV", "spotting": {"micro": score},
          "recognition": recognition, "strs": strs, "unmapped_tps": unmapped,
          "micro_tps": micro_tps}


def test_table_says_why_a_score_is_undefined_and_what_was_left_out():
  lines = spotting_eval.table(_results(None, None, 3, 0)).splitlines()
  assert "recognition: undefined: none of the 3 micro TP(s) has an emotion label the task maps" \
      in lines
  assert "STRS: undefined (the ground truth has no emotion labels the task maps)" in lines
  assert "recognition: no micro TP to score" in spotting_eval.table(_results(None, None, 0, 0))
  rec = {"uf1": 1.0, "uar": 1.0, "n": 1}
  text = spotting_eval.table(_results(rec, 0.9, 5, 4))
  assert "(n=1 of 5 micro TPs)" in text
  assert "note: 4 of 5 micro TP(s) left out of recognition and STRS" in text
  gap = "SAMM_longvideos/007_2: frame(s) 430-580 missing (151 of 2000): the spotter reads ..."
  with_truth = dict(_results(rec, 0.9, 5, 0), ground_truth={
      "intervals": {"micro": 6}, "skipped": [], "fixes": [], "notes": ["header on row 10", gap]})
  text = spotting_eval.table(with_truth)
  assert f"note: {gap}" in text and "header on row 10" not in text


def test_the_timeline_keeps_missing_frames_as_gaps():
  from mexp import pages
  video = {"first_frame": 10, "fps": 10.0, "missing_frames": [[12, 13]],
           "energy": [0.0, 1.0, None, 2.0]}
  np.testing.assert_allclose(pages._seconds(video), [0.0, 0.1, 0.4, 0.5])
  np.testing.assert_allclose(pages._seconds({**video, "missing_frames": []}), [0, 0.1, 0.2, 0.3])
