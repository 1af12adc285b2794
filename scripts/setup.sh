#!/usr/bin/env bash
# Create .venv in the repository root (once) and install the package with every extra.
# Safe to run again: when pyproject.toml is unchanged since the last successful install,
# nothing is reinstalled.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.hls4ml-symbolnet-installed
wanted=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[all]"
    echo "$wanted" > "$stamp"
fi
.venv/bin/python -c "import hls4ml_symbolnet, hls4ml; print('hls4ml-symbolnet', hls4ml_symbolnet.__version__, 'with hls4ml', hls4ml.__version__)"
