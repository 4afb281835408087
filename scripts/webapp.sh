#!/usr/bin/env bash
# Set up (once) and start the web app on http://localhost:7860 (checkpoint: ARTIMUSE_CKPT).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e ".[gradio]"
exec .venv/bin/python demo_gradio.py "$@"
