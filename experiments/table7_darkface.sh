#!/usr/bin/env bash
# The MLSM paper's Table VII and Fig. 11 on DARK FACE with facebench.
#
#   bash experiments/table7_darkface.sh /path/to/DarkFace_Train_2021 [DETECTOR] [DETECTOR_WEIGHTS]
#
# The paper: PyramidBox trained on WIDER FACE, all 6,000 labelled images, QF 90 (and 80/70/60 in
# the supplementary sweep). Without a PyramidBox checkpoint, RetinaFace (shipped) stands in, so the
# absolute numbers are not the paper's; the ranking and the paired differences are what to compare.
# Authors' weights (Zero-DCE, SCI, RUAS) are user files: see `facebench list`.
set -euo pipefail
data=${1:?usage: table7_darkface.sh DARKFACE_DIR [DETECTOR] [DETECTOR_WEIGHTS]}
detector=${2:-retinaface}
weights_args=()
[ -n "${3:-}" ] && weights_args=(--detector-weights "$3")
out=runs/table7-$detector

facebench eval --data "$data" --detector "$detector" "${weights_args[@]}" \
  --enhancer none --enhancer mlsm --enhancer zerodce --enhancer lime --enhancer deblock+zerodce \
  --qf 90 --qf 80 --qf 70 --qf 60 --out "$out"
facebench plot "$out" --iou 0.5 --by enhancer      # Fig. 11: one figure per QF, a curve per enhancer
