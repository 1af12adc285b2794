"""A trained MNIST SymbolNet model through both firmware forms.

The model trains briefly on real MNIST images; then more of it is pruned by hand
(border pixels, every ``gauss`` node, all but the largest weights), so that the fold
summary has pruned parts to leave out.
"""

import numpy as np
import pytest
from hls4ml_symbolnet.converters import (
    FixedPointModel,
    compare_with_float,
    convert_from_symbolnet,
    fold_summary,
    plan_from_hls_model,
)

from hls4ml_symbolnet import build_symbolnet, fold_network
from hls4ml_symbolnet.datasets import load_mnist

UNARY = ("sin", "cos", "exp", "gauss")
BINARY = ("mul",)
ACTIVE_WEIGHTS = 250
N_TEST = 500


def train_model(splits):
    import keras

    model = build_symbolnet(
        784, 10, hidden=[(12, 3)], unary_operators=UNARY, binary_operators=BINARY, seed=5, name="mnist"
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    x_train = splits.x_train[:2000]
    y_train = np.eye(10, dtype="float32")[splits.y_train[:2000]]
    model.fit(x_train, y_train, epochs=3, batch_size=128, verbose=0)
    return model


def prune_by_hand(model):
    pixels = np.zeros((28, 28), "float32")
    pixels[:4, :] = pixels[-4:, :] = pixels[:, :4] = pixels[:, -4:] = 1.0
    model.get_layer("mnist_input_pruning").threshold.assign(pixels.reshape(-1))
    symbolic = model.get_layer("mnist_symbolic_0")
    gauss_nodes = np.array([name == "gauss" for name in symbolic.unary_node_operators])
    symbolic.unary_threshold.assign(np.where(gauss_nodes, 1.0, 0.0).astype("float32"))
    kernel = np.abs(symbolic.kernel.numpy()) * (1.0 - pixels.reshape(-1, 1))
    cut = np.sort(kernel.ravel())[-ACTIVE_WEIGHTS - 1]
    symbolic.kernel_threshold.assign(np.full(kernel.shape, cut, "float32"))


@pytest.fixture(scope="module")
def mnist_firmware(data_dir, tmp_path_factory):
    splits = load_mnist(data_dir, seed=0, allow_download=False)
    model = train_model(splits)
    prune_by_hand(model)
    calibration = splits.x_val[:1000]
    x_test = splits.x_test[:N_TEST].astype(np.float64)
    forms = {}
    for form in ("network", "expression"):
        hls_model = convert_from_symbolnet(
            model, output_dir=str(tmp_path_factory.mktemp(form)), calibration_data=calibration, form=form
        )
        hls_model.compile()
        forms[form] = hls_model
    return model, forms, x_test, splits.y_test[:N_TEST]


@pytest.mark.slow
def test_fold_summary_has_nothing_for_pruned_parts(mnist_firmware):
    model, forms, _, _ = mnist_firmware
    summary = fold_summary(forms["network"])
    assert summary.before.functions["gauss"] == 3
    assert summary.after.functions["gauss"] == 0
    assert not any(name.endswith("/gauss") for name in summary.after.tables)
    assert any(name.endswith("/gauss") for name in summary.before.tables)
    folded = fold_network(model)
    assert summary.before.multiplies > 784 * 18
    assert summary.after.multiplies <= ACTIVE_WEIGHTS + np.count_nonzero(folded.output.kernel) + 3
    # The hand-pruned border pixels appear nowhere in the symbolic layer's code.
    parameters = forms["network"].config.get_output_dir() + "/firmware/parameters.h"
    with open(parameters) as file:
        symbolic_code = file.read().split("struct config")[1]
    assert "table_sin" in symbolic_code
    for pixel in (0, 27, 28 * 14 + 2, 783):
        assert f"x[{pixel}]" not in symbolic_code


@pytest.mark.slow
def test_network_and_expression_forms_agree(mnist_firmware):
    model, forms, x_test, y_test = mnist_firmware
    network = forms["network"].predict(x_test)
    expression = forms["expression"].predict(x_test)
    np.testing.assert_array_equal(network, expression)
    assert np.all(np.argmax(network, axis=1) == np.argmax(expression, axis=1))
    reference = FixedPointModel(fold_network(model), plan_from_hls_model(forms["network"])).predict(x_test)
    np.testing.assert_array_equal(network, reference)


@pytest.mark.slow
def test_firmware_classes_match_float_model(mnist_firmware):
    model, forms, x_test, y_test = mnist_firmware
    expected = fold_network(model).evaluate(x_test)
    report = compare_with_float(expected, forms["network"].predict(x_test))
    assert report["class_agreement"] >= 0.97
    firmware_accuracy = np.mean(np.argmax(forms["network"].predict(x_test), axis=1) == y_test)
    float_accuracy = np.mean(np.argmax(expected, axis=1) == y_test)
    assert firmware_accuracy >= float_accuracy - 0.03
