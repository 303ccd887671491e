"""TFDS builders; importing this package registers each database's builder with tfds.

The builders are those of mexp.databases' rows (each row names its class).
"""

from mexp import databases

# The registered builder classes by name ('casme2', 'samm', ...), as --dataset takes them.
BUILDERS = {row.name: databases.resolve(row.builder) for row in databases.TABLE}
NAMES = tuple(BUILDERS)
globals().update({cls.__name__: cls for cls in BUILDERS.values()})  # mexp.datasets.Casme2, ...

__all__ = ["BUILDERS", "NAMES", *(cls.__name__ for cls in BUILDERS.values())]
