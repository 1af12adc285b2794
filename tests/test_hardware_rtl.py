"""Verilog from da4ml, simulated in Verilator and synthesized with Yosys (needs the rtl extra)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from hls4ml_symbolnet.hardware import MissingToolError, synthesize_hardware
from hls4ml_symbolnet.hardware.tools import find_tools, require_da4ml

pytestmark = [pytest.mark.rtl, pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning")]

REQUIRED_KEYS = (
    "latency_cycles",
    "ii",
    "clock_period_ns",
    "lut",
    "ff",
    "dsp",
    "carry",
    "bram",
    "source",
    "bit_exact",
    "samples_checked",
)


@pytest.fixture(scope="module")
def tools():
    try:
        require_da4ml()
        return find_tools()
    except MissingToolError as error:
        pytest.skip(f"open-source hardware tools missing: {error}")


@pytest.fixture(scope="module")
def jet_features(data_dir):
    from hls4ml_symbolnet.datasets import load_jets

    return load_jets(data_dir, max_rows=2000, seed=0)


@pytest.fixture(scope="module")
def small_symbolnet(jet_features):
    import keras

    import hls4ml_symbolnet as sn

    keras.utils.set_random_seed(3)
    model = sn.build_symbolnet(
        16, 5, hidden=[(4, 1)], unary_operators=["sin", "square"], binary_operators=["mul"], seed=3
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    model.fit(
        jet_features.x_train, jet_features.one_hot(jet_features.y_train), epochs=3, batch_size=256, verbose=0
    )
    return model


def _all_operator_network():
    from test_hardware import _all_operator_network as build

    return build(np.random.default_rng(1))


def test_symbolnet_design_is_bit_exact(tools, small_symbolnet, jet_features, tmp_path):
    from hls4ml_symbolnet.converters.precision import make_precision_plan

    from hls4ml_symbolnet import fold_network

    x = jet_features.x_test[:300]
    # Narrow types and 64-entry tables keep the Yosys run short (about 20 s on 2 cores).
    plan = make_precision_plan(
        small_symbolnet, calibration_data=x, table_size=64, default_precision="ap_fixed<10,5>"
    )
    report = synthesize_hardware(small_symbolnet, x, tmp_path, precision=plan, name="jets_tiny")

    record = json.loads((tmp_path / "hardware.json").read_text())
    for key in REQUIRED_KEYS:
        assert key in record, key
    assert record["bit_exact"] is True
    assert record["samples_checked"] == 300
    assert record["ii"] == 1
    assert record["latency_cycles"] == report.pipeline_stages
    assert record["latency_ns"] == record["latency_cycles"] * 5.0
    assert record["lut"] > 0
    assert record["ff"] > 0
    assert record["bram"] == 0
    for figure in ("lut", "ff", "dsp", "carry"):
        assert "not Vivado place-and-route" in record["source"][figure]
    assert "timing closure not verified" in record["source"]["latency_ns"]
    assert (tmp_path / "rtl" / "src" / "jets_tiny.v").is_file()
    assert (tmp_path / "summary.md").read_text().startswith("# Hardware summary: jets_tiny")

    simulation = np.load(tmp_path / "simulation.npz")
    np.testing.assert_array_equal(simulation["rtl"], simulation["reference"])
    # The fixed-point outputs stay close to the float model, so the check compares real outputs.
    float_outputs = fold_network(small_symbolnet).evaluate(simulation["x"])
    assert np.max(np.abs(float_outputs - simulation["reference"])) < 0.1
    assert len(np.unique(simulation["rtl"], axis=0)) > 100


def test_symbolnet_through_command_line(tools, small_symbolnet, jet_features, tmp_path):
    small_symbolnet.save(tmp_path / "symbolnet.keras")
    np.savez(tmp_path / "inputs.npz", x=jet_features.x_test[:120])
    command = [
        sys.executable,
        "-m",
        "hls4ml_symbolnet.hardware",
        "symbolnet.keras",
        "--data",
        "inputs.npz",
        "--precision",
        "ap_fixed<12,6>",
        "--output-dir",
        "out",
        "--no-synthesis",
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]

    record = json.loads((tmp_path / "out" / "hardware.json").read_text())
    assert record["model_kind"] == "symbolnet"
    assert record["bit_exact"] is True
    assert record["samples_checked"] == 120
    assert record["lut"] is None
    assert record["precision"]["input"].startswith("ap_fixed<12,")


@pytest.mark.parametrize("config_name", ["rounding_accumulator", "other_modes"])
def test_all_operators_bit_exact(tools, data_dir, jet_features, tmp_path, config_name):
    from hls4ml_symbolnet.converters.precision import make_precision_plan
    from test_hardware import PLAN_CONFIGS

    network = _all_operator_network()
    x = jet_features.x_test[:300]
    plan = make_precision_plan(
        network, hls_config=PLAN_CONFIGS[config_name], calibration_data=x, input_name="features"
    )
    report = synthesize_hardware(network, x, tmp_path, precision=plan, synthesis=False)
    assert report.bit_exact
    assert report.mismatches == 0
    assert report.latency_cycles == report.pipeline_stages
    assert report.lut is None


def test_latency_follows_pipeline_depth(tools, jet_features, tmp_path):
    from hls4ml_symbolnet.converters.precision import make_precision_plan
    from test_hardware import PLAN_CONFIGS

    network = _all_operator_network()
    x = jet_features.x_test[:300]
    config = PLAN_CONFIGS["rounding_accumulator"]
    plan = make_precision_plan(network, hls_config=config, calibration_data=x, input_name="features")
    shallow = synthesize_hardware(
        network, x[:100], tmp_path / "shallow", precision=plan, latency_cutoff=1000.0, synthesis=False
    )
    deep = synthesize_hardware(
        network,
        x[:100],
        tmp_path / "deep",
        precision=plan,
        latency_cutoff=3.0,
        register_layers=2,
        synthesis=False,
    )
    assert shallow.latency_cycles == 1
    assert deep.latency_cycles == 2 * deep.pipeline_stages
    assert deep.latency_cycles > 4
    assert shallow.bit_exact
    assert deep.bit_exact


def test_mismatch_is_reported(tools, jet_features, tmp_path):
    from da4ml.cmvm.types import Pipeline
    from da4ml.codegen.rtl.rtl_model import get_io_kifs
    from hls4ml_symbolnet.converters.precision import make_precision_plan
    from test_hardware import PLAN_CONFIGS

    from hls4ml_symbolnet.hardware import simulation

    network = _all_operator_network()
    x = jet_features.x_test[:300]
    config = PLAN_CONFIGS["rounding_accumulator"]
    plan = make_precision_plan(network, hls_config=config, calibration_data=x, input_name="features")
    report = synthesize_hardware(network, x[:50], tmp_path, precision=plan, synthesis=False)
    saved = np.load(tmp_path / "simulation.npz")
    reference = saved["reference"].copy()
    reference[17, 2] += 2.0**-8
    pipeline = Pipeline.load(str(tmp_path / "rtl" / "model" / "pipeline.json"))
    inputs, outputs = (simulation.PortLayout.from_kifs(kifs) for kifs in get_io_kifs(pipeline))
    result = simulation.simulate(
        tmp_path / "rtl" / "verilator" / "obj_dir" / "simulate",
        tmp_path / "rtl" / "src" / "memfiles",
        inputs,
        outputs,
        saved["x"],
        reference,
        expected_latency=report.pipeline_stages,
        env=tools.verilator_env,
    )
    assert not result.bit_exact
    assert result.mismatches == 1
    assert result.examples[0]["sample"] == 17


def test_pruned_parts_produce_no_logic(tools, data_dir, jet_features):
    from hls4ml_symbolnet.converters.precision import make_precision_plan

    from hls4ml_symbolnet.hardware._tracing import trace_precision_plan
    from hls4ml_symbolnet.network import FoldedLinear, FoldedNetwork, FoldedSymbolicLayer

    rng = np.random.default_rng(5)
    x = jet_features.x_test[:200]
    kernel = rng.normal(0, 0.5, (16, 3))
    kernel[4:] = 0.0
    output = rng.normal(0, 0.5, (3, 2))

    def network(output_kernel):
        layer = FoldedSymbolicLayer("sym0", FoldedLinear(kernel, np.zeros(3)), ("sin", "exp", "identity"), ())
        return FoldedNetwork(
            16, np.ones(16, bool), (layer,), FoldedLinear(output_kernel, np.zeros(2)), "x", "out"
        )

    def trace(folded):
        plan = make_precision_plan(folded, calibration_data=x, input_name="x")
        return trace_precision_plan(folded, plan)

    full = trace(network(output))
    pruned_output = output.copy()
    pruned_output[1] = 0.0  # the exp node now reaches no output
    pruned = trace(network(pruned_output))

    assert len(full.lookup_tables) == 2
    assert len(pruned.lookup_tables) == 1
    assert pruned.cost < full.cost
    # Inputs 4..15 have no weights: their ports carry no bits.
    widths = [sum(kif) for kif in zip(*pruned.inp_kifs)]
    assert all(width == 0 for width in widths[4:])
    assert all(width > 0 for width in widths[:4])


def test_qkeras_network_through_command_line(tools, data_dir, tmp_path):
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        import tf_keras
        from qkeras import QActivation, QDense, quantized_bits, quantized_relu
        from hls4ml_symbolnet.datasets import load_jets

        tf_keras.utils.set_random_seed(0)
        x = load_jets(sys.argv[1], max_rows=2000, seed=0).x_test[:200]
        weights = quantized_bits(6, 0, alpha=1)
        bits = dict(kernel_quantizer=weights, bias_quantizer=quantized_bits(6, 0, alpha=1))
        inputs = tf_keras.Input((16,), name="features")
        h = QActivation(quantized_relu(6, 0), name="relu_1")(QDense(16, name="dense_1", **bits)(inputs))
        logits = QDense(5, name="output_dense", **bits)(h)
        probabilities = tf_keras.layers.Activation("softmax", name="output_activation")(logits)
        model = tf_keras.Model(inputs, probabilities)
        model.save("qp_dnn.h5")
        x_fixed = np.clip(np.floor(x * 64) / 64, -8, 8 - 1 / 64)
        np.savez("inputs.npz", x=x_fixed)
        np.save("logits.npy", tf_keras.Model(inputs, logits).predict(x_fixed.astype("float32"), verbose=0))
        """
    )
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    built = subprocess.run(
        [sys.executable, "-c", script, str(data_dir)], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert built.returncode == 0, built.stderr[-3000:]

    command = [
        sys.executable,
        "-m",
        "hls4ml_symbolnet.hardware",
        "qp_dnn.h5",
        "--qkeras",
        "--input-type",
        "ap_fixed<10,4,AP_TRN,AP_SAT>",
        "--data",
        "inputs.npz",
        "--output-dir",
        "qp_hardware",
        "--no-synthesis",
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_USE_LEGACY_KERAS", None)
    completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "bit_exact" in completed.stdout

    record = json.loads((tmp_path / "qp_hardware" / "hardware.json").read_text())
    assert record["model_kind"] == "dense"
    assert record["bit_exact"] is True
    assert record["samples_checked"] == 200
    assert record["latency_cycles"] >= 1
    assert any("softmax" in note for note in record["notes"])
    simulation = np.load(tmp_path / "qp_hardware" / "simulation.npz")
    np.testing.assert_array_equal(simulation["reference"], np.load(tmp_path / "logits.npy"))


def test_convolution_is_rejected(tools, tmp_path):
    script = textwrap.dedent(
        """
        import tf_keras
        from qkeras import QConv2D, QDense, quantized_bits
        from hls4ml_symbolnet.hardware import dense_network_from_qkeras

        inputs = tf_keras.Input((8, 8, 1))
        h = QConv2D(2, (3, 3), kernel_quantizer=quantized_bits(6, 0, alpha=1))(inputs)
        model = tf_keras.Model(inputs, QDense(2)(tf_keras.layers.Flatten()(h)))
        try:
            dense_network_from_qkeras(model)
        except NotImplementedError as error:
            print(error)
        """
    )
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "dense networks only" in completed.stdout
