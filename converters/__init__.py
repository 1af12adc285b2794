"""hls4ml plugin for SymbolNet: convert trained models into FPGA firmware.

Importing this package loads neither hls4ml nor TensorFlow; the names below load on
first use. After ``pip install``, ``import hls4ml`` registers the plugin through the
``hls4ml.backends`` entry point, which also makes ``hls4ml.converters.convert_from_symbolnet``
available.
"""

import importlib
import sys

_LAZY = {
    "convert_from_symbolnet": "hls4ml_symbolnet.converters.convert",
    "config_from_symbolnet": "hls4ml_symbolnet.converters.config",
    "make_precision_plan": "hls4ml_symbolnet.converters.precision",
    "profile_ranges": "hls4ml_symbolnet.converters.precision",
    "PrecisionPlan": "hls4ml_symbolnet.converters.plan",
    "SymbolicLayerPlan": "hls4ml_symbolnet.converters.plan",
    "OutputLayerPlan": "hls4ml_symbolnet.converters.plan",
    "FixedPointModel": "hls4ml_symbolnet.converters.reference",
    "FixedType": "hls4ml_symbolnet.converters.fixed_point",
    "LookupTable": "hls4ml_symbolnet.converters.fixed_point",
    "plan_from_hls_model": "hls4ml_symbolnet.converters.node_view",
    "fold_summary": "hls4ml_symbolnet.converters.summary",
    "FoldSummary": "hls4ml_symbolnet.converters.summary",
    "compare_with_float": "hls4ml_symbolnet.converters.summary",
    "firmware_expressions": "hls4ml_symbolnet.converters.expression",
    "register_symbolnet": "hls4ml_symbolnet.converters.register",
    "simulate_firmware": "hls4ml_symbolnet.converters.simulation",
    "FirmwareRun": "hls4ml_symbolnet.converters.simulation",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hls4ml_symbolnet.converters' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))


# When hls4ml is already imported (for instance without the entry point installed),
# attach the converter functions now; otherwise hls4ml's plugin loader does it.
if "hls4ml.converters" in sys.modules and "hls4ml.backends" in sys.modules:
    importlib.import_module("hls4ml_symbolnet.converters.register").attach_converter_functions()
