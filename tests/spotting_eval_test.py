import json

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
