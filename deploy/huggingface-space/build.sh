#!/usr/bin/env bash
# Assemble a Hugging Face Space from this folder and the artimuse package:
#   bash deploy/huggingface-space/build.sh OUT_DIR
# then push OUT_DIR to the Space's git repository (git init, add, commit, push).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:?usage: build.sh OUT_DIR}"
mkdir -p "$out"
cp "$here/README.md" "$here/app.py" "$here/requirements.txt" "$out/"
rm -rf "$out/artimuse"
cp -r "$root/artimuse" "$out/artimuse"
find "$out/artimuse" -name __pycache__ -type d -prune -exec rm -rf {} +
echo "Space assembled in $out"
