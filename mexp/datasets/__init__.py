"""TFDS builders; importing this package registers `casme2` and `casme` with tfds."""

from mexp.datasets.casme.casme_dataset_builder import Casme
from mexp.datasets.casme2.casme2_dataset_builder import Casme2

__all__ = ["Casme", "Casme2"]
