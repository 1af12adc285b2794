import math

import numpy as np
import pytest
import tensorflow as tf

import hls4ml_symbolnet as sn
from hls4ml_symbolnet.training import SparsityTargets, decay_factor, decay_factor_numpy, sparsity_penalty


def test_decay_factor_is_one_at_zero_sparsity():
    assert float(decay_factor(0.0, 0.9)) == pytest.approx(1.0)


def test_decay_factor_formula_between_zero_and_target():
    s, t, d = 0.5, 0.9, 0.01
    expected = math.exp(1 - (t / (t - s)) ** d)
    assert float(decay_factor(s, t, d)) == pytest.approx(expected, rel=1e-6)
    assert decay_factor_numpy(s, t, d) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("sparsity", [0.9, 0.95, 1.0])
def test_decay_factor_is_zero_at_or_past_target(sparsity):
    assert float(decay_factor(sparsity, 0.9)) == 0.0


def test_decay_factor_falls_slowly_then_drops_to_zero():
    near = float(decay_factor(0.9 - 1e-4, 0.9))
    middle = float(decay_factor(0.5, 0.9))
    assert near == pytest.approx(math.exp(1 - (0.9 / 1e-4) ** 0.01), rel=1e-3)
    assert 0.0 < near < middle < 1.0


def test_decay_factor_gradient_has_no_nan():
    s = tf.Variable([0.0, 0.5, 0.9, 1.0])
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(decay_factor(s, 0.9))
    grad = tape.gradient(value, s).numpy()
    assert np.all(np.isfinite(grad))


def test_zero_target_switches_regulariser_off():
    assert float(decay_factor(0.0, 0.0)) == 0.0


def test_penalty_matches_hand_computation():
    model = sn.build_symbolnet(2, 1, hidden=[(1, 1)], unary_operators=["sin"], seed=0)
    model(np.zeros((1, 2), "float32"))
    inputs, symbolic, output = model.layers[1], model.layers[2], model.layers[3]
    inputs.threshold.assign([0.2, 1.0])
    symbolic.kernel.assign(np.full((2, 3), 0.5, "float32"))
    symbolic.kernel_threshold.assign(np.array([[0.0, 0.6, 0.1], [0.2, 0.0, 0.0]], "float32"))
    symbolic.bias.assign(np.full(3, 0.5, "float32"))
    symbolic.bias_threshold.assign(np.zeros(3, "float32"))
    symbolic.unary_threshold.assign([0.4])
    symbolic.binary_threshold.assign([1.0])
    output.kernel.assign(np.full((2, 1), 0.5, "float32"))
    output.kernel_threshold.assign(np.zeros((2, 1), "float32"))
    output.bias.assign([0.5])
    output.bias_threshold.assign([0.7])
    targets = SparsityTargets(weight=0.5, input=0.6, unary=0.4, binary=0.4)
    base = 2.0
    penalty, stats = sparsity_penalty(base, model.pruning_terms(), targets, 0.01)

    weight_thresholds = np.array([0, 0.6, 0.1, 0.2, 0, 0, 0, 0, 0, 0, 0, 0.7])
    s_weight = 2 / 12  # 0.6 >= 0.5 and 0.7 >= 0.5 prune two of twelve
    s_input = 0.5
    expected = (
        decay_factor_numpy(s_weight, 0.5) * base * np.mean(np.exp(-weight_thresholds))
        + decay_factor_numpy(s_input, 0.6) * base * np.exp(-0.6)
        + decay_factor_numpy(0.0, 0.4) * base * np.exp(-0.4)
        + 0.0  # binary node pruned: 1.0 >= target 0.4
    )
    assert float(stats["weight"]["sparsity"]) == pytest.approx(s_weight)
    assert float(stats["input"]["sparsity"]) == pytest.approx(0.5)
    assert float(stats["binary"]["sparsity"]) == pytest.approx(1.0)
    assert float(stats["binary"]["decay"]) == 0.0
    assert float(penalty) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("value", [1.0, -0.1, 1.5, float("nan")], ids=["one", "negative", "above-one", "nan"])
def test_target_outside_range_is_rejected(value):
    with pytest.raises(ValueError, match=r"must be in \[0, 1\)"):
        SparsityTargets(weight=value)


def test_unknown_target_kind_is_rejected():
    with pytest.raises(ValueError, match="Unknown target sparsity kind"):
        SparsityTargets.from_value({"weights": 0.9})


def test_per_kind_decay_rates_apply_to_their_kind():
    model = sn.build_symbolnet(2, 1, hidden=[(2, 1)], seed=0, decay_rate={"unary": 0.5})
    assert model.decay_rate == {"weight": 0.01, "input": 0.01, "unary": 0.5, "binary": 0.01}
    model(np.zeros((1, 2), "float32"))
    targets = SparsityTargets(weight=0.5, input=0.5, unary=0.9, binary=0.5)
    model.layers[2].unary_threshold.assign([1.0, 0.0])
    _, stats = sparsity_penalty(1.0, model.pruning_terms(), targets, model.decay_rate)
    assert float(stats["unary"]["decay"]) == pytest.approx(decay_factor_numpy(0.5, 0.9, 0.5), rel=1e-5)
    assert float(stats["weight"]["decay"]) == pytest.approx(decay_factor_numpy(0.0, 0.5, 0.01), rel=1e-5)


def test_bad_decay_rates_are_rejected():
    with pytest.raises(ValueError, match="Unknown decay rate kind"):
        sn.build_symbolnet(2, 1, decay_rate={"operators": 0.1})
    with pytest.raises(ValueError, match="unary=-1"):
        sn.build_symbolnet(2, 1, decay_rate={"unary": -1})
