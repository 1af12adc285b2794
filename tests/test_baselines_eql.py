"""EQL baseline: the smoothed L0.5 penalty, masks, three-phase training and expression export."""

import keras
import numpy as np
import pytest
from hls4ml_symbolnet.baselines.eql import (
    EQLModel,
    apply_threshold,
    build_eql,
    eql_to_sympy,
    fold_eql,
    smoothed_l05,
    smoothed_l05_numpy,
    to_symbolnet,
    train_eql,
)

from hls4ml_symbolnet.datasets import load_jets
from hls4ml_symbolnet.export import complexity, evaluate_expressions


@pytest.fixture(scope="module")
def jets(data_dir):
    return load_jets(data_dir, max_rows=1500, seed=3)


def test_l05_keras_matches_numpy():
    values = np.array([-0.5, -0.02, -0.004, 0.0, 0.003, 0.01, 0.2, 3.0], dtype="float32")
    expected = smoothed_l05_numpy(values, 0.01)
    assert float(smoothed_l05(values, 0.01)) == pytest.approx(expected.sum(), rel=1e-5)
    assert expected[3] == pytest.approx(np.sqrt(3 * 0.01 / 8))
    assert expected[-1] == pytest.approx(np.sqrt(3.0))


def test_l05_continuous_at_smoothing_width():
    a = 0.05
    below = smoothed_l05_numpy(np.array([a - 1e-7, a - 2e-7]), a)
    above = smoothed_l05_numpy(np.array([a + 1e-7, a + 2e-7]), a)
    assert below[0] == pytest.approx(above[0], abs=1e-6)
    slope_below = (below[0] - below[1]) / 1e-7
    slope_above = (above[1] - above[0]) / 1e-7
    assert slope_below == pytest.approx(slope_above, rel=1e-3)


def test_l05_gradient_finite_at_zero():
    import tensorflow as tf

    weights = tf.Variable([0.0, 1e-6, -0.3])
    with tf.GradientTape() as tape:
        value = smoothed_l05(weights, 0.01)
    gradient = tape.gradient(value, weights).numpy()
    assert np.isfinite(gradient).all()
    assert gradient[0] == 0.0
    assert gradient[2] == pytest.approx(-0.5 / np.sqrt(0.3), rel=1e-4)


def test_l05_gradient_finite_for_large_weights():
    import tensorflow as tf

    weights = tf.Variable([5.0, -40.0])
    with tf.GradientTape() as tape:
        value = smoothed_l05(weights, 0.01)
    gradient = tape.gradient(value, weights).numpy()
    np.testing.assert_allclose(gradient, [0.5 / np.sqrt(5.0), -0.5 / np.sqrt(40.0)], rtol=1e-4)


def test_layer_matches_folded_numpy():
    model = build_eql(
        3, 2, hidden=[(4, 2)], unary_operators=["sin", "square"], binary_operators=["mul", "add"], seed=1
    )
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    layer = model.masked_layers()[0]
    assert layer.unary_node_operators == ("sin", "square", "sin", "square")
    assert layer.binary_node_operators == ("mul", "add")
    np.testing.assert_allclose(model.predict(x, verbose=0), fold_eql(model).evaluate(x), atol=1e-5)


def test_loss_adds_weighted_penalty():
    model = build_eql(4, 2, hidden=[(3, 1)], seed=2)
    model.compile(optimizer="adam")
    x = np.ones((8, 4), "float32")
    y = np.zeros((8, 2), "float32")
    prediction = model(x)
    model.penalty_strength.assign(0.0)
    base = float(model.compute_loss(x=x, y=y, y_pred=prediction))
    model.penalty_strength.assign(0.5)
    penalized = float(model.compute_loss(x=x, y=y, y_pred=prediction))
    expected = sum(
        smoothed_l05_numpy(array, model.smoothing).sum()
        for layer in model.masked_layers()
        for array in (layer.folded_linear().kernel, layer.folded_linear().bias)
    )
    assert penalized - base == pytest.approx(0.5 * expected, rel=1e-4)


def test_threshold_masks_and_zeroes():
    model = build_eql(5, 2, hidden=[(4, 1)], seed=3)
    kernel_before = keras.ops.convert_to_numpy(model.masked_layers()[0].kernel)
    pruned, total = apply_threshold(model, 0.3)
    layer = model.masked_layers()[0]
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    mask = keras.ops.convert_to_numpy(layer.kernel_mask)
    assert np.array_equal(mask, (np.abs(kernel_before) >= 0.3).astype("float32"))
    assert np.all(kernel[mask == 0] == 0)
    assert 0 < pruned < total
    assert model.weight_sparsity() == pytest.approx(pruned / total)


@pytest.mark.slow
def test_three_phases_on_jets(jets):
    keras.utils.set_random_seed(5)
    model = build_eql(jets.n_features, jets.n_classes, hidden=[(6, 2)], seed=5)
    history = train_eql(
        model,
        jets.x_train,
        jets.one_hot(jets.y_train),
        penalty_strength=1e-2,
        threshold=0.05,
        phase_epochs=(1, 2, 1),
        batch_size=128,
        learning_rate=0.01,
    )
    assert list(history.phases) == ["no_penalty", "penalty", "fine_tune"]
    assert history.phases["penalty"]["l05"][-1] < history.phases["no_penalty"]["l05"][0]
    assert history.pruned > 0
    masked = sum(
        int((keras.ops.convert_to_numpy(mask) == 0).sum())
        for layer in model.masked_layers()
        for mask in (layer.kernel_mask, layer.bias_mask)
    )
    assert masked == history.pruned
    assert model.weight_sparsity() >= history.pruned / history.total
    accuracy = np.mean(model.predict(jets.x_test, verbose=0).argmax(axis=1) == jets.y_test)
    assert accuracy > 0.3


@pytest.mark.slow
def test_fine_tune_keeps_zeros(jets):
    model = build_eql(jets.n_features, jets.n_classes, hidden=[(4, 1)], seed=6)
    train_eql(
        model,
        jets.x_train[:300],
        jets.one_hot(jets.y_train[:300]),
        penalty_strength=0.0,
        threshold=0.2,
        phase_epochs=(0, 0, 2),
        batch_size=64,
    )
    for layer in model.masked_layers():
        kernel = keras.ops.convert_to_numpy(layer.kernel)
        mask = keras.ops.convert_to_numpy(layer.kernel_mask)
        assert np.all(kernel[mask == 0] == 0)


def test_expressions_match_predict(jets):
    model = build_eql(jets.n_features, jets.n_classes, hidden=[(4, 2)], seed=7)
    apply_threshold(model, 0.25)
    expressions = eql_to_sympy(model)
    assert len(expressions) == jets.n_classes
    names = {symbol.name for e in expressions for symbol in e.free_symbols}
    assert names <= {f"x{i}" for i in range(jets.n_features)}
    predicted = model.predict(jets.x_test, verbose=0)
    np.testing.assert_allclose(evaluate_expressions(expressions, jets.x_test), predicted, atol=1e-4)
    assert all(complexity(e) > 0 for e in expressions)


def test_symbolnet_copy_is_identical(jets):
    model = build_eql(jets.n_features, jets.n_classes, hidden=[(5, 2)], seed=8)
    apply_threshold(model, 0.2)
    copy = to_symbolnet(model)
    np.testing.assert_allclose(
        copy.predict(jets.x_test, verbose=0), model.predict(jets.x_test, verbose=0), atol=1e-6
    )
    from hls4ml_symbolnet.network import fold_network

    folded_copy = fold_network(copy)
    folded = fold_eql(model)
    np.testing.assert_array_equal(folded_copy.layers[0].linear.kernel, folded.layers[0].linear.kernel)
    assert folded_copy.layers[0].unary == folded.layers[0].unary


def test_save_and_load_keeps_masks(tmp_path):
    model = build_eql(3, 2, hidden=[(2, 1)], seed=9)
    apply_threshold(model, 0.4)
    path = tmp_path / "eql.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, EQLModel)
    x = np.random.default_rng(1).normal(size=(16, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded.masked_layers()[0].kernel_mask),
        keras.ops.convert_to_numpy(model.masked_layers()[0].kernel_mask),
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"phase_epochs": (1, 2)}, "phase_epochs"),
        ({"threshold": -0.1}, "threshold"),
        ({"penalty_strength": float("nan")}, "penalty_strength"),
    ],
    ids=["two-phases", "negative-threshold", "nan-strength"],
)
def test_train_rejects_bad_arguments(kwargs, message):
    model = build_eql(3, 2, hidden=[(2, 1)])
    arguments = {"penalty_strength": 0.1, "threshold": 0.1, **kwargs}
    with pytest.raises(ValueError, match=message):
        train_eql(model, np.zeros((4, 3)), np.zeros((4, 2)), **arguments)


def test_train_rejects_wrong_width():
    model = build_eql(3, 2, hidden=[(2, 1)])
    with pytest.raises(ValueError, match="columns"):
        train_eql(model, np.zeros((4, 5)), np.zeros((4, 2)), penalty_strength=0.1, threshold=0.1)
