import keras
import numpy as np
import pytest
import sympy

import hls4ml_symbolnet as sn
from hls4ml_symbolnet.export import (
    complexity,
    evaluate_expressions,
    expression_error,
    round_constants,
    to_latex,
    to_strings,
    to_sympy,
)


def _closed_form_data(n=512, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 3)).astype("float32")
    y = np.stack([x[:, 0] ** 2 + np.cos(x[:, 1]), x[:, 0] * x[:, 2]], axis=1).astype("float32")
    return x, y


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    x, y = _closed_form_data()
    model = sn.build_symbolnet(
        3,
        2,
        hidden=[(4, 2)],
        unary_operators=["square", "cos"],
        binary_operators=["mul"],
        target_sparsity=dict(weight=0.6, input=0.3, unary=0.25, binary=0.5),
        seed=0,
    )
    model.compile(optimizer=keras.optimizers.Adam(0.02))
    history = model.fit(x, y, epochs=40, batch_size=64, verbose=0)
    return model, history, x, y


def test_fit_logs_every_quantity(trained):
    _, history, _, _ = trained
    for key in ["loss", "base_loss"] + [f"{q}_{k}" for q in ("sparsity", "threshold") for k in sn.SparsityTargets().as_dict()]:
        assert key in history.history, key
        assert np.all(np.isfinite(history.history[key]))


def test_training_lowers_base_loss(trained):
    _, history, _, _ = trained
    assert history.history["base_loss"][-1] < 0.5 * history.history["base_loss"][0]


def test_training_prunes_weights(trained):
    model, _, _, _ = trained
    assert model.sparsity()["weight"] > 0.3


def test_expressions_match_predict(trained):
    model, _, x, _ = trained
    expressions = to_sympy(model)
    assert len(expressions) == 2
    assert expression_error(model, x, expressions) < 1e-4


def test_expressions_use_only_kept_inputs(trained):
    model, _, _, _ = trained
    folded = sn.fold_network(model)
    used = {int(s.name[1:]) for e in to_sympy(folded) for s in e.free_symbols}
    assert used <= set(np.flatnonzero(folded.used_inputs()).tolist())


def test_complexity_counts_preorder_nodes():
    x0, x1 = sympy.symbols("x0 x1")
    assert complexity(x0) == 1
    assert complexity(sympy.sin(x0) + 2.5 * x1) == 6  # Add, sin, x0, Mul, 2.5, x1


def test_round_constants_and_text_forms():
    x0 = sympy.Symbol("x0")
    expression = 0.123456 * sympy.sin(x0) + 7.891
    assert to_strings([expression], digits=2) == [str(round_constants(expression, 2))]
    assert "0.12" in to_strings([expression])[0]
    assert "\\sin" in to_latex([expression])[0]


def test_pruned_nodes_fold_in_expressions():
    model = sn.build_symbolnet(2, 1, hidden=[(1, 1)], unary_operators=["exp"], binary_operators=["mul"], seed=1)
    model(np.zeros((1, 2), "float32"))
    model.layers[2].unary_threshold.assign([1.0])
    model.layers[2].binary_threshold.assign([1.0])
    (expression,) = to_sympy(model)
    assert not expression.has(sympy.exp)
    assert not any(isinstance(node, sympy.Mul) and len(node.free_symbols) > 1 for node in sympy.preorder_traversal(expression))
    x = np.random.default_rng(0).normal(size=(10, 2))
    np.testing.assert_allclose(evaluate_expressions([expression], x)[:, 0], model.predict(x, verbose=0)[:, 0], rtol=1e-4)


def test_fully_pruned_model_gives_constant_expression():
    model = sn.build_symbolnet(2, 1, hidden=[(1, 0)], seed=1)
    model(np.zeros((1, 2), "float32"))
    model.layers[1].threshold.assign([1.0, 1.0])
    (expression,) = to_sympy(model)
    assert expression.free_symbols == set()
    assert sn.fold_network(model).is_fully_pruned()
    values = evaluate_expressions([expression], np.zeros((4, 2)))
    assert values.shape == (4, 1)


def test_linear_model_without_symbolic_layers():
    model = sn.build_symbolnet(3, 2, hidden=[], seed=0)
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    assert expression_error(model, x) < 1e-5


@pytest.mark.parametrize(
    "x,message",
    [
        (np.array([[0.0, np.nan, 1.0]], "float32"), "NaN or inf in 1 row"),
        (np.array([[0.0, np.inf, 1.0]], "float32"), "NaN or inf"),
        (np.zeros((4, 5), "float32"), "has 5 columns but the model expects 3"),
        (np.zeros(3, "float32"), "must be 2-D"),
    ],
    ids=["nan", "inf", "wrong-width", "one-dimensional"],
)
def test_bad_training_input_is_rejected(x, message):
    model = sn.build_symbolnet(3, 2, hidden=[(2, 1)], seed=0)
    model.compile(optimizer="adam")
    y = np.zeros((len(np.atleast_2d(x)), 2), "float32")
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, epochs=1, verbose=0)


def test_integer_labels_get_one_hot_hint():
    model = sn.build_symbolnet(3, 2, hidden=[(2, 1)], seed=0)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="one-hot"):
        model.fit(np.zeros((4, 3), "float32"), np.array([0, 1, 1, 0]), verbose=0)


def test_load_model_restores_symbolnet(tmp_path):
    model = sn.build_symbolnet(3, 2, hidden=[(2, 1)], seed=0)
    model.save(tmp_path / "m.keras")
    loaded = sn.load_model(tmp_path / "m.keras")
    assert isinstance(loaded, sn.SymbolNetModel)
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_sparsity_is_never_negative():
    model = sn.build_symbolnet(3, 2, hidden=[(2, 1)], seed=0)
    model(np.zeros((1, 3), "float32"))
    assert all(value >= 0.0 for value in model.sparsity().values())
    _, stats = sn.training.sparsity_penalty(1.0, model.pruning_terms(), model.target_sparsity)
    assert all(float(item["sparsity"]) >= 0.0 for item in stats.values())


def test_bad_targets_rejected():
    model = sn.build_symbolnet(3, 2, hidden=[(2, 1)], seed=0)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="`y` contains NaN"):
        model.fit(np.zeros((2, 3), "float32"), np.array([[0, np.nan], [1, 0]], "float32"), verbose=0)


def test_predict_rejects_wrong_width():
    model = sn.build_symbolnet(3, 2, hidden=[(2, 1)], seed=0)
    with pytest.raises(ValueError, match="expects 3"):
        model.predict(np.zeros((2, 4), "float32"))


@pytest.mark.parametrize(
    "kwargs,error,message",
    [
        (dict(target_sparsity={"weight": 1.0}), ValueError, r"must be in \[0, 1\)"),
        (dict(unary_operators=["sinus"]), ValueError, "Unknown unary operator 'sinus'"),
        (dict(binary_operators=[]), ValueError, r"binary_operators=\[\]"),
        (dict(hidden=[(2,)]), ValueError, r"\(n_unary, n_binary\)"),
        (dict(decay_rate=0), ValueError, "decay_rate"),
    ],
    ids=["target-one", "unknown-op", "empty-binary", "bad-hidden", "zero-decay"],
)
def test_builder_rejects_bad_settings(kwargs, error, message):
    with pytest.raises(error, match=message):
        sn.build_symbolnet(3, 2, **kwargs)


def test_fold_network_rejects_other_models():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(TypeError, match="not a SymbolNet model"):
        sn.fold_network(model)


def test_dataframe_input_is_checked_and_used():
    import pandas as pd

    model = sn.build_symbolnet(3, 2, hidden=[(2, 1)], seed=0)
    model.compile(optimizer="adam")
    frame = pd.DataFrame(np.zeros((4, 3), "float32"))
    frame.iloc[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        model.fit(frame, np.zeros((4, 2), "float32"), verbose=0)
    history = model.fit(np.zeros((4, 3)).tolist(), np.zeros((4, 2)).tolist(), epochs=1, verbose=0)
    assert "loss" in history.history


def test_empty_input_is_rejected():
    model = sn.build_symbolnet(3, 2, hidden=[(2, 1)], seed=0)
    with pytest.raises(ValueError, match="no rows"):
        model.predict(np.zeros((0, 3), "float32"))


def test_default_loss_uses_sample_weight():
    model = sn.build_symbolnet(3, 2, hidden=[(2, 1)], seed=0)
    model.compile(optimizer="adam")
    x = np.ones((4, 3), "float32")
    y = np.full((4, 2), 5.0, "float32")
    results = model.evaluate(x, y, sample_weight=np.zeros(4), verbose=0, return_dict=True)
    assert results["base_loss"] == pytest.approx(0.0, abs=1e-6)


def test_sparse_labels_allowed_with_a_compiled_loss():
    model = sn.build_symbolnet(3, 2, hidden=[(2, 1)], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(np.random.default_rng(0).random((8, 3)), np.array([0, 1] * 4), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_diverged_model_is_not_mistaken_for_pruned():
    model = sn.build_symbolnet(3, 2, hidden=[(2, 1)], seed=0)
    model(np.zeros((1, 3), "float32"))
    model.layers[2].kernel.assign(np.full((3, 4), np.nan, "float32"))
    with pytest.raises(ValueError, match="training diverged"):
        sn.fold_network(model)
