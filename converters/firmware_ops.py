"""Firmware arithmetic of each registry operator, chosen by its ``firmware`` kind.

The registry (:mod:`hls4ml_symbolnet.operators`) gives every operator a kind. This
module turns a kind into the pieces the firmware needs, for any operator of that kind:

* unary ``wire``: the linear value itself.
* unary ``multiply``: an integer power ``z**n``, computed as ``n - 1`` products; ``n``
  is read off the operator's ``numpy_fn``.
* unary ``table``: one lookup table of ``numpy_fn`` over ``z``.
* binary ``add`` and ``multiply``: ``z1 + z2`` and ``z1 * z2``.
* binary ``divide``: ``z1 * R(|z2|)`` with a reciprocal table ``R(a) = numpy_fn(1, a)``,
  which is ``1 / (DIV_EPS + a)`` for the registry's ``div``.
* binary ``power``: ``E(z2 * L(|z1|))`` with tables ``L(a) = log(POW_EPS + a)`` and
  ``E(t) = exp(min(t, EXP_CLIP))``, the registry's guarded ``pow``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

__all__ = [
    "BINARY_KINDS",
    "UNARY_KINDS",
    "TableSpec",
    "binary_kind",
    "layer_table_specs",
    "unary_kind",
    "unary_power",
]

UNARY_KINDS = ("wire", "multiply", "table")
BINARY_KINDS = ("add", "multiply", "divide", "power")


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """Function and input of one lookup table of a layer, before a range and types are chosen.

    ``source`` is the quantity that indexes the table: ``"linear"`` (a linear unit),
    ``"abs_linear"`` (its absolute value) or ``"pow_exponent"``. ``entry`` names the
    layer type of the entries: ``"result"``, ``"reciprocal"`` or ``"pow_log"``.
    """

    name: str
    function_name: str
    function: Callable[[np.ndarray], np.ndarray]
    source: str
    entry: str

    @property
    def abs_input(self) -> bool:
        return self.source == "abs_linear"


def _registry():
    # Imported on use: the registry imports Keras, and this module loads when hls4ml
    # loads the plugin, which must not start TensorFlow.
    from hls4ml_symbolnet import operators

    return operators


def _no_implementation(name: str, kind: str, known: tuple[str, ...], arity: str) -> NotImplementedError:
    return NotImplementedError(
        f"The {arity} operator {name!r} has firmware kind {kind!r}, which has no HLS implementation. "
        f"Implemented {arity} kinds: {', '.join(known)}. Retrain without this operator or add the kind "
        "to hls4ml_symbolnet.converters.firmware_ops."
    )


def unary_kind(name: str) -> str:
    """Firmware kind of a unary operator, checked against the implemented kinds."""
    registry = _registry().UNARY_OPERATORS
    op = registry.get(name)
    if op is None:
        raise ValueError(f"Unknown unary operator {name!r}. Known: {', '.join(registry)}")
    if op.firmware not in UNARY_KINDS:
        raise _no_implementation(name, op.firmware, UNARY_KINDS, "unary")
    return op.firmware


def binary_kind(name: str) -> str:
    """Firmware kind of a binary operator, checked against the implemented kinds."""
    registry = _registry().BINARY_OPERATORS
    op = registry.get(name)
    if op is None:
        raise ValueError(f"Unknown binary operator {name!r}. Known: {', '.join(registry)}")
    if op.firmware not in BINARY_KINDS:
        raise _no_implementation(name, op.firmware, BINARY_KINDS, "binary")
    return op.firmware


def unary_power(name: str) -> int:
    """Exponent ``n`` of a unary ``multiply`` operator, e.g. 2 for ``square``.

    Raises:
        NotImplementedError: if the operator's ``numpy_fn`` is not ``x**n`` for some
            ``n`` in 2..8.
    """
    op = _registry().UNARY_OPERATORS[name]
    probe = np.array([-2.5, -1.0, 0.5, 1.5, 3.0])
    result = np.asarray(op.numpy_fn(probe), dtype=np.float64)
    for exponent in range(2, 9):
        if np.allclose(result, probe**exponent, rtol=1e-12, atol=0.0):
            return exponent
    raise NotImplementedError(
        f"The unary operator {name!r} has firmware kind 'multiply' but its numpy_fn is not an integer "
        "power x**n with n in 2..8, so it cannot be computed with multipliers."
    )


def _divide_reciprocal(op) -> Callable[[np.ndarray], np.ndarray]:
    return lambda a: op.numpy_fn(np.ones_like(a), a)


def _power_log(a: np.ndarray) -> np.ndarray:
    return np.log(_registry().POW_EPS + np.abs(a))


def _power_exp(t: np.ndarray) -> np.ndarray:
    return np.exp(np.minimum(t, _registry().EXP_CLIP))


def layer_table_specs(unary: tuple[str, ...], binary: tuple[str, ...]) -> dict[str, TableSpec]:
    """Lookup tables a symbolic layer needs for the given node operators, by table name.

    Unary table operators get a table named after the operator. A ``divide`` operator
    gets one table named after it; a ``power`` operator gets ``<name>_log`` and
    ``<name>_exp``.
    """
    operators = _registry()
    specs: dict[str, TableSpec] = {}
    for name in dict.fromkeys(unary):
        if unary_kind(name) == "table":
            op = operators.UNARY_OPERATORS[name]
            specs[name] = TableSpec(name, name, op.numpy_fn, "linear", "result")
    for name in dict.fromkeys(binary):
        kind = binary_kind(name)
        op = operators.BINARY_OPERATORS[name]
        if kind == "divide":
            specs[name] = TableSpec(
                name, f"1/({operators.DIV_EPS:g}+|x|)", _divide_reciprocal(op), "abs_linear", "reciprocal"
            )
        elif kind == "power":
            specs[f"{name}_log"] = TableSpec(
                f"{name}_log", f"log({operators.POW_EPS:g}+|x|)", _power_log, "abs_linear", "pow_log"
            )
            specs[f"{name}_exp"] = TableSpec(
                f"{name}_exp", f"exp(min(x,{operators.EXP_CLIP:g}))", _power_exp, "pow_exponent", "result"
            )
    return specs
