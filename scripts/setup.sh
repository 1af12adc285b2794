#!/usr/bin/env bash
# Create .venv in the repository root (once) and install the package with every extra.
# Safe to run again: an existing .venv is reused and pip only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[all]"
.venv/bin/python -c "import hls4ml_symbolnet, hls4ml; print('hls4ml-symbolnet', hls4ml_symbolnet.__version__, 'with hls4ml', hls4ml.__version__)"
