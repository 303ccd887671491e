"""Synthetic micro-expressions in the exact layouts of the licensed databases: no data needed.

`python -m mexp.synthetic OUT_DIR [--layout casme2|samm|smic|smic_cropped|casme3|mmew|casme_sq]
[--subjects N] [--seed S]` writes, for CASME II (the default),
  OUT_DIR/CASME2_RAW_selected/subNN/EPxx_yy/imgN.jpg   640x480 colour, N unpadded, any start
  OUT_DIR/CASME2-coding-synthetic.xlsx                the real columns, blank headers included
and SAMM's, SMIC's, CAS(ME)^3's, MMEW's or CAS(ME)^2's layout with the other layouts (see
mexp/synthetic/samm.py, smic.py, casme3.py, mmew.py and casme_sq.py).

Each subject is a procedurally drawn face (OpenCV's Haar detector finds it). Each clip warps the
face by 1-3 px at the apex, onset -> apex -> offset, only around the action units of its emotion.
Distractors: per-clip jitter of the neutral face (larger than the movement, so one frame does not
give the label away), head drift, blinks, illumination flicker, sensor noise and JPEG.

Modules: faces (the drawn face and AU fields), clips (one clip's movement and distractors),
casme2 / samm / smic / casme3 / mmew / casme_sq (one writer per database layout), long_videos
(spotting), samm_lv / casme_sq_lv (`--layout samm_lv --long_videos N`: the MEGC long-video
layouts, through long_twins.py and long_videos' renderer), cli.
"""

from mexp.synthetic import casme3, casme_sq, mmew, samm, smic
from mexp.synthetic.casme2 import (EMOTION_AUS, EMOTIONS, QUIRK_APEX_SLASH_ROW,
                                   QUIRK_OFFSET_PAST_END_ROW, ClipPlan, generate, plan, write_sheet)
from mexp.synthetic.cli import main
from mexp.synthetic.clips import FPS, render_clip
from mexp.synthetic.faces import H, W, Face, au_field, jitter_face, random_face, render
from mexp.synthetic.long_videos import (LongEvent, plan_long_video, render_long_video,
                                        write_long_videos)

generate_samm = samm.generate
generate_smic = smic.generate
generate_casme3 = casme3.generate
generate_mmew = mmew.generate
generate_casme_sq = casme_sq.generate

__all__ = [
    "EMOTIONS", "EMOTION_AUS", "casme3", "casme_sq", "generate_casme3", "generate_casme_sq",
    "generate_mmew", "mmew", "FPS", "H", "W", "QUIRK_APEX_SLASH_ROW",
    "QUIRK_OFFSET_PAST_END_ROW", "ClipPlan", "Face", "LongEvent", "au_field", "generate",
    "generate_samm", "generate_smic", "jitter_face", "main", "plan", "plan_long_video",
    "random_face", "render", "render_clip", "render_long_video", "samm", "smic",
    "write_long_videos", "write_sheet",
]
