# Sourced by webapp.sh and test.sh: make .venv (once) and install torch and the project with
# the extra named by $1, unless the venv already has exactly what these files ask for: a stamp
# holds the hash of pyproject.toml, the requirements files, this file and the extra, so a
# start with nothing changed runs no pip at all (seconds saved, and it works offline).
TORCH_PIN="torch==2.13.0"  # the CPU build here; on a GPU machine install the CUDA build first
EXTRA="$1"
STAMP=".venv/.artimuse-installed-$EXTRA"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
wanted="$(cat pyproject.toml requirements*.txt scripts/setup.sh 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$wanted" ]; then
  .venv/bin/pip install -q --upgrade pip
  # TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu: PyTorch's official CPU-only build
  .venv/bin/pip install -q "$TORCH_PIN" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
  .venv/bin/pip install -q -e ".[$EXTRA]"
  echo "$wanted" > "$STAMP"
fi
