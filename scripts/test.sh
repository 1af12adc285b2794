#!/usr/bin/env bash
# Install everything (scripts/setup.sh) and run the whole test suite, slow and rtl tests included.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

if [ -z "${SYMBOLNET_DATA_DIR:-}" ] && [ -d ../shared/data ]; then
    export SYMBOLNET_DATA_DIR
    SYMBOLNET_DATA_DIR=$(cd ../shared/data && pwd)
fi
export TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 CUDA_VISIBLE_DEVICES=-1
exec .venv/bin/python -m pytest -ra "$@"
