#!/usr/bin/env bash
# Install everything (scripts/setup.sh), then train SymbolNet on MNIST, export expressions and
# run the hls4ml firmware in C simulation. Outputs go to output/mnist; extra arguments go to
# examples/mnist.py (see `--help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

if [ -z "${SYMBOLNET_DATA_DIR:-}" ] && [ -d ../shared/data ]; then
    export SYMBOLNET_DATA_DIR
    SYMBOLNET_DATA_DIR=$(cd ../shared/data && pwd)
fi
export TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 CUDA_VISIBLE_DEVICES=-1
exec .venv/bin/python examples/mnist.py --output-dir output/mnist "$@"
