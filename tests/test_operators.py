import keras
import numpy as np
import pytest
import sympy

from hls4ml_symbolnet import operators
from hls4ml_symbolnet.export import input_symbols

UNARY = sorted(operators.UNARY_OPERATORS)
BINARY = sorted(operators.BINARY_OPERATORS)


@pytest.mark.parametrize("name", UNARY)
def test_unary_forms_agree(name):
    op = operators.UNARY_OPERATORS[name]
    z = np.linspace(-3, 3, 41)
    keras_value = keras.ops.convert_to_numpy(op.keras_fn(keras.ops.convert_to_tensor(z, dtype="float32")))
    numpy_value = op.numpy_fn(z)
    (x0,) = input_symbols(1)
    sympy_value = sympy.lambdify([x0], op.sympy_fn(x0), "numpy")(z)
    np.testing.assert_allclose(keras_value, numpy_value, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.broadcast_to(sympy_value, z.shape), numpy_value, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", BINARY)
def test_binary_forms_agree(name):
    op = operators.BINARY_OPERATORS[name]
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-2, 2, (2, 50))
    keras_value = keras.ops.convert_to_numpy(
        op.keras_fn(keras.ops.convert_to_tensor(a, "float32"), keras.ops.convert_to_tensor(b, "float32"))
    )
    x0, x1 = input_symbols(2)
    sympy_value = sympy.lambdify([x0, x1], op.sympy_fn(x0, x1), "numpy")(a, b)
    np.testing.assert_allclose(keras_value, op.numpy_fn(a, b), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(sympy_value, op.numpy_fn(a, b), rtol=1e-12)


@pytest.mark.parametrize("name", ["exp", "sinh", "cosh"])
def test_exp_family_is_finite_for_huge_inputs(name):
    op = operators.UNARY_OPERATORS[name]
    value = keras.ops.convert_to_numpy(op.keras_fn(keras.ops.convert_to_tensor([1e4, -1e4], "float32")))
    assert np.all(np.isfinite(value))


def test_guards_keep_div_and_log_finite():
    zero = keras.ops.zeros((3,))
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(operators.BINARY_OPERATORS["div"].keras_fn(zero + 1, zero))))
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(operators.UNARY_OPERATORS["log"].keras_fn(zero))))
    pow_value = operators.BINARY_OPERATORS["pow"].keras_fn(zero, zero - 50.0)
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(pow_value)))


def test_aliases_resolve():
    assert operators.resolve_binary_names(["*", "+", "/", "**"]) == ("mul", "add", "div", "pow")
    assert operators.get_unary("Sin").name == "sin"


def test_unknown_operator_names_value_and_choices():
    with pytest.raises(ValueError, match=r"Unknown unary operator 'sine'.*sin, cos"):
        operators.get_unary("sine")
    with pytest.raises(ValueError, match=r"Unknown binary operator '%'"):
        operators.get_binary("%")


def test_empty_operator_list_rejected():
    with pytest.raises(ValueError, match=r"unary_operators=\[\]"):
        operators.resolve_unary_names([])
