"""The import graph, from every module's imports (function-level ones included): no circles, and
no import that runs back up a layer."""

import ast
from pathlib import Path

ROOT = Path(__file__).parent.parent / "mexp"
# Lowest first; a module may import its own layer and those below.
LAYERS = (
    ("mexp.databases", "mexp.labels", "mexp.config", "mexp.config_io", "mexp.io.files"),
    ("mexp.io",),
    ("mexp.preprocess",),
    ("mexp.synthetic",),
    ("mexp.datasets",),
    ("mexp.input_pipeline", "mexp.folds", "mexp.augment"),
    ("mexp.conv3d", "mexp.published", "mexp.models"),
    ("mexp.metrics", "mexp.baselines", "mexp.distributed", "mexp.checkpoints", "mexp.train"),
    ("mexp.plots", "mexp.report", "mexp.pages", "mexp.leaderboard", "mexp.evaluate",
     "mexp.run"),
    ("mexp.tracking", "mexp.spotting", "mexp.spotting_fit", "mexp.predictor", "mexp.stream",
     "mexp.predict", "mexp.spotting_eval"),
)


def _modules() -> dict[str, Path]:
  out = {}
  for path in ROOT.rglob("*.py"):
    name = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
    out[name.removesuffix(".__init__")] = path
  return out


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
  graph = {m: set() for m in modules}
  for name, path in modules.items():
    for node in ast.walk(ast.parse(path.read_text())):
      if isinstance(node, ast.Import):
        targets = [a.name for a in node.names]
      elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                   else node.module for a in node.names]
      else:
        continue
      graph[name] |= {t for t in targets if t in modules and t != name}
  return graph


def _layer(name: str) -> int | None:
  best = None
  for i, prefixes in enumerate(LAYERS):
    for p in prefixes:
      if (name == p or name.startswith(p + ".")) and (best is None or len(p) > best[1]):
        best = (i, len(p))
  return None if best is None else best[0]


def test_no_import_circles():
  graph = _graph(_modules())
  index, low, stack, on, circles = {}, {}, [], set(), []

  def visit(v):  # Tarjan's strongly connected components
    index[v] = low[v] = len(index)
    stack.append(v)
    on.add(v)
    for w in graph[v]:
      if w not in index:
        visit(w)
        low[v] = min(low[v], low[w])
      elif w in on:
        low[v] = min(low[v], index[w])
    if low[v] == index[v]:
      component = []
      while True:
        w = stack.pop()
        on.discard(w)
        component.append(w)
        if w == v:
          break
      if len(component) > 1:
        circles.append(sorted(component))
  for v in graph:
    if v not in index:
      visit(v)
  assert circles == []


def test_no_import_runs_back_up_a_layer():
  modules = _modules()
  unplaced = [m for m in modules if m != "mexp" and _layer(m) is None]
  assert unplaced == [], "place each new module in LAYERS"
  upward = [f"{m} -> {d}" for m, deps in _graph(modules).items() for d in deps
            if m != "mexp" and _layer(d) > _layer(m)]
  assert upward == []


def test_the_database_table_names_what_each_layer_holds():
  """The table names readers, twins and builders as strings (the graph above cannot see those
  imports): each resolves, and each lives in its layer."""
  import tensorflow_datasets as tfds
  from mexp import databases, datasets
  assert datasets.NAMES == databases.NAMES
  for name in databases.NAMES:  # registered by importing mexp.datasets
    assert tfds.builder_cls(name) is datasets.BUILDERS[name]
  refs = [(row.reader, "mexp.io.") for row in databases.TABLE]
  refs += [(row.builder, "mexp.datasets.") for row in databases.TABLE]
  refs += [(v.reader, "mexp.io.") for v in databases.LONG_VIDEOS.values()]
  refs += [(v.twin, "mexp.synthetic.") for v in databases.LONG_VIDEOS.values()]
  for ref, package in refs:
    assert ref.startswith(package) and callable(databases.resolve(ref)), ref
  for row in databases.TABLE:
    assert datasets.BUILDERS[row.name].name == row.name
    assert row.emotions == tuple(sorted(row.emotions)), row.name  # ClassLabel ids stay stable
    assert set(row.aliases.values()) <= set(row.emotions), row.name
    assert row.megc3_excluded <= set(row.emotions), row.name


def test_the_tables_that_lower_layers_keep_match_their_owners():
  from mexp import config as config_lib
  from mexp import conv3d
  assert set(config_lib.CONVS) == set(conv3d.IMPLS) | {"auto"}
