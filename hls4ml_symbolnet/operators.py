"""Operator registry: one entry per operator, with its Keras, sympy and numpy forms.

Every other part of the package (layers, expression export, firmware generation, the
numpy reference) looks operators up here, so adding an operator touches this file only.

Guards against overflow and division by zero:

* ``exp``, ``sinh``, ``cosh`` clip their argument to ``[-EXP_CLIP, EXP_CLIP]`` in Keras and
  numpy, so float32 training never produces ``inf`` (``exp(88.8)`` overflows float32).
  The sympy form leaves the clip out, so expressions read as the plain function; the two
  differ only where the argument leaves that range.
* ``log(x)`` is ``log(LOG_EPS + |x|)``: defined for every real ``x``.
* ``div(x, y)`` is ``x / (DIV_EPS + |y|)``: the denominator is never below ``DIV_EPS``.
* ``pow(x, y)`` is ``(POW_EPS + |x|) ** y``, computed as ``exp(y * log(POW_EPS + |x|))``
  with the exponent clipped to ``EXP_CLIP``: defined for negative bases and never ``inf``.
  The sympy form is ``(POW_EPS + Abs(x)) ** y`` without the clip.
* ``square`` and ``cube`` have no guard; they stay finite in float32 for ``|x| < 1e12``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import sympy
from keras import ops

__all__ = [
    "BINARY_OPERATORS",
    "DIV_EPS",
    "EXP_CLIP",
    "LOG_EPS",
    "POW_EPS",
    "UNARY_OPERATORS",
    "BinaryOperator",
    "UnaryOperator",
    "get_binary",
    "get_unary",
    "resolve_binary_names",
    "resolve_unary_names",
]

EXP_CLIP = 20.0
LOG_EPS = 0.001
DIV_EPS = 0.001
POW_EPS = 0.001


@dataclasses.dataclass(frozen=True)
class UnaryOperator:
    """A unary operator ``f(z)`` in its three numerical forms.

    ``firmware`` is how the hls4ml firmware computes it: ``"wire"`` (identity),
    ``"multiply"`` (products of the argument) or ``"table"`` (a lookup table of
    ``numpy_fn``).
    """

    name: str
    keras_fn: Callable
    sympy_fn: Callable
    numpy_fn: Callable
    firmware: str


@dataclasses.dataclass(frozen=True)
class BinaryOperator:
    """A binary operator ``g(z1, z2)`` in its three numerical forms.

    ``firmware`` is ``"add"``, ``"multiply"``, ``"divide"`` (``z1`` times a reciprocal
    lookup table of ``DIV_EPS + |z2|``) or ``"power"`` (exp and log lookup tables).
    """

    name: str
    symbol: str
    keras_fn: Callable
    sympy_fn: Callable
    numpy_fn: Callable
    firmware: str


def _keras_exp(x):
    return ops.exp(ops.clip(x, -EXP_CLIP, EXP_CLIP))


def _keras_sinh(x):
    return ops.sinh(ops.clip(x, -EXP_CLIP, EXP_CLIP))


def _keras_cosh(x):
    return ops.cosh(ops.clip(x, -EXP_CLIP, EXP_CLIP))


def _keras_log(x):
    return ops.log(LOG_EPS + ops.abs(x))


def _keras_div(x, y):
    return x / (DIV_EPS + ops.abs(y))


def _keras_pow(x, y):
    exponent = y * ops.log(POW_EPS + ops.abs(x))
    return ops.exp(ops.minimum(exponent, EXP_CLIP))


def _numpy_exp(x):
    return np.exp(np.clip(x, -EXP_CLIP, EXP_CLIP))


def _numpy_sinh(x):
    return np.sinh(np.clip(x, -EXP_CLIP, EXP_CLIP))


def _numpy_cosh(x):
    return np.cosh(np.clip(x, -EXP_CLIP, EXP_CLIP))


def _numpy_pow(x, y):
    exponent = y * np.log(POW_EPS + np.abs(x))
    return np.exp(np.minimum(exponent, EXP_CLIP))


_UNARY = (
    UnaryOperator("identity", lambda x: x, lambda x: x, lambda x: x, "wire"),
    UnaryOperator("sin", ops.sin, sympy.sin, np.sin, "table"),
    UnaryOperator("cos", ops.cos, sympy.cos, np.cos, "table"),
    UnaryOperator("exp", _keras_exp, sympy.exp, _numpy_exp, "table"),
    UnaryOperator(
        "gauss",
        lambda x: ops.exp(-ops.square(x)),
        lambda x: sympy.exp(-(x**2)),
        lambda x: np.exp(-np.square(x)),
        "table",
    ),
    UnaryOperator("tanh", ops.tanh, sympy.tanh, np.tanh, "table"),
    UnaryOperator("sinh", _keras_sinh, sympy.sinh, _numpy_sinh, "table"),
    UnaryOperator("cosh", _keras_cosh, sympy.cosh, _numpy_cosh, "table"),
    UnaryOperator("square", ops.square, lambda x: x**2, np.square, "multiply"),
    UnaryOperator("cube", lambda x: x * x * x, lambda x: x**3, lambda x: x * x * x, "multiply"),
    UnaryOperator(
        "log",
        _keras_log,
        lambda x: sympy.log(sympy.Abs(x) + sympy.Float(LOG_EPS)),
        lambda x: np.log(LOG_EPS + np.abs(x)),
        "table",
    ),
)

_BINARY = (
    BinaryOperator("add", "+", ops.add, lambda x, y: x + y, np.add, "add"),
    BinaryOperator("mul", "*", ops.multiply, lambda x, y: x * y, np.multiply, "multiply"),
    BinaryOperator(
        "div",
        "/",
        _keras_div,
        lambda x, y: x / (sympy.Abs(y) + sympy.Float(DIV_EPS)),
        lambda x, y: x / (DIV_EPS + np.abs(y)),
        "divide",
    ),
    BinaryOperator(
        "pow",
        "**",
        _keras_pow,
        lambda x, y: (sympy.Abs(x) + sympy.Float(POW_EPS)) ** y,
        _numpy_pow,
        "power",
    ),
)

UNARY_OPERATORS: dict[str, UnaryOperator] = {op.name: op for op in _UNARY}
BINARY_OPERATORS: dict[str, BinaryOperator] = {op.name: op for op in _BINARY}

# Spellings accepted from users, mapped to registry names.
_UNARY_ALIASES = {"id": "identity", "x": "identity", "linear": "identity", "x**2": "square", "x**3": "cube"}
_BINARY_ALIASES = {
    "+": "add",
    "plus": "add",
    "*": "mul",
    "multiply": "mul",
    "/": "div",
    "divide": "div",
    "**": "pow",
    "power": "pow",
}


def get_unary(name: str) -> UnaryOperator:
    """Look up a unary operator by registry name or alias.

    Raises:
        ValueError: if the name is unknown; the message lists the known names.
    """
    if not isinstance(name, str):
        raise TypeError(f"Unary operator names must be strings. Received: {name!r} of type {type(name).__name__}")
    key = _UNARY_ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in UNARY_OPERATORS:
        raise ValueError(
            f"Unknown unary operator {name!r}. Known unary operators: {', '.join(UNARY_OPERATORS)}"
            f" (aliases: {', '.join(_UNARY_ALIASES)})."
        )
    return UNARY_OPERATORS[key]


def get_binary(name: str) -> BinaryOperator:
    """Look up a binary operator by registry name, symbol or alias.

    Raises:
        ValueError: if the name is unknown; the message lists the known names.
    """
    if not isinstance(name, str):
        raise TypeError(f"Binary operator names must be strings. Received: {name!r} of type {type(name).__name__}")
    key = _BINARY_ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in BINARY_OPERATORS:
        raise ValueError(
            f"Unknown binary operator {name!r}. Known binary operators: {', '.join(BINARY_OPERATORS)}"
            f" (also accepted: {', '.join(_BINARY_ALIASES)})."
        )
    return BINARY_OPERATORS[key]


def _resolve(names: Iterable[str] | str, lookup: Callable, kind: str, argument: str) -> tuple[str, ...]:
    if isinstance(names, str):
        names = [names]
    names = list(names)
    if not names:
        raise ValueError(
            f"`{argument}` must name at least one {kind} operator. Received: {argument}=[]. "
            f"Set the number of {kind} nodes to 0 instead if the layer needs none."
        )
    return tuple(lookup(name).name for name in names)


def resolve_unary_names(names: Sequence[str] | str, argument: str = "unary_operators") -> tuple[str, ...]:
    """Validate a list of unary operator names and return their registry names."""
    return _resolve(names, get_unary, "unary", argument)


def resolve_binary_names(names: Sequence[str] | str, argument: str = "binary_operators") -> tuple[str, ...]:
    """Validate a list of binary operator names and return their registry names."""
    return _resolve(names, get_binary, "binary", argument)
