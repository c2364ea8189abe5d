#!/usr/bin/env bash
# The device machine takes at most 64 MiB of working tree (tracked files + carried paths); this repo
# tracks more (models, checkpoints, pictures). Before a GPU campaign, switch the checkout to a
# throw-away branch without the files a campaign does not need; switch back right after.
#   bash experiments/scripts/gpu_light_tree.sh on     # checkout gpu-light (big files gone), prints the tree size
#   bash experiments/scripts/gpu_light_tree.sh off    # back to the branch you were on; gpu-light is deleted
# Keep: src/, scripts/, configs/ and the checkpoints the campaign warm-starts from (KEEP_CKPT).
set -euo pipefail
cd "$(dirname "$0")/../.."
KEEP_CKPT=${KEEP_CKPT:-"realtime_plain.pt vgg13_s0_r2.pt dexpression_kd3.pt"}
case ${1:-} in
  on)
    if [ -n "$(git status --porcelain)" ]; then echo "error: commit or stash your changes first" >&2; exit 1; fi
    git rev-parse --abbrev-ref HEAD > .git/gpu-light-from
    git checkout -q -b gpu-light
    heavy=(src/classmood/models/*.onnx docs/screenshots benchmarks/data src/classmood/assets/sample_class.mp4 experiments/runs docs/models docs/benchmarks)
    for f in checkpoints/*.pt; do [[ " $KEEP_CKPT " == *" $(basename "$f") "* ]] || heavy+=("$f"); done
    git rm -rq --cached "${heavy[@]}"
    git commit -qm "gpu-light: temporary tree for the device transfer"
    rm -rf "${heavy[@]}"
    echo "tracked now: $(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1) bytes (limit 67108864 with carried paths)" ;;
  off)
    from=$(cat .git/gpu-light-from 2>/dev/null || echo main)
    git checkout -q "$from" && git branch -q -D gpu-light && rm -f .git/gpu-light-from
    echo "back on $from" ;;
  *) echo "usage: $0 on|off" >&2; exit 2 ;;
esac
