import keras
import numpy as np
import pytest

import hls4ml_symbolnet as sn
from hls4ml_symbolnet import operators
from hls4ml_symbolnet.layers import InputPruning, PrunedDense, SymbolicLayer


def _set(variable, value):
    variable.assign(np.asarray(value, dtype="float32"))


def test_symbolic_layer_matches_manual_formula():
    layer = SymbolicLayer(3, 2, unary_operators=["sin", "square"], binary_operators=["mul", "div"])
    x = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    out = keras.ops.convert_to_numpy(layer(x))
    z = x @ keras.ops.convert_to_numpy(layer.kernel) + keras.ops.convert_to_numpy(layer.bias)
    expected = np.stack(
        [np.sin(z[:, 0]), z[:, 1] ** 2, np.sin(z[:, 2]), z[:, 3] * z[:, 4], z[:, 5] / (0.001 + np.abs(z[:, 6]))],
        axis=1,
    )
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    assert layer.unary_node_operators == ("sin", "square", "sin")
    assert layer.binary_node_operators == ("mul", "div")


def test_pruned_operators_fold_to_identity_and_add():
    layer = SymbolicLayer(2, 2, unary_operators=["exp"], binary_operators=["mul"])
    x = np.random.default_rng(1).normal(size=(5, 3)).astype("float32")
    layer(x)
    _set(layer.unary_threshold, [1.0, 0.2])
    _set(layer.binary_threshold, [0.5, 1.0])
    out = keras.ops.convert_to_numpy(layer(x))
    z = x @ keras.ops.convert_to_numpy(layer.kernel) + keras.ops.convert_to_numpy(layer.bias)
    np.testing.assert_allclose(out[:, 0], z[:, 0], rtol=1e-5)
    np.testing.assert_allclose(out[:, 1], np.exp(z[:, 1]), rtol=1e-5)
    np.testing.assert_allclose(out[:, 2], z[:, 2] * z[:, 3], rtol=1e-5)
    np.testing.assert_allclose(out[:, 3], z[:, 4] + z[:, 5], rtol=1e-5)
    assert layer.effective_unary_operators() == ("identity", "exp")
    assert layer.effective_binary_operators() == ("mul", "add")


def test_weight_mask_prunes_at_or_below_threshold():
    layer = PrunedDense(2)
    layer.build((None, 2))
    _set(layer.kernel, [[0.5, -0.2], [0.1, 0.3]])
    _set(layer.kernel_threshold, [[0.5, 0.1], [0.0, 0.4]])
    _set(layer.bias, [0.2, 0.0])
    masks = layer.masks()
    np.testing.assert_array_equal(masks["kernel"], [[False, True], [True, False]])
    np.testing.assert_array_equal(masks["bias"], [True, False])
    out = keras.ops.convert_to_numpy(layer(np.array([[1.0, 1.0]], "float32")))
    np.testing.assert_allclose(out, [[0.1 + 0.2, -0.2]], rtol=1e-6)


def test_input_pruning_masks_features():
    layer = InputPruning()
    x = np.ones((2, 3), "float32")
    layer(x)
    _set(layer.threshold, [0.0, 1.0, 0.99])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), [[1, 0, 1], [1, 0, 1]])
    np.testing.assert_array_equal(layer.active_mask(), [True, False, True])


def test_thresholds_are_constrained():
    layer = SymbolicLayer(1, 1)
    layer.build((None, 2))
    assert layer.unary_threshold.constraint(keras.ops.convert_to_tensor([-0.5, 1.5])).numpy().tolist() == [0, 1]
    clipped = layer.kernel_threshold.constraint(keras.ops.convert_to_tensor([-0.5, 7.0])).numpy().tolist()
    assert clipped == [0.0, 7.0]


@pytest.mark.parametrize("n_unary,n_binary", [(0, 3), (4, 0), (1, 1)], ids=["binary-only", "unary-only", "one-each"])
def test_layer_with_zero_nodes_of_a_kind(n_unary, n_binary):
    layer = SymbolicLayer(n_unary, n_binary)
    out = layer(np.ones((2, 3), "float32"))
    assert out.shape == (2, n_unary + n_binary)
    assert len(layer.pruning_terms()) == 2 + (n_unary > 0) + (n_binary > 0)


def test_layer_config_round_trip():
    layer = SymbolicLayer(3, 1, unary_operators=["tanh", "cube"], binary_operators=["+"], ste_slope=3.0)
    clone = SymbolicLayer.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert clone.binary_operators == ("add",)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(n_unary=0, n_binary=0), "at least one node"),
        (dict(n_unary=-1, n_binary=1), "n_unary"),
        (dict(n_unary=2, n_binary=1, unary_operators=[]), r"unary_operators=\[\]"),
        (dict(n_unary=2, n_binary=1, unary_operators=["sine"]), "Unknown unary operator 'sine'"),
        (dict(n_unary=2, n_binary=1, binary_operators=[]), r"binary_operators=\[\]"),
        (dict(n_unary=2, n_binary=1, ste_slope=0.0), "ste_slope"),
    ],
    ids=["no-nodes", "negative-count", "empty-unary", "unknown-op", "empty-binary", "zero-slope"],
)
def test_symbolic_layer_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SymbolicLayer(**kwargs)


def test_every_registry_operator_builds_and_runs():
    layer = SymbolicLayer(
        len(operators.UNARY_OPERATORS),
        len(operators.BINARY_OPERATORS),
        unary_operators=list(operators.UNARY_OPERATORS),
        binary_operators=list(operators.BINARY_OPERATORS),
    )
    out = keras.ops.convert_to_numpy(layer(np.random.default_rng(2).normal(size=(16, 3)).astype("float32")))
    assert np.all(np.isfinite(out))


def test_model_save_load_round_trip(tmp_path):
    model = sn.build_symbolnet(3, 2, hidden=[(4, 2), (2, 1)], unary_operators=["sin", "exp"], seed=3)
    model.compile(optimizer="adam")
    layer = model.layers[2]
    _set(layer.unary_threshold, [1.0, 0.0, 1.0, 0.3])
    _set(model.layers[1].threshold, [0.0, 1.0, 0.0])
    x = np.random.default_rng(0).normal(size=(20, 3)).astype("float32")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, sn.SymbolNetModel)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for original, restored in zip(model.layers[1:], loaded.layers[1:]):
        for key, mask in original.masks().items() if hasattr(original, "masks") else []:
            np.testing.assert_array_equal(restored.masks()[key], mask)
        for a, b in zip(original.weights, restored.weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(loaded.layers[1].active_mask(), [True, False, True])
    assert loaded.target_sparsity == model.target_sparsity
