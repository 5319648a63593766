#!/usr/bin/env bash
# The GPU check, one prepared script for a lent GPU machine (under 8 minutes): set up, confirm
# the GPU is visible, then rerun the in-process engines' benchmark pinned to GPU 0 and keep its
# JSON in bench/results/ (and in $OUT, where the device runner collects files).
#
#     bash bench/gpu_check.sh            # from the repository root
#
# Target (issue 13): system_over_direct >= 0.8 for each in-process engine on the GPU. Set-up
# gets 200 s and the benchmark 260 s; either running over fails the script, naming which.
set -euo pipefail
trap 'echo "gpu_check: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
stamp="$(date -u +%Y-%m-%d)"
gpu_name="$(nvidia-smi --query-gpu=name --format=csv,noheader -i 0 | tr ' ' '-' | tr -cd '[:alnum:]-')"
result="bench/results/engines-${gpu_name,,}-${stamp}.json"

timeout 200 python3 dev.py setup
nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv
.venv/bin/python -c "import torch; assert torch.cuda.is_available(), 'CUDA not visible to torch'; print('torch sees', torch.cuda.get_device_name(0))"

timeout 260 .venv/bin/python bench/engines.py --gpu 0 --engines transformers-causal,diffusion-gemma \
  > "$result.partial"
mv "$result.partial" "$result"
if [ -n "${OUT:-}" ]; then cp "$result" "$OUT/"; fi
.venv/bin/python - "$result" <<'PY'
import json, sys
engines = json.load(open(sys.argv[1]))["engines"]
for name, figures in engines.items():
    placed = figures["system"]["batched_placement"]
    print(f"{name}: system_over_direct {figures['system_over_direct']} (target >= 0.8), "
          f"batched_over_sequential {figures['batched_over_sequential']}, devices "
          f"{placed['devices']}, GPU ids {placed['gpu_ids']}, worker on GPU "
          f"{placed.get('worker_on_gpu')}")
PY
