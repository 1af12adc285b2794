"""C simulation against the numpy fixed-point model, bit for bit, for every registry operator.

One model per precision holds every unary and binary operator twice, once kept and
once pruned; its output layer is the identity, so each output is one node's value.
Two compiles cover all cases.
"""

import numpy as np
import pytest
from hls4ml_symbolnet.converters import (
    FixedPointModel,
    compare_with_float,
    convert_from_symbolnet,
    plan_from_hls_model,
)

from hls4ml_symbolnet import build_symbolnet, fold_network
from hls4ml_symbolnet.datasets import load_jets
from hls4ml_symbolnet.operators import BINARY_OPERATORS, UNARY_OPERATORS

N_INPUTS = 3
UNARY = list(UNARY_OPERATORS)
BINARY = list(BINARY_OPERATORS)
N_NODES = 2 * len(UNARY) + 2 * len(BINARY)
PRECISIONS = {
    "fixed18-trn-wrap": "ap_fixed<18,10>",
    "fixed14-rndconv-sat": "ap_fixed<14,6,AP_RND_CONV,AP_SAT>",
}
CASES = [("unary", name, state) for name in UNARY for state in ("kept", "pruned")]
CASES += [("binary", name, state) for name in BINARY for state in ("kept", "pruned")]


def node_column(arity: str, name: str, state: str) -> int:
    if arity == "unary":
        return UNARY.index(name) + (len(UNARY) if state == "pruned" else 0)
    offset = 2 * len(UNARY)
    return offset + BINARY.index(name) + (len(BINARY) if state == "pruned" else 0)


def operator_model(seed: int = 7):
    model = build_symbolnet(
        N_INPUTS,
        N_NODES,
        hidden=[(2 * len(UNARY), 2 * len(BINARY))],
        unary_operators=UNARY,
        binary_operators=BINARY,
        seed=seed,
        name="ops",
    )
    model(np.zeros((1, N_INPUTS), "float32"))
    rng = np.random.default_rng(seed)
    symbolic = model.get_layer("ops_symbolic_0")
    symbolic.kernel.assign(rng.normal(0.0, 0.5, symbolic.kernel.shape).astype("float32"))
    symbolic.bias.assign(rng.normal(0.0, 0.3, symbolic.bias.shape).astype("float32"))
    # The second copy of every operator is pruned.
    symbolic.unary_threshold.assign(np.repeat([0.0, 1.0], len(UNARY)).astype("float32"))
    symbolic.binary_threshold.assign(np.repeat([0.0, 1.0], len(BINARY)).astype("float32"))
    output = model.get_layer("ops_output")
    output.kernel.assign(np.eye(N_NODES, dtype="float32"))
    output.bias.assign(np.full(N_NODES, 1.0, "float32"))
    output.bias_threshold.assign(np.full(N_NODES, 2.0, "float32"))
    return model


@pytest.fixture(scope="module")
def jets(data_dir):
    splits = load_jets(data_dir, max_rows=800, seed=1)
    return splits.x_train[:, :N_INPUTS], splits.x_test[:, :N_INPUTS]


@pytest.fixture(scope="module", params=list(PRECISIONS), ids=list(PRECISIONS))
def firmware(request, jets, tmp_path_factory):
    calibration, real = jets
    rng = np.random.default_rng(11)
    # Real test rows, calibration rows, then random inputs that reach beyond the
    # calibration range, so overflow, saturation and table clamping occur.
    blocks = [real, calibration[:200], rng.normal(0.0, 2.5, (300, N_INPUTS))]
    inputs = np.concatenate(blocks).astype(np.float64)
    model = operator_model()
    project = tmp_path_factory.mktemp(request.param)
    hls_model = convert_from_symbolnet(
        model,
        output_dir=str(project),
        calibration_data=calibration,
        default_precision=PRECISIONS[request.param],
    )
    hls_model.compile()
    folded = fold_network(model)
    reference = FixedPointModel(folded, plan_from_hls_model(hls_model))
    return {
        "folded": folded,
        "inputs": inputs,
        "n_real": len(real) + 200,
        "simulated": hls_model.predict(inputs),
        "reference": reference.predict(inputs),
        "plan": reference.plan,
    }


def test_every_registry_operator_is_covered():
    covered = {(arity, name) for arity, name, _ in CASES}
    assert covered == {("unary", n) for n in UNARY_OPERATORS} | {("binary", n) for n in BINARY_OPERATORS}


@pytest.mark.slow
@pytest.mark.parametrize("arity,name,state", CASES, ids=[f"{a}-{n}-{s}" for a, n, s in CASES])
def test_operator_bit_exact(firmware, arity, name, state):
    column = node_column(arity, name, state)
    layer = firmware["folded"].layers[0]
    effective = layer.unary[column] if arity == "unary" else layer.binary[column - layer.n_unary]
    if state == "pruned":
        assert effective == ("identity" if arity == "unary" else "add")
    else:
        assert effective == name
    simulated = firmware["simulated"][:, column]
    reference = firmware["reference"][:, column]
    n_real = firmware["n_real"]
    np.testing.assert_array_equal(simulated[:n_real], reference[:n_real], err_msg="real inputs")
    np.testing.assert_array_equal(simulated[n_real:], reference[n_real:], err_msg="random inputs")


@pytest.mark.slow
def test_firmware_close_to_float_on_calibration_rows(firmware):
    start = firmware["n_real"] - 200
    inputs = firmware["inputs"][start : firmware["n_real"]]
    simulated = firmware["simulated"][start : firmware["n_real"]]
    expected = firmware["folded"].evaluate(inputs)
    report = compare_with_float(expected, simulated)
    assert np.isfinite(report["max_abs_error"])
    # Operators with slopes near 1 stay within one result LSB plus a few table steps of
    # float. Steep ones (exp, cosh, log near 0, div, pow) scale the table error by their
    # slope, so they are left out of this bound.
    layer = firmware["plan"].layers[0]
    tolerance = layer.types["result"].lsb + 4 * max(table.step for table in layer.tables.values())
    gentle = [
        node_column("unary", name, "kept") for name in ("sin", "cos", "tanh", "gauss", "identity", "square")
    ]
    assert np.max(np.abs(simulated[:, gentle] - expected[:, gentle])) <= tolerance


def test_compare_with_float_reports_error_and_agreement():
    reference = np.array([[0.1, 0.9], [0.8, 0.2], [0.4, 0.6]])
    firmware = np.array([[0.2, 0.8], [0.3, 0.7], [0.4, 0.6]])
    report = compare_with_float(reference, firmware)
    assert report["max_abs_error"] == pytest.approx(0.5)
    assert report["class_agreement"] == pytest.approx(2 / 3)
