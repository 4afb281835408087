#!/usr/bin/env bash
# Set up (once) and run the whole test suite: venv, CPU torch 2.13.0 pinned, the project + extras.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q torch==2.13.0          # the CPU build; an unpinned torch pulls CUDA
.venv/bin/pip install -q -e ".[dev]"
.venv/bin/python -m ruff check artimuse tests benchmarks demo_gradio.py demo_api.py
.venv/bin/python -m pytest -q "$@"
