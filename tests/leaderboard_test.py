"""The leaderboard from stored runs: known answers, the paired view, the pages."""

import html.parser
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import page_check

from mexp import leaderboard, metrics

SUBJECTS = [f"casme2/sub{i:02d}" for i in range(4) for _ in range(3)]
CLIPS = [f"EP{i:02d}" for i in range(12)]
LABELS = [i % 3 for i in range(12)]


def _write_runs(workdir: Path, predicted_by_seed: dict[int, list[int]], parameters=None):
  for seed, predicted in predicted_by_seed.items():
    folder = workdir / f"seed_{seed}"
    folder.mkdir(parents=True)
    results = {"protocol": "LOSO CV (4 folds, 4 subjects, 12 clips), tiny", "scheme": "LOSO CV",
               "task": "seed6", "classes": ["a", "b", "c"], "seconds_this_run": 0.2,
               "seconds_folds": 10.0 + seed,  # a rerun of a finished run: its folds' own times
               "predictions": {"subject": SUBJECTS, "clip": CLIPS, "label": LABELS,
                               "predicted": predicted}}
    if parameters:
      results["model"] = {"parameters": parameters, "forward_gflops_per_clip": 0.5}
    (folder / "results.json").write_text(json.dumps(results))


def test_rows_recompute_every_cell_from_the_stored_predictions(tmp_path):
  floor_pred = [0, 1, 2, 0, 1, 1, 0, 1, 2, 2, 1, 2]
  model_pred = {0: LABELS, 1: [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 0, 2]}
  _write_runs(tmp_path / "floor", {0: floor_pred, 1: floor_pred})
  _write_runs(tmp_path / "model", model_pred, parameters=1234)
  floor = leaderboard.Entry("floor", "flow (u, v, |flow|)", tmp_path / "floor")
  model = leaderboard.Entry("model", "clips", tmp_path / "model")
  rows, shared = leaderboard.rows([model], floor, (0, 1))
  assert [r["name"] for r in rows] == ["floor", "model"]
  assert shared["clips"] == 12 and shared["subjects"] == 4 and shared["seeds"] == [0, 1]
  labels, subjects = np.array(LABELS), np.array(SUBJECTS)
  uf1 = [metrics.uf1(labels, np.array(p), 3) for p in model_pred.values()]
  m = rows[1]["uf1"]
  assert m["mean"] == pytest.approx(np.mean(uf1)) and m["sd"] == pytest.approx(np.std(uf1, ddof=1))
  assert m["interval_95"] == metrics.seeds_bootstrap(
      labels, [np.array(p) for p in model_pred.values()], subjects, 3)["uf1"]
  floor_uf1 = metrics.uf1(labels, np.array(floor_pred), 3)
  d = rows[1]["uf1_minus_floor"]
  assert d["mean"] == pytest.approx(np.mean(uf1) - floor_uf1)
  assert d["interval_95"] == metrics.seeds_bootstrap(
      labels, [np.array(p) for p in model_pred.values()], subjects, 3,
      baseline_SxN=[np.array(floor_pred)] * 2)["uf1"]
  assert rows[0]["uf1"]["sd"] == 0.0 and "uf1_minus_floor" not in rows[0]
  assert rows[1]["parameters"] == 1234 and rows[1]["seconds"] == 10.5
  older = json.loads((tmp_path / "model" / "seed_1" / "results.json").read_text())
  del older["seconds_folds"]  # a run from before fold timing: no time, rather than its rerun's
  (tmp_path / "model" / "seed_1" / "results.json").write_text(json.dumps(older))
  assert np.isnan(leaderboard.rows([model], floor, (0, 1))[0][1]["seconds"])

  text = leaderboard.markdown(rows, shared)
  line = next(l for l in text.splitlines() if l.startswith("| model | clips |"))
  assert f"{np.mean(uf1):.3f} ± {np.std(uf1, ddof=1):.3f} [" in line and "| 1,234 |" in line
  assert "published, leaky" in text and "seeds 0, 1" in text
  floor_line = next(l for l in text.splitlines() if l.startswith("| floor |"))
  assert floor_line.count(" | ") == len(leaderboard.HEADER) - 1  # its '|flow|' escaped

  page = leaderboard.page(rows, shared)
  assert "<script" not in page and "http" not in page  # self-contained, offline
  parser = _Cells()
  parser.feed(page)
  parser.close()
  assert parser.rows[0][0] == "model" and len(parser.rows) == 3  # header, floor, model
  assert all(len(r) == len(leaderboard.HEADER) for r in parser.rows)
  assert parser.rows[2][:2] == ["model", "clips"]


class _Cells(html.parser.HTMLParser):
  """The table's cells, row by row; fails on a tag closed out of order."""

  def __init__(self):
    super().__init__()
    self.rows, self.open = [], []

  def handle_starttag(self, tag, attrs):
    if tag not in ("meta", "br"):
      self.open.append(tag)
    if tag == "tr":
      self.rows.append([])
    if tag in ("td", "th"):
      self.rows[-1].append("")

  def handle_endtag(self, tag):
    assert self.open and self.open.pop() == tag, tag

  def handle_data(self, data):
    if self.open and self.open[-1] in ("td", "th"):
      self.rows[-1][-1] += data


def test_rows_refuse_missing_runs_and_other_clips(tmp_path):
  _write_runs(tmp_path / "floor", {0: LABELS, 1: LABELS})
  _write_runs(tmp_path / "model", {0: LABELS})
  floor = leaderboard.Entry("floor", "flow", tmp_path / "floor")
  model = leaderboard.Entry("model", "clips", tmp_path / "model")
  with pytest.raises(FileNotFoundError, match=r"model: no results.json for seed\(s\) 1; run the "
                                              "leaderboard again"):
    leaderboard.rows([model], floor, (0, 1))
  other = json.loads((tmp_path / "model" / "seed_0" / "results.json").read_text())
  other["predictions"]["clip"] = CLIPS[::-1]
  (tmp_path / "model" / "seed_0" / "results.json").write_text(json.dumps(other))
  with pytest.raises(ValueError, match="model seed 0: other test clips than the first row's"):
    leaderboard.rows([model], floor, (0,))


@pytest.mark.slow
def test_the_leaderboard_experiment_end_to_end(tiny_casme2, tmp_path, monkeypatch):
  monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "experiments"))
  sys.modules.pop("leaderboard", None)
  import importlib
  experiment = importlib.import_module("leaderboard")
  manual_dir, data_dir = tiny_casme2
  argv = ["--seeds", "0", "--workdir", str(tmp_path / "lb"), "--rows", "ststnet",
          "--manual_dir", str(manual_dir), "--data_dir", str(data_dir),
          "--config.data.builder_config=t4_16x16_grey_ststnet_apex_a32",
          "--config.data.folds=2", "--config.optim.epochs=2", "--config.optim.batch_size=4"]
  assert experiment.main(argv) == 0
  text = (tmp_path / "lb" / "leaderboard.md").read_text()
  assert "| floor: linear probe |" in text and "| STSTNet (as published) |" in text
  assert "±" not in text and "one seed's score, no sd" in text  # one seed: no spread to show
  page_check.check(tmp_path / "lb" / "leaderboard.html", "Leaderboard")  # Chromium if present
  page_check.check(tmp_path / "lb" / "ststnet" / "seed_0" / "report.html", "Run report")
  timed = json.loads((tmp_path / "lb" / "ststnet" / "seed_0" / "results.json").read_text())
  assert experiment.main(argv) == 0  # a rerun resumes: nothing is trained again
  again = json.loads((tmp_path / "lb" / "ststnet" / "seed_0" / "results.json").read_text())
  assert again["seconds_folds"] == timed["seconds_folds"] > again["seconds_this_run"]
