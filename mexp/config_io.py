"""Frozen config dataclasses to and from the command line and JSON, with their types checked.

The command line overrides any field by its dotted path, the convention of flax's examples and
big_vision: `--config.optim.epochs=60 --config.model.late_weights='(0.3,0.7)'`. Parsing is
ml_collections' (config_flags), on a mutable twin of the frozen config; the result is frozen again
and every field's type checked against its annotation.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import re
import types
import typing

from absl import flags
from ml_collections import config_flags


def _tuples(value):
  return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _matches(value, hint) -> bool:
  origin, args = typing.get_origin(hint), typing.get_args(hint)
  if origin in (typing.Union, types.UnionType):
    return any(_matches(value, a) for a in args)
  if origin is tuple:
    if not isinstance(value, tuple):
      return False
    if len(args) == 2 and args[1] is Ellipsis:
      return all(_matches(v, args[0]) for v in value)
    return len(value) == len(args) and all(map(_matches, value, args))
  if hint is type(None):
    return value is None
  if hint in (int, float):  # an int is a valid float; a bool is neither
    return isinstance(value, (int, float) if hint is float else int) and not isinstance(value, bool)
  return isinstance(value, hint)


def _type_name(hint) -> str:
  return hint.__name__ if typing.get_origin(hint) is None and hasattr(hint, "__name__") \
      else str(hint)


def check_types(obj, prefix: str = "") -> None:
  """Raises ValueError naming the first field whose value is not of its annotated type."""
  hints = typing.get_type_hints(type(obj))
  for field in dataclasses.fields(obj):
    name, value, hint = prefix + field.name, getattr(obj, field.name), hints[field.name]
    ok = isinstance(value, hint) if dataclasses.is_dataclass(hint) else _matches(value, hint)
    if not ok:
      raise ValueError(f"{name} must be {_type_name(hint)}, got {type(value).__name__} {value!r}")
    if dataclasses.is_dataclass(hint):
      check_types(value, name + ".")


def _build(cls, d, prefix: str):
  if not isinstance(d, dict):
    what = f"{prefix.rstrip('.')} must be an object of {cls.__name__} keys" if prefix else \
        "expected an object of config keys"
    raise ValueError(f"{what}, got {type(d).__name__} {d!r}")
  hints = typing.get_type_hints(cls)
  unknown = sorted(set(d) - set(cls.__dataclass_fields__))
  if unknown:
    raise ValueError(f"unknown config key {prefix}{unknown[0]}")
  return cls(**{k: _build(hints[k], v, f"{prefix}{k}.") if dataclasses.is_dataclass(hints[k])
                else _tuples(v) for k, v in d.items()})


def from_dict(cls, d: dict):
  """The inverse of dataclasses.asdict (as saved in JSON); missing keys take their defaults.

  Raises:
    ValueError: naming a key `cls` does not have, or a value of the wrong type (e.g.
      "optim.epochs must be int, got str '40'").
  """
  config = _build(cls, d, "")
  check_types(config)
  return config


def _leaves(d: dict, prefix: str = "") -> dict:
  out = {}
  for key, value in d.items():
    out.update(_leaves(value, f"{prefix}{key}.") if isinstance(value, dict)
               else {prefix + key: value})
  return out


def differences(saved, current, ignore: tuple[str, ...] = ()) -> list[str]:
  """'key old -> new' (dotted keys, JSON values) for every field that differs, except `ignore`."""
  a, b = (_leaves(json.loads(json.dumps(dataclasses.asdict(c)))) for c in (saved, current))
  return [f"{k} {json.dumps(a[k])} -> {json.dumps(b[k])}" for k in a
          if k not in ignore and a[k] != b[k]]


def replace(config, path: str, value):
  """`config` with the field at a dotted path ('optim.epochs') set to `value`."""
  head, _, tail = path.partition(".")
  if not tail:
    return dataclasses.replace(config, **{head: value})
  return dataclasses.replace(config, **{head: replace(getattr(config, head), tail, value)})


def _thawed(obj):
  """A mutable twin of a frozen dataclass instance (ml_collections sets fields in place)."""
  hints = typing.get_type_hints(type(obj))
  fields = dataclasses.fields(obj)
  twin = dataclasses.make_dataclass(type(obj).__name__, [(f.name, hints[f.name]) for f in fields])
  return twin(**{f.name: _thawed(getattr(obj, f.name)) if dataclasses.is_dataclass(
      getattr(obj, f.name)) else getattr(obj, f.name) for f in fields})


def _check_path(config, path: str, name: str) -> None:
  """Raises ValueError for a dotted path that names no field, with the nearest ones."""
  holder, walked = config, []
  for part in path.split("."):
    fields = [f.name for f in dataclasses.fields(holder)] if dataclasses.is_dataclass(holder) \
        else []
    if part not in fields:
      near = difflib.get_close_matches(part, fields, n=3)
      where = "--" + ".".join([name, *walked])
      hint = f"; did you mean {' or '.join(where + '.' + n for n in near)}?" if near else (
          f"; {where} has {', '.join(fields)}" if fields else f"; {where} has no fields")
      raise ValueError(f"--{name}.{path}: no such config field{hint}")
    holder, walked = getattr(holder, part), walked + [part]
  if dataclasses.is_dataclass(holder):
    first = dataclasses.fields(holder)[0].name
    raise ValueError(f"--{name}.{path}: a group of fields; set one of them "
                     f"(e.g. --{name}.{path}.{first}=...)")


def override(config, argv: list[str], name: str = "config"):
  """Applies `--config.a.b=value` arguments to a frozen config dataclass.

  Args:
    config: the frozen config to start from (an experiment's get_config()).
    argv: command-line arguments; those not starting with `--{name}.` are returned untouched.
    name: the flag prefix.

  Returns:
    (the new frozen config, {dotted path: value} as given, the other arguments).

  Raises:
    ValueError: one line naming the path, for a field that does not exist or a value that does
      not parse as the field's type.
  """
  pattern = re.compile(rf"^--?(no)?{re.escape(name)}\.([^=]+)")
  for arg in argv:
    if match := pattern.match(arg):
      _check_path(config, match.group(2), name)
  values = flags.FlagValues()
  try:
    holder = config_flags.DEFINE_config_dataclass(name, _thawed(config), flag_values=values,
                                                  sys_argv=["", *argv])
    rest = values(["", *argv], known_only=True)[1:]
  except flags.Error as e:
    raise ValueError(str(e).splitlines()[0].removeprefix("flag ")) from None
  given = dict(config_flags.get_override_values(values[name]))
  try:
    new = from_dict(type(config), json.loads(json.dumps(dataclasses.asdict(holder.value))))
  except ValueError as e:
    raise ValueError(f"--{name}.{e}") from None
  return new, given, rest


def from_argv(make_config, argv: list[str] | None, parser: argparse.ArgumentParser,
              aliases: dict[str, str]):
  """A config from a command line: short flags (aliases of fields), then `--config.PATH=VALUE`.

  Args:
    make_config: the parsed short flags -> the config to start from (e.g. get_config(variant)).
    argv: the command line without the program (sys.argv[1:] when None).
    parser: declares the short flags, each defaulting to None (unset).
    aliases: a short flag's dest -> the dotted path of the field it sets.

  Returns:
    (the config, {path: value} of everything the command line set, the parsed short flags).

  Raises:
    ValueError: one line naming the path or argument that cannot be used.
  """
  args, rest = parser.parse_known_args(argv)
  config = make_config(args)
  given = {path: getattr(args, dest) for dest, path in aliases.items()
           if getattr(args, dest) is not None}
  for path, value in given.items():
    config = replace(config, path, value)
  config, overridden, rest = override(config, rest)
  if rest:
    raise ValueError(f"unrecognized arguments: {' '.join(rest)} (a config field is set with "
                     "--config.PATH=VALUE)")
  return config, {**given, **overridden}, args
