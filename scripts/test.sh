#!/usr/bin/env bash
# Set up (once) and run the whole test suite: venv, CPU torch 2.13.0 pinned, the project + extras.
# Installs only when pyproject.toml or the requirements changed since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh dev
.venv/bin/python -m ruff check artimuse tests benchmarks demo_gradio.py demo_api.py
.venv/bin/python -m pytest -q "$@"
