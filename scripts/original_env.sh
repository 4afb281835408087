#!/usr/bin/env bash
# A scratch environment that runs the original ArtiMuse code (for scripts/original_expected.py):
# the versions it pins (transformers 4.37.2, tokenizers 0.15.1, sentencepiece 0.1.99, einops 0.6.1,
# peft 0.10.0) and the CPU torch 2.13.0. Usage: scripts/original_env.sh [VENV_DIR] (default
# /tmp/origenv). It stays outside the repository; delete it when done.
set -euo pipefail
venv="${1:-/tmp/origenv}"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
  || "$venv/bin/pip" install -q torch==2.13.0
"$venv/bin/pip" install -q transformers==4.37.2 tokenizers==0.15.1 sentencepiece==0.1.99 \
  einops==0.6.1 peft==0.10.0 accelerate==0.26.1 huggingface_hub==0.20.3 "numpy<2" pillow protobuf
echo "ready: $venv/bin/python scripts/original_expected.py --help"
