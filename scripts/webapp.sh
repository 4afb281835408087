#!/usr/bin/env bash
# Set up (once) and start the web app on http://localhost:7860 (checkpoint: ARTIMUSE_CKPT).
# Installs only when pyproject.toml or the requirements changed since the last start.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh gradio
exec .venv/bin/python demo_gradio.py "$@"
