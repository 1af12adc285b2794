"""Unroll a SymbolNet model into one sympy expression per output."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import sympy

from hls4ml_symbolnet import operators
from hls4ml_symbolnet.network import FoldedLinear, FoldedNetwork, fold_network

__all__ = [
    "complexity",
    "evaluate_expressions",
    "expression_error",
    "input_symbols",
    "round_constants",
    "to_latex",
    "to_strings",
    "to_sympy",
]

logger = logging.getLogger(__name__)


def input_symbols(n_inputs: int) -> list[sympy.Symbol]:
    """Return the input symbols ``x0 ... x{n-1}``, the names hls4ml's symbolic path uses."""
    return [sympy.Symbol(f"x{i}", real=True) for i in range(n_inputs)]


def _as_folded(model) -> FoldedNetwork:
    return model if isinstance(model, FoldedNetwork) else fold_network(model)


def _linear_expressions(linear: FoldedLinear, inputs: Sequence[sympy.Expr]) -> list[sympy.Expr]:
    expressions = []
    for unit in range(linear.n_out):
        column = linear.kernel[:, unit]
        terms = [sympy.Float(float(column[i])) * inputs[i] for i in np.flatnonzero(column)]
        if linear.bias[unit] != 0:
            terms.append(sympy.Float(float(linear.bias[unit])))
        expressions.append(sympy.Add(*terms) if terms else sympy.Integer(0))
    return expressions


def to_sympy(model) -> list[sympy.Expr]:
    """Unroll a SymbolNet model into one sympy expression per output.

    Pruned weights and inputs are left out, pruned unary nodes become the identity and
    pruned binary nodes an addition. Constants keep full float64 precision and
    nothing is simplified; use :func:`round_constants` for display.

    Args:
        model: a SymbolNet Keras model or a :class:`FoldedNetwork`.

    Returns:
        A list with one expression per output, in the symbols ``x0 ... x{n-1}``.
    """
    folded = _as_folded(model)
    values: list[sympy.Expr] = list(input_symbols(folded.n_inputs))
    for layer in folded.layers:
        z = _linear_expressions(layer.linear, values)
        outputs = [operators.UNARY_OPERATORS[name].sympy_fn(z[k]) for k, name in enumerate(layer.unary)]
        for j, name in enumerate(layer.binary):
            left = z[layer.n_unary + 2 * j]
            right = z[layer.n_unary + 2 * j + 1]
            outputs.append(operators.BINARY_OPERATORS[name].sympy_fn(left, right))
        values = outputs
    return _linear_expressions(folded.output, values)


def complexity(expression: sympy.Expr) -> int:
    """Return the number of nodes of ``sympy.preorder_traversal(expression)``; each node counts 1."""
    return sum(1 for _ in sympy.preorder_traversal(expression))


def round_constants(expression: sympy.Expr, digits: int = 2) -> sympy.Expr:
    """Round every float constant to ``digits`` significant digits, without simplifying."""
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 1:
        raise ValueError(f"`digits` must be an integer >= 1. Received: digits={digits!r}")
    replacements = {}
    for atom in expression.atoms(sympy.Float):
        value = float(atom)
        replacements[atom] = sympy.Float(float(f"{value:.{digits}g}"), digits)
    return expression.xreplace(replacements)


def to_strings(expressions: Sequence[sympy.Expr], digits: int | None = 2) -> list[str]:
    """Return each expression as a string, constants rounded to ``digits`` significant digits."""
    return [str(round_constants(e, digits) if digits else e) for e in expressions]


def to_latex(expressions: Sequence[sympy.Expr], digits: int | None = 2) -> list[str]:
    """Return each expression as LaTeX, constants rounded to ``digits`` significant digits."""
    return [sympy.latex(round_constants(e, digits) if digits else e) for e in expressions]


def evaluate_expressions(expressions: Sequence[sympy.Expr], x: np.ndarray) -> np.ndarray:
    """Evaluate the expressions with numpy on ``x`` of shape ``(n_samples, n_inputs)``.

    Returns:
        float64 array of shape ``(n_samples, len(expressions))``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"`x` must be 2-D (n_samples, n_inputs). Received: shape={x.shape}")
    symbols = input_symbols(x.shape[1])
    names = {s.name for e in expressions for s in e.free_symbols}
    known = {s.name for s in symbols}
    if not names <= known:
        raise ValueError(
            f"The expressions use inputs {sorted(names - known)} but `x` has only {x.shape[1]} columns."
        )
    columns = []
    for expression in expressions:
        function = sympy.lambdify(symbols, expression, modules="numpy")
        value = np.asarray(function(*x.T), dtype=np.float64)
        columns.append(np.broadcast_to(value, (x.shape[0],)))
    return np.stack(columns, axis=1)


def expression_error(model, x: np.ndarray, expressions: Sequence[sympy.Expr] | None = None) -> float:
    """Return the max absolute difference between the expressions and ``model.predict(x)``."""
    if expressions is None:
        expressions = to_sympy(model)
    predicted = np.asarray(model.predict(np.asarray(x, dtype=np.float32), verbose=0), dtype=np.float64)
    error = float(np.max(np.abs(evaluate_expressions(expressions, x) - predicted)))
    logger.info("Max abs difference between expressions and model.predict: %.3g", error)
    return error
