#!/usr/bin/env bash
# Export the shipped emotion models from their training checkpoints and measure them on
# FER-2013 publictest (the accuracy lands in each model's .json). Checkpoints come from the
# GPU campaign (scripts/gpu_campaign.py); CKPT names the folder that holds them.
#   bash scripts/ship_models.sh               # both
#   bash scripts/ship_models.sh realtime      # one of them
set -euo pipefail
cd "$(dirname "$0")/.."
CKPT=${CKPT:-checkpoints}
DATA=${DATA:-../shared/datasets/fer2013/publictest}
M=src/classmood/models
WANTED=${*:-realtime accurate}

for model in $WANTED; do
  case $model in
    realtime)
      # int8 keeps fp32's accuracy (68.6% both without TTA); the mirror-image average inside the
      # graph adds ~1.7 points for twice the (small) classification work
      classmood export-model "$CKPT/realtime_plain.pt" --out $M/realtime.onnx --name realtime --flip \
        --description "Compact VGG-style CNN (1.2M params), int8, mirror-image TTA, trained on FER-2013 train only; the default for live use" \
        --int8 "${TRAIN:-../shared/datasets/fer2013/train}" \
        --evaluate "$DATA" ;;
    accurate)
      classmood export-model "$CKPT/realtime_plain.pt" "$CKPT/realtime_r2.pt" "$CKPT/vgg13_s0_r2.pt" --out $M/accurate.onnx \
        --name accurate --flip \
        --description "Ensemble of 3 CNNs (2 compact VGG + VGG-13), mirror-image TTA, FER-2013 train only" \
        --evaluate "$DATA" ;;
    *) echo "unknown model $model (realtime, accurate)" >&2; exit 2 ;;
  esac
done
