"""TFDS builders; importing this package registers each database's builder with tfds."""

from mexp.datasets.casme.casme_dataset_builder import Casme
from mexp.datasets.casme2.casme2_dataset_builder import Casme2
from mexp.datasets.casme3.casme3_dataset_builder import Casme3
from mexp.datasets.casme_sq.casme_sq_dataset_builder import CasmeSq, CasmeSqAll
from mexp.datasets.mmew.mmew_dataset_builder import Mmew
from mexp.datasets.samm.samm_dataset_builder import Samm
from mexp.datasets.smic.smic_dataset_builder import Smic

# The registered builder names ('casme2', 'samm', ...), as --dataset takes them.
NAMES = tuple(cls.name for cls in (Casme2, Casme, Samm, Smic, Casme3, Mmew, CasmeSq, CasmeSqAll))

__all__ = ["NAMES", "Casme", "Casme2", "Casme3", "CasmeSq", "CasmeSqAll", "Mmew", "Samm", "Smic"]
