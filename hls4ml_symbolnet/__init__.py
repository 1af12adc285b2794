"""SymbolNet symbolic regression as Keras layers, and its path to FPGA firmware through hls4ml.

The public names below load on first use, so ``import hls4ml_symbolnet.datasets`` (or
hls4ml loading this package as a plugin) does not start TensorFlow.
"""

import importlib
import logging

__version__ = "0.1.0"

_LAZY = {
    "InputPruning": "hls4ml_symbolnet.layers",
    "PrunedDense": "hls4ml_symbolnet.layers",
    "SymbolicLayer": "hls4ml_symbolnet.layers",
    "SymbolNetModel": "hls4ml_symbolnet.model",
    "build_symbolnet": "hls4ml_symbolnet.model",
    "load_model": "hls4ml_symbolnet.model",
    "summed_squared_error": "hls4ml_symbolnet.model",
    "FoldedNetwork": "hls4ml_symbolnet.network",
    "fold_network": "hls4ml_symbolnet.network",
    "SparsityTargets": "hls4ml_symbolnet.training",
}

__all__ = sorted(_LAZY)

logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hls4ml_symbolnet' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
