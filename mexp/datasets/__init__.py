"""TFDS builders; importing this package registers casme2, casme, samm and smic with tfds."""

from mexp.datasets.casme.casme_dataset_builder import Casme
from mexp.datasets.casme2.casme2_dataset_builder import Casme2
from mexp.datasets.samm.samm_dataset_builder import Samm
from mexp.datasets.smic.smic_dataset_builder import Smic

__all__ = ["Casme", "Casme2", "Samm", "Smic"]
