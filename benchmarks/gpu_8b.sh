#!/usr/bin/env bash
# One prepared GPU benchmark (H100 / H200): preset 8b in bf16, comments of 256 forced tokens;
# then the compiled decode step, int8 / nf4 weights and request batching. Finishes in under 10
# minutes; writes $OUT/{bench,compiled,quant,batching}-8b.json (each rewritten as it goes, so a
# run cut short still leaves what it measured) and their logs. SEED=1: the seed's way alongside.
#
#   OUT=/some/dir bash benchmarks/gpu_8b.sh
#
# Needs only torch + transformers (+ safetensors, tokenizers, pillow, numpy, which transformers
# brings): the package is used from the source tree through PYTHONPATH, nothing is installed.
# bitsandbytes (int8, nf4) and fastapi + uvicorn + httpx + python-multipart (batching) are used
# where present; their absence is written into the JSON of the part that needed them.
# The random 8b checkpoint (16 GB, four shards) is drawn on all CPU cores onto local disk
# (CKPT_DIR, default /tmp/artimuse-bench/8b-bfloat16) and reused by later runs.
# Everything, checkpoint included, stops by TOTAL_S (default 570 s): after the checkpoint, the
# bf16 benchmark gets 38% of the time left, then compiled decode 40%, quantized weights 65% and
# batching the rest of what is left then (a part cut short keeps the JSON it wrote).
# PRESET=tiny DEVICE=cpu NEW_TOKENS=4 TOTAL_S=1800 checks the plumbing on any machine (compiling
# the decode step takes minutes on a small CPU).
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

# What the GPU machine may lack (bitsandbytes; the REST stack for the batching part): noted in
# $OUT/optional.json, and the parts that need it say so in their own JSON instead of failing.
python - <<'PY' > "$OUT/optional.json"
import importlib.util, json
names = ("bitsandbytes", "fastapi", "uvicorn", "httpx", "multipart", "triton")
print(json.dumps({n: importlib.util.find_spec(n) is not None for n in names}))
PY
cat "$OUT/optional.json"

# The time after the checkpoint is shared out: bf16 benchmark (scores and their breakdown, full
# report, decode, dataset images/s), then compiled decode, quantized weights, request batching.
# Each part stops at its share; each writes its JSON as it goes.
left() { echo $(( TOTAL_S - ($(date +%s) - start) )); }
share() { local s=$(( $(left) * $1 / 100 )); echo $(( s > 20 ? s : 20 )); }
COMMON=(--preset "$PRESET" --device "$DEVICE" --ckpt "$CKPT_DIR")
ckpt_left=$(left)

bench_s=$(( ckpt_left * 38 / 100 ))
deadline=$(( bench_s > 120 ? bench_s - 60 : 20 ))
baseline=(); [ "${SEED:-0}" = 1 ] && baseline=(--baseline seed)
timeout --signal=INT "$bench_s" python -m benchmarks.bench \
  --preset "$PRESET" --device "$DEVICE" --dtype bfloat16 --new-tokens "$NEW_TOKENS" \
  "${baseline[@]}" --ckpt-dir "$CKPT_DIR" --repeats 5 --report-repeats 2 --skip rss \
  --decode-steps 64 --dataset-images 64 --dataset-batches 1,8,32 --seed-dataset-images 16 \
  --bandwidth-gb 4 --deadline-s "$deadline" --out "$OUT/bench-$PRESET.json" \
  2> >(tee "$OUT/bench-$PRESET.log" >&2) > "$OUT/bench-$PRESET.stdout.json" || true
echo "bf16 benchmark done after $(( $(date +%s) - start )) s"

timeout --signal=INT "$(share 40)" python -m benchmarks.compiled_decode "${COMMON[@]}" \
  --new-tokens "$NEW_TOKENS" --decode-steps 64 --bandwidth-gb 4 \
  --out "$OUT/compiled-$PRESET.json" 2> "$OUT/compiled-$PRESET.log" > /dev/null || true
echo "compiled decode done after $(( $(date +%s) - start )) s"

timeout --signal=INT "$(share 65)" python -m benchmarks.quant "${COMMON[@]}" \
  --images "${QUANT_IMAGES:-6}" --tokens 32 --aspects 8 \
  --out "$OUT/quant-$PRESET.json" 2> "$OUT/quant-$PRESET.log" > /dev/null || true
echo "quantized weights done after $(( $(date +%s) - start )) s"

if python -c 'import fastapi, uvicorn, httpx, multipart' 2>/dev/null; then
  timeout --signal=INT "$(( $(left) > 20 ? $(left) - 5 : 15 ))" python -m benchmarks.batching \
    "${COMMON[@]}" --clients 1,8,32 --requests "${BATCH_REQUESTS:-64}" \
    --out "$OUT/batching-$PRESET.json" 2> "$OUT/batching-$PRESET.log" > /dev/null || true
else
  echo '{"skipped": "fastapi, uvicorn, httpx or python-multipart is not installed"}' \
    > "$OUT/batching-$PRESET.json"
fi
echo "done in $(( $(date +%s) - start )) s"
