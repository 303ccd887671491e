"""The leaderboard: every model's runs over the same folds and seeds, as Markdown and HTML.

Each row is read from one experiment's workdir (WORKDIR/seed_S/results.json per seed, written by
`run.main --seeds`); the numbers are recomputed from the stored test predictions, so every cell
has the same protocol: mean +- sd over seeds, a subject-bootstrap interval of the seeds' mean,
and the paired difference to the floor on the same test clips.
"""

from __future__ import annotations

import dataclasses
import html
import json
from pathlib import Path

import numpy as np

from mexp import metrics, pages


@dataclasses.dataclass(frozen=True)
class Entry:
  """One leaderboard row: what it runs and where its runs live."""
  name: str
  input: str
  workdir: Path


# The field's published anchors: real data, marked as published, and as leaky where the epoch
# was picked on each test subject. Not comparable with a synthetic row; shown for orientation.
ANCHORS = (
    ("STSTNet, MEGC 2019 composite (paper)", "UF1 0.735", "published"),
    ("STSTNet, composite, epoch picked on test subjects (MEB rerun)", "UF1 0.774",
     "published, leaky"),
    ("STSTNet, composite, fixed schedule (MEB rerun)", "UF1 0.713", "published"),
    ("OFF-ApexNet, composite, epoch picked on test subjects (MEB rerun)", "UF1 0.839",
     "published, leaky"),
    ("OFF-ApexNet, composite, fixed schedule (MEB rerun)", "UF1 0.703", "published"),
)


def _runs(workdir: Path, seeds) -> dict[int, dict]:
  missing = [s for s in seeds if not (workdir / f"seed_{s}" / "results.json").is_file()]
  if missing:
    raise FileNotFoundError(f"{workdir}: no results.json for seed(s) "
                            f"{', '.join(map(str, missing))}; run the leaderboard again (it "
                            "resumes)")
  return {s: json.loads((workdir / f"seed_{s}" / "results.json").read_text()) for s in seeds}


def _predictions(runs: dict[int, dict], name: str, reference: list) -> list[np.ndarray]:
  """Each seed's predicted class ids, in the reference order of test clips."""
  out = []
  for seed, r in runs.items():
    p = r["predictions"]
    if list(zip(p["subject"], p["clip"])) != reference:
      raise ValueError(f"{name} seed {seed}: other test clips than the first row's; every row "
                       "must run on the same folds and data")
    out.append(np.asarray(p["predicted"]))
  return out


def _mean_seconds(runs) -> float:
  """The seeds' mean time to train and test every fold (NaN when a run did not record it: a
  rerun's own wall time would read ~0 for a finished run)."""
  seconds = [r.get("seconds_folds") for r in runs]
  return float("nan") if None in seconds else float(np.mean(seconds))


def rows(entries: list[Entry], floor: Entry, seeds) -> tuple[list[dict], dict]:
  """The leaderboard's rows (the floor first) and what they share (protocol, task, clips).

  Raises:
    FileNotFoundError: a run is missing (naming its workdir and seeds).
    ValueError: rows ran on different test clips.
  """
  floor_runs = _runs(floor.workdir, seeds)
  first = next(iter(floor_runs.values()))
  p = first["predictions"]
  reference = list(zip(p["subject"], p["clip"]))
  true_N, subject_N, k = np.asarray(p["label"]), np.asarray(p["subject"]), len(first["classes"])
  floor_preds = _predictions(floor_runs, floor.name, reference)

  def scores(preds):
    return [metrics.summarise(true_N, p_N, subject_N, tuple(range(k))) for p_N in preds]
  floor_scores = scores(floor_preds)
  out = []
  for entry in [floor, *entries]:
    runs = floor_runs if entry is floor else _runs(entry.workdir, seeds)
    preds = floor_preds if entry is floor else _predictions(runs, entry.name, reference)
    row = {"name": entry.name, "input": entry.input, "seeds": list(seeds),
           "parameters": runs[seeds[0]].get("model", {}).get("parameters"),
           "gflops": runs[seeds[0]].get("model", {}).get("forward_gflops_per_clip"),
           "seconds": _mean_seconds(runs.values())}
    per_seed = floor_scores if entry is floor else scores(preds)
    interval = metrics.seeds_bootstrap(true_N, preds, subject_N, k)
    for name in ("uf1", "uar"):
      row[name] = {**metrics.mean_sd([m[name] for m in per_seed]),
                   "interval_95": interval[name]}
    if entry is not floor:
      paired = metrics.seeds_bootstrap(true_N, preds, subject_N, k, baseline_SxN=floor_preds)
      for name in ("uf1", "uar"):
        d = [a[name] - b[name] for a, b in zip(per_seed, floor_scores)]
        row[f"{name}_minus_floor"] = {**metrics.mean_sd(d), "interval_95": paired[name]}
    out.append(row)
  shared = {"protocol": first["protocol"], "task": first["task"], "scheme": first["scheme"],
            "clips": len(reference), "subjects": len(set(subject_N.tolist())), "seeds": list(seeds)}
  return out, shared


def _cell(m: dict | None) -> str:
  if m is None:
    return ""
  low, high = m["interval_95"]
  return f"{metrics.plus_minus(m)} [{low:.3f}, {high:.3f}]"


def _diff(m: dict | None) -> str:
  if m is None:
    return "(the floor)"
  low, high = m["interval_95"]
  return f"{metrics.plus_minus(m, signed=True)} [{low:+.3f}, {high:+.3f}]"


def _cells(row: dict) -> dict[str, str]:
  """A row's display cells (plain text)."""
  return {"name": row["name"], "input": row["input"],
          "parameters": "" if row["parameters"] is None else f"{row['parameters']:,}",
          "gflops": "" if row["gflops"] is None else f"{row['gflops']:.4f}",
          "seconds": "" if np.isnan(row["seconds"]) else f"{row['seconds']:.0f}",
          "uf1": _cell(row["uf1"]), "uar": _cell(row["uar"]),
          "uf1_minus_floor": _diff(row.get("uf1_minus_floor")),
          "uar_minus_floor": _diff(row.get("uar_minus_floor"))}


HEADER = ("model", "input", "parameters", "GFLOPs / clip", "time (s)", "UF1", "UAR",
          "UF1 minus the floor (paired)", "UAR minus the floor (paired)")
KEYS = ("name", "input", "parameters", "gflops", "seconds", "uf1", "uar", "uf1_minus_floor",
        "uar_minus_floor")


def _explanation(shared: dict) -> str:
  seeds = ", ".join(map(str, shared["seeds"]))
  cells = ("mean ± sd over seeds [95% interval of the seeds' mean" if len(shared["seeds"]) > 1
           else "one seed's score, no sd [95% interval")
  return (f"Every row: the same {shared['subjects']} subjects' {shared['clips']} test clips, "
          f"{shared['scheme']}, task {shared['task']}, seeds {seeds}. Cells: {cells} from "
          "resampling the test subjects 1,000 times]; minus the floor: the same, paired (the "
          "same test clips and subject draws for both). Time: the seeds' mean time to train and test every fold, each fold as timed "
          "by the run that finished it (blank where a run did not time its folds). The floor's "
          f"protocol: {shared['protocol']}")


def markdown(table_rows: list[dict], shared: dict) -> str:
  """leaderboard.md."""
  lines = ["# Leaderboard", "", _explanation(shared), "",
           "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
  for row in table_rows:
    cells = _cells(row)
    lines.append("| " + " | ".join(cells[k].replace("|", "\\|") for k in KEYS) + " |")
  lines += ["", "Published anchors (real data; not comparable with the rows above):", ""]
  lines += [f"- {name}: {value} ({kind})" for name, value, kind in ANCHORS]
  return "\n".join(lines) + "\n"


def page(table_rows: list[dict], shared: dict) -> str:
  """leaderboard.html: one self-contained page (no script, no external file)."""
  row_template, anchor_template = pages.template("row.html"), pages.template("anchor.html")
  body = "\n".join(row_template.substitute({k: html.escape(v) for k, v in _cells(r).items()})
                   for r in table_rows)
  anchors = "\n".join(anchor_template.substitute(name=html.escape(n), value=html.escape(v),
                                                 kind=html.escape(k)) for n, v, k in ANCHORS)
  header = "".join(pages.template("header.html").substitute(text=html.escape(h)).strip()
                   for h in HEADER)
  return pages.page(
      "leaderboard.html", explanation=html.escape(_explanation(shared)), rows=body, anchors=anchors, header=header)
