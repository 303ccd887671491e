"""The table of databases: one row per database says everything the code knows of it.

Data only, at the bottom layer: readers, builders and twins are named as 'module:attribute' and
imported by whoever uses them (`resolve`), so config, labels and the readers can all read the
table. Adding a database: its reader (mexp/io), its synthetic twin (mexp/synthetic), its builder
stub (mexp/datasets/NAME/) and one row here.
"""

from __future__ import annotations

import dataclasses
import importlib
import types

_NONE = types.MappingProxyType({})


@dataclasses.dataclass(frozen=True)
class LongVideos:
  """A long-video layout for spotting (MEGC): its reader and its synthetic twin."""
  layout: str  # experiments/spotting.py --layout, mexp.synthetic --layout
  title: str
  fps: float
  reader: str  # 'module:function'(folder, *, skip_invalid) -> long_videos.LongVideoReport
  twin: str  # 'module:function'(out_dir, *, videos, seed, micro, progress)


@dataclasses.dataclass(frozen=True)
class Database:
  """One database's row."""
  name: str  # the builder's name, as --dataset takes it
  title: str
  fps: float  # of its clips (SMIC: the high-speed camera's; its reader knows the others)
  emotions: tuple[str, ...]  # the `emotion` ClassLabel's names, sorted so that ids are stable
  aliases: types.MappingProxyType  # spellings in its files -> canonical (trimmed, lower-cased)
  reader: str  # 'module:function'(manual_dir, *, skip_invalid) -> sheets.SheetReport
  builder: str  # 'module:Class', the registered TFDS builder
  citation: str  # BibTeX
  twin: str | None = None  # the synthetic layout written for it (mexp.synthetic --layout)
  long_videos: LongVideos | None = None
  # Emotions the MEGC 2019 composite (task megc3) leaves out of this database.
  megc3_excluded: frozenset[str] = frozenset()
  reader_kwargs: types.MappingProxyType = dataclasses.field(default_factory=lambda: _NONE)


def _aliases(**spellings: str) -> types.MappingProxyType:
  return types.MappingProxyType(spellings)


_CASME2_ALIASES = _aliases(happy="happiness", surprised="surprise", sad="sadness", other="others")

CASME2 = Database(
    name="casme2", title="CASME II", fps=200.0,
    emotions=("disgust", "fear", "happiness", "others", "repression", "sadness", "surprise"),
    aliases=_CASME2_ALIASES, reader="mexp.io.sheets:read_casme2",
    builder="mexp.datasets.casme2.casme2_dataset_builder:Casme2", twin="casme2",
    # The official MEGC 2019 ground truth leaves CASME II's fear and sadness clips out (145
    # clips: 88 negative, 32 positive, 25 surprise); following it keeps numbers comparable.
    megc3_excluded=frozenset({"fear", "sadness"}),
    citation="""@article{yan2014casme2,
  author  = {Yan, Wen-Jing and Li, Xiaobai and Wang, Su-Jing and Zhao, Guoying and Liu, Yong-Jin and Chen, Yu-Hsin and Fu, Xiaolan},
  title   = {{CASME II}: An Improved Spontaneous Micro-Expression Database and the Baseline Evaluation},
  journal = {PLoS ONE}, volume = {9}, number = {1}, pages = {e86041}, year = {2014},
}""")

CASME = Database(
    name="casme", title="CASME", fps=60.0,
    emotions=("contempt", "disgust", "fear", "happiness", "repression", "sadness", "surprise",
              "tense"),
    # 'comtempt': CASME's Section A/B sheets.
    aliases=_aliases(comtempt="contempt", happy="happiness", surprised="surprise", sad="sadness"),
    reader="mexp.io.sheets:read_casme",
    builder="mexp.datasets.casme.casme_dataset_builder:Casme",
    citation="""@inproceedings{yan2013casme,
  author    = {Yan, Wen-Jing and Wu, Qi and Liu, Yong-Jin and Wang, Su-Jing and Fu, Xiaolan},
  title     = {{CASME} Database: A Dataset of Spontaneous Micro-Expressions Collected from Neutralized Faces},
  booktitle = {IEEE International Conference and Workshops on Automatic Face and Gesture Recognition (FG)},
  year      = {2013},
}""")

SAMM = Database(
    name="samm", title="SAMM", fps=200.0,
    emotions=("anger", "contempt", "disgust", "fear", "happiness", "others", "sadness",
              "surprise"),
    aliases=_aliases(other="others"),  # 'Other' in the v2 sheet, 'Others' in some loaders
    reader="mexp.io.samm:read_samm", builder="mexp.datasets.samm.samm_dataset_builder:Samm",
    twin="samm",
    long_videos=LongVideos(layout="samm_lv", title="SAMM-LV", fps=200.0,
                           reader="mexp.io.samm_lv:read_samm_lv",
                           twin="mexp.synthetic.samm_lv:generate"),
    citation="""@article{davison2018samm,
  author  = {Davison, Adrian K. and Lansley, Cliff and Costen, Nicholas and Tan, Kevin and Yap, Moi Hoon},
  title   = {{SAMM}: A Spontaneous Micro-Facial Movement Dataset},
  journal = {IEEE Transactions on Affective Computing}, volume = {9}, number = {1},
  pages   = {116--129}, year = {2018}, doi = {10.1109/TAFFC.2016.2573832},
}""")

SMIC = Database(
    name="smic", title="SMIC", fps=100.0,
    emotions=("negative", "positive", "surprise"),  # its folder names; SMIC has no finer labels
    aliases=_NONE, reader="mexp.io.smic:read_smic",
    builder="mexp.datasets.smic.smic_dataset_builder:Smic", twin="smic",
    citation="""@inproceedings{li2013smic,
  author    = {Li, Xiaobai and Pfister, Tomas and Huang, Xiaohua and Zhao, Guoying and Pietik{\\"a}inen, Matti},
  title     = {A Spontaneous Micro-expression Database: Inducement, Collection and Baseline},
  booktitle = {10th IEEE International Conference and Workshops on Automatic Face and Gesture Recognition (FG)},
  pages     = {1--6}, year = {2013}, doi = {10.1109/FG.2013.6553717},
}""")

CASME3 = Database(
    name="casme3", title="CAS(ME)^3", fps=30.0,
    emotions=("anger", "disgust", "fear", "happiness", "others", "sadness", "surprise"),
    # Part A's `emotion` column: disgust, surprise, others/Others, fear, anger, sad, happy.
    aliases=_aliases(sad="sadness", happy="happiness", other="others"),
    reader="mexp.io.casme3:read_casme3",
    builder="mexp.datasets.casme3.casme3_dataset_builder:Casme3", twin="casme3",
    citation="""@article{li2023casme3,
  author  = {Li, Jingting and Dong, Zizhao and Lu, Shaoyuan and Wang, Su-Jing and Yan, Wen-Jing and Ma, Yinhuan and Liu, Ye and Huang, Changbing and Fu, Xiaolan},
  title   = {{CAS(ME)}$^3$: A Third Generation Facial Spontaneous Micro-Expression Database with Depth Information and High Ecological Validity},
  journal = {IEEE Transactions on Pattern Analysis and Machine Intelligence}, year = {2023},
}""")

MMEW = Database(
    name="mmew", title="MMEW", fps=90.0,
    emotions=("anger", "disgust", "fear", "happiness", "others", "sadness", "surprise"),
    aliases=_aliases(other="others"),  # the sheet spells the canonical names
    reader="mexp.io.mmew:read_mmew", builder="mexp.datasets.mmew.mmew_dataset_builder:Mmew",
    twin="mmew",
    citation="""@article{ben2022mmew,
  author  = {Ben, Xianye and Ren, Yi and Zhang, Junping and Wang, Su-Jing and Kpalma, Kidiyo and Meng, Weixiao and Liu, Yong-Jin},
  title   = {Video-based Facial Micro-Expression Analysis: A Survey of Datasets, Features and Algorithms},
  journal = {IEEE Transactions on Pattern Analysis and Machine Intelligence}, year = {2022},
}""")

_CASME_SQ_CITATION = """@article{qu2018casme2,
  author  = {Qu, Fangbing and Wang, Su-Jing and Yan, Wen-Jing and Li, He and Wu, Shuhang and Fu, Xiaolan},
  title   = {{CAS(ME)}$^2$: A Database for Spontaneous Macro-Expression and Micro-Expression Spotting and Recognition},
  journal = {IEEE Transactions on Affective Computing}, year = {2018},
}"""

CASME_SQ = Database(
    name="casme_sq", title="CAS(ME)^2", fps=30.0,
    emotions=("negative", "others", "positive", "surprise"),  # CAS(ME)^2's emotion column
    aliases=_aliases(other="others"),  # CASFEcode_final: negative, positive, surprise, others
    reader="mexp.io.casme_sq:read_casme_sq",
    builder="mexp.datasets.casme_sq.casme_sq_dataset_builder:CasmeSq", twin="casme_sq",
    long_videos=LongVideos(layout="casme_sq_lv", title="CAS(ME)^2", fps=30.0,
                           reader="mexp.io.casme_sq_lv:read_casme_sq_lv",
                           twin="mexp.synthetic.casme_sq_lv:generate"),
    citation=_CASME_SQ_CITATION)

# CAS(ME)^2's micro- and macro-expressions (its subjects keep the casme_sq/ prefix).
CASME_SQ_ALL = dataclasses.replace(
    CASME_SQ, name="casme_sq_all", title="CAS(ME)^2 (micro + macro)", long_videos=None,
    builder="mexp.datasets.casme_sq.casme_sq_dataset_builder:CasmeSqAll",
    reader_kwargs=types.MappingProxyType({"macro": True}))

TABLE = (CASME2, CASME, SAMM, SMIC, CASME3, MMEW, CASME_SQ, CASME_SQ_ALL)
ROWS = {row.name: row for row in TABLE}
NAMES = tuple(ROWS)  # the registered builder names
# Named unions of databases.
COMPOSITES = {"megc2019": ("casme2", "samm", "smic")}
# Long-video layouts by --layout; 'synthetic' is mexp's own ground_truth.json folder.
LONG_VIDEOS = {row.long_videos.layout: row.long_videos for row in TABLE if row.long_videos}


def resolve(ref: str):
  """The object a 'module:attribute' reference names."""
  module, _, attribute = ref.partition(":")
  return getattr(importlib.import_module(module), attribute)
