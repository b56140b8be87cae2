#!/usr/bin/env bash
# One GPU lease, prepared here: train a few minutes on a lent GPU machine (device tool) from the
# committed best weights, bring the checkpoints and metrics back, continue on the CPU from them.
#
#   /usr/bin/python3 models/pack_data.py      # once: what training reads, at 320 px, WebP -> models/.pack/data (git-ignored)
#   bash models/gpu_train.sh --dry-run        # here, first: 20 steps on the CPU from the same files
#   device run: command   "MINUTES=7 bash models/gpu_train.sh"
#               carry     ["models/.pack/data"]          (the tree + the pack must stay under 64 MiB)
#               timeout_s 560
#   back here:  the files under files_at: $CONFIG_NAME-best.pt / -last.pt / metrics.csv / train.log;
#               continue on the CPU with --init <that best.pt> (a warm restart) or --resume <that last.pt>
#
# CONFIG names the run config (default models/configs/people320-context-gpu.json: batch 32, a warm
# restart from models/checkpoints/people320-context-best.pt). The GPU machine's python3 holds
# PyTorch with CUDA; the augmenter runs on its CPU in the training process.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${CONFIG:-models/configs/people320-context-gpu.json}
MINUTES=${MINUTES:-7}
name=$(basename "$CONFIG" .json)
export PYTHONUNBUFFERED=1
[ -d models/.pack/data ] || { echo "Expected models/.pack/data (run models/pack_data.py first) but it is missing" >&2; exit 1; }
common=(--config "$CONFIG" --data models/.pack/data --cache models/.pack/cache)

if [ "${1:-}" = "--dry-run" ]; then
  # the same command on the CPU, 20 steps, under another run name so nothing of a real run changes
  dry="dryrun-$name"
  /usr/bin/python3 models/train.py "${common[@]}" --device cpu --name "$dry" --stop-after-steps 20
  ls -l "models/checkpoints/$dry-last.pt" "models/runs/$dry/metrics.csv"
  rm -rf "models/checkpoints/$dry-last.pt" "models/checkpoints/$dry-best.pt" "models/runs/$dry"
  echo "dry run ok"
  exit 0
fi

OUT=${OUT:?Expected OUT (the device tool sets it) but it is unset}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
python3 models/train.py "${common[@]}" --device cuda --stop-after-min "$MINUTES" 2>&1 | tee "$OUT/train.log"
cp "models/checkpoints/$name-last.pt" "models/checkpoints/$name-best.pt" "models/runs/$name/metrics.csv" "$OUT/"
