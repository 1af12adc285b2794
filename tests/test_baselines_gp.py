"""GP baseline: pyoperon fit, sympy parsing, firmware plan and hls4ml C simulation."""

import importlib.util

import numpy as np
import pytest
import sympy
from hls4ml_symbolnet.baselines.gp import (
    GPBackendUnavailable,
    GPClassifier,
    convert_gp_model,
    fit_gp_classifier,
    operon_to_sympy,
    plan_firmware,
)

from hls4ml_symbolnet.datasets import load_jets
from hls4ml_symbolnet.export import input_symbols

pytest.importorskip("pyoperon", reason="the GP baseline needs pyoperon (the baselines extra)")


@pytest.fixture(scope="module")
def jets(data_dir):
    return load_jets(data_dir, max_rows=2000, seed=4)


@pytest.fixture(scope="module")
def classifier(jets):
    return fit_gp_classifier(
        jets.x_train, jets.y_train, jets.n_classes, population_size=200, generations=10, seed=1
    )


def test_operon_string_parses():
    expression = operon_to_sympy("(0.5 + (2.0 * (sin((1.5 * x3)) * (x0 ^ 2))))", n_features=4)
    x0, _, _, x3 = input_symbols(4)
    assert sympy.simplify(expression - (0.5 + 2.0 * sympy.sin(1.5 * x3) * x0**2)) == 0


def test_operon_string_rejects_unknown_variable():
    with pytest.raises(ValueError, match="unknown variables"):
        operon_to_sympy("x7 + 1.0", n_features=3)


def test_fit_one_expression_per_class(jets, classifier):
    assert classifier.n_classes == jets.n_classes
    names = {symbol.name for e in classifier.expressions for symbol in e.free_symbols}
    assert names <= {f"x{i}" for i in range(jets.n_features)}
    assert all(value > 1 for value in classifier.complexities())
    accuracy = np.mean(classifier.predict(jets.x_test) == jets.y_test)
    assert accuracy > 0.35


def test_fit_is_reproducible(jets, classifier):
    again = fit_gp_classifier(
        jets.x_train, jets.y_train, jets.n_classes, population_size=200, generations=10, seed=1
    )
    assert [str(e) for e in again.expressions] == [str(e) for e in classifier.expressions]


def test_plan_sizes_type_and_tables():
    x0, x1 = input_symbols(2)
    expressions = [sympy.sin(3.0 * x0) + x1, 0.001 * x0 * x1 + sympy.cos(x1)]
    data = np.array([[-1.0, 2.5], [0.5, -3.0], [1.0, 0.0]])
    plan = plan_firmware(expressions, data)
    assert set(plan.lut_functions) == {"sin_lut", "cos_lut"}
    sin_table = plan.lut_functions["sin_lut"]
    assert sin_table["range_start"] <= -3.0
    assert sin_table["range_end"] >= 3.0
    width = sin_table["range_end"] - sin_table["range_start"]
    assert width & (width - 1) == 0
    assert sin_table["table_size"] == max(1024, width * 2**7)
    # 0.001 needs 10 fractional bits plus 8 significant bits.
    assert plan.precision.startswith("ap_fixed<")
    total, integer = (int(v) for v in plan.precision[len("ap_fixed<") :].split(",")[:2])
    assert total - integer >= 18
    assert 2 ** (integer - 1) > plan.max_abs_value
    assert "sin_lut" in str(plan.expressions[0])


def test_plan_rejects_function_without_firmware():
    (x0,) = input_symbols(1)
    with pytest.raises(ValueError, match="no firmware form"):
        plan_firmware([sympy.tanh(x0)], np.zeros((2, 1)))


def test_plan_rejects_too_wide_type():
    (x0,) = input_symbols(1)
    with pytest.raises(ValueError, match="max_width"):
        plan_firmware([x0**12], np.array([[30.0]]))


def test_plan_rejects_wide_product():
    (x0,) = input_symbols(1)
    nested = x0
    for _ in range(6):
        nested = (nested + 0.5) ** 2
    with pytest.raises(ValueError, match="1024-bit"):
        plan_firmware([nested], np.array([[0.1], [-0.1]]))


def test_fit_rejects_bad_input(jets):
    with pytest.raises(ValueError, match="Unknown GP operators"):
        fit_gp_classifier(jets.x_train, jets.y_train, operators=["add", "tanh"])
    with pytest.raises(ValueError, match="backend"):
        fit_gp_classifier(jets.x_train, jets.y_train, backend="gplearn")
    with pytest.raises(ValueError, match="NaN"):
        fit_gp_classifier(np.full((4, 2), np.nan), np.array([0, 1, 0, 1]))


@pytest.mark.skipif(importlib.util.find_spec("pysr") is not None, reason="PySR is installed here")
def test_pysr_missing_gives_clear_error(jets):
    with pytest.raises(GPBackendUnavailable, match="pip install pysr"):
        fit_gp_classifier(jets.x_train[:50], jets.y_train[:50], jets.n_classes, backend="pysr")


def test_decision_function_checks_width(classifier):
    with pytest.raises(ValueError, match="shape"):
        classifier.decision_function(np.zeros((3, 2)))


@pytest.mark.slow
def test_firmware_agrees_with_expressions(jets, classifier, tmp_path):
    hls_model = convert_gp_model(classifier, tmp_path / "gp_hls", jets.x_train)
    hls_model.compile()
    x = np.ascontiguousarray(jets.x_test, dtype=np.float32)
    firmware = np.asarray(hls_model.predict(x)).reshape(len(x), -1)
    reference = classifier.decision_function(x)
    agreement = np.mean(firmware.argmax(axis=1) == reference.argmax(axis=1))
    assert agreement >= 0.98
    assert np.max(np.abs(firmware - reference)) < 0.1
    source = (tmp_path / "gp_hls" / "firmware" / "myproject.cpp").read_text()
    assert "hls::sin" not in source
    assert "hls::cos" not in source


def test_classifier_from_fixed_expressions():
    x0, x1 = input_symbols(2)
    classifier = GPClassifier(expressions=(x0 - x1, x1 - x0), n_features=2, backend="operon")
    np.testing.assert_array_equal(classifier.predict(np.array([[1.0, 0.0], [0.0, 1.0]])), [0, 1])
    assert classifier.mean_complexity() == pytest.approx(np.mean(classifier.complexities()))
