#!/usr/bin/env bash
# One prepared GPU benchmark (H100 / H200): preset 8b in bf16, comments of 256 forced tokens,
# the seed's way alongside. Finishes in under 10 minutes; writes $OUT/bench-8b.json
# (rewritten after every part, so a run cut short still leaves what it measured) and a log.
#
#   OUT=/some/dir bash benchmarks/gpu_8b.sh
#
# Needs only torch + transformers (+ safetensors, tokenizers, pillow, numpy, which transformers
# brings): the package is used from the source tree through PYTHONPATH, nothing is installed.
# The random 8b checkpoint (16 GB, four shards) is drawn on all CPU cores onto local disk
# (CKPT_DIR, default /tmp/artimuse-bench/8b-bfloat16) and reused by later runs.
# Everything, checkpoint included, stops by TOTAL_S (default 570 s); the benchmark skips the
# parts that would start in the last 150 s of its share (listed under "skipped").
# PRESET=tiny DEVICE=cpu NEW_TOKENS=4 checks the plumbing on any machine.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-.benchmarks/out}"
PRESET="${PRESET:-8b}"
DEVICE="${DEVICE:-cuda}"
NEW_TOKENS="${NEW_TOKENS:-256}"
CKPT_DIR="${CKPT_DIR:-/tmp/artimuse-bench/$PRESET-bfloat16}"
TOTAL_S="${TOTAL_S:-570}"
start=$(date +%s)
mkdir -p "$OUT" "$(dirname "$CKPT_DIR")"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export TOKENIZERS_PARALLELISM=false

python - <<'PY' || exit 2
import importlib.util, sys
missing = [m for m in ("torch", "transformers", "safetensors", "tokenizers", "numpy", "PIL")
           if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"missing Python packages: {missing} (install them; artimuse itself is not installed)")
PY

{
  date -u
  nvidia-smi --query-gpu=name,memory.total,memory.used,clocks.max.memory --format=csv || true
  python -c 'import sys, torch, transformers; print(sys.version.split()[0], torch.__version__,
transformers.__version__, torch.cuda.is_available() and torch.cuda.get_device_name())'
  df -h "$(dirname "$CKPT_DIR")" | tail -1
  free -g | head -2
} 2>&1 | tee "$OUT/env.txt"

# Checkpoint first, on its own clock (the benchmark would make it too, inside its own timing).
python -c "
import dataclasses, logging, sys
logging.basicConfig(level=logging.INFO)
from artimuse.testing.checkpoints import PRESETS, ensure_checkpoint
ensure_checkpoint(sys.argv[1], dataclasses.replace(PRESETS[sys.argv[2]], dtype='bfloat16'))
" "$CKPT_DIR" "$PRESET" 2>&1 | tee "$OUT/checkpoint.log"
echo "checkpoint ready after $(( $(date +%s) - start )) s" | tee -a "$OUT/checkpoint.log"

left=$(( TOTAL_S - ($(date +%s) - start) ))
deadline=$(( left > 170 ? left - 150 : 20 ))
timeout --signal=INT "$left" python -m benchmarks.bench \
  --preset "$PRESET" --device "$DEVICE" --dtype bfloat16 --new-tokens "$NEW_TOKENS" \
  --baseline seed --ckpt-dir "$CKPT_DIR" --repeats 5 --report-repeats 2 \
  --decode-steps 64 --dataset-images 48 --seed-dataset-images 16 --repeat-rss 10 \
  --bandwidth-gb 4 --deadline-s "$deadline" --out "$OUT/bench-$PRESET.json" \
  2> >(tee "$OUT/bench-$PRESET.log" >&2) > "$OUT/bench-$PRESET.stdout.json"
echo "done in $(( $(date +%s) - start )) s"
