"""SymbolNet firmware arithmetic of the hls4ml converter's precision plan, on a hardware backend.

``hls4ml_symbolnet.converters`` chooses every type and lookup table of a SymbolNet firmware in
a ``PrecisionPlan`` and defines the arithmetic in its bit-exact ``FixedPointModel``.
:func:`run_precision_plan` performs the same steps on a backend, so the da4ml backend traces
logic that computes exactly what ``FixedPointModel`` computes:

1. Weights and biases are the plan's constants (nearest value, ties to even, saturated).
2. Linear units: with an exact accumulator the sum ``h @ W + b`` is formed exactly (da4ml's
   adder graph). Otherwise the bias is assigned to ``accum``, and each nonzero term
   ``w_ik * h_i`` is added in increasing input order with an assignment to ``accum`` after each
   addition. The sum is then assigned to ``linear`` (``result`` in the output layer).
3. Nodes: ``wire`` -> ``result(z)``; ``multiply`` -> ``result(z**n)`` (exact power); ``table``
   -> table entry; ``add``/``multiply`` -> ``result(z1 + z2)``/``result(z1 * z2)``; ``divide``
   -> ``result(z1 * R[|z2|])``; ``power`` -> ``E[pow_exponent(z2 * L[|z1|])]``.
4. Table index: ``clip((r - start_raw + half) >> shift, 0, size - 1)`` on the raw input ``r``:
   the nearest sample, ties toward the higher one, clamped to the table ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hls4ml_symbolnet.hardware.fixed import FixedType

__all__ = ["local_type", "run_precision_plan"]


def local_type(converter_type) -> FixedType:
    """Convert a converter ``FixedType`` (``overflow`` field) to this package's FixedType."""
    return FixedType(
        converter_type.width,
        converter_type.integer,
        converter_type.signed,
        converter_type.rounding,
        converter_type.overflow,
    )


def _sums(backend, h: Sequence[Any], linear, types, input_type) -> list[Any]:
    from hls4ml_symbolnet.converters.fixed_point import quantize_constant, to_float
    from hls4ml_symbolnet.converters.reference import accumulator_is_exact

    weight, bias_type, accum = types["weight"], types["bias"], types["accum"]
    kernel_raw = quantize_constant(linear.kernel, weight)
    bias_raw = quantize_constant(linear.bias, bias_type)
    kernel = to_float(kernel_raw, weight)
    bias = to_float(bias_raw, bias_type)
    if accumulator_is_exact(kernel_raw, bias_raw, weight, bias_type, accum, input_type):
        # No step can round or overflow, so the assignment to accum changes nothing.
        return backend.linear(h, kernel, bias)
    accum = local_type(accum)
    sums = []
    for unit in range(kernel.shape[1]):
        total = backend.quantize(backend.constant(bias[unit]), accum)
        for index in np.flatnonzero(kernel[:, unit]):
            total = backend.quantize(backend.add(total, backend.scale(h[index], kernel[index, unit])), accum)
        sums.append(total)
    return sums


def _unary(backend, z, name: str, layer_plan):
    from hls4ml_symbolnet.converters import firmware_ops

    kind = firmware_ops.unary_kind(name)
    result = local_type(layer_plan.types["result"])
    if kind == "wire":
        return backend.quantize(z, result)
    if kind == "multiply":
        power = z
        for _ in range(firmware_ops.unary_power(name) - 1):
            power = backend.multiply(power, z)
        return backend.quantize(power, result)
    return backend.sample_table(z, layer_plan.tables[name])


def _binary(backend, left, right, name: str, layer_plan):
    from hls4ml_symbolnet.converters import firmware_ops

    kind = firmware_ops.binary_kind(name)
    result = local_type(layer_plan.types["result"])
    if kind == "add":
        return backend.quantize(backend.add(left, right), result)
    if kind == "multiply":
        return backend.quantize(backend.multiply(left, right), result)
    if kind == "divide":
        reciprocal = backend.sample_table(backend.absolute(right), layer_plan.tables[name])
        return backend.quantize(backend.multiply(left, reciprocal), result)
    logarithm = backend.sample_table(backend.absolute(left), layer_plan.tables[f"{name}_log"])
    exponent = backend.quantize(
        backend.multiply(right, logarithm), local_type(layer_plan.types["pow_exponent"])
    )
    return backend.sample_table(exponent, layer_plan.tables[f"{name}_exp"])


def run_precision_plan(folded, plan, backend, inputs: Sequence[Any]) -> list[Any]:
    """Run a folded SymbolNet network with a converter ``PrecisionPlan`` on ``backend``.

    ``inputs`` already have the plan's input type; pruned inputs are never read because their
    kernel rows are zero. Returns one value per output, of the output layer's ``result`` type.
    """
    if len(folded.layers) != len(plan.layers):
        raise ValueError(
            f"The plan has {len(plan.layers)} symbolic layers but the network has {len(folded.layers)}."
        )
    h = list(inputs)
    for layer, layer_plan in zip(folded.layers, plan.layers):
        linear_type = local_type(layer_plan.types["linear"])
        sums = _sums(backend, h, layer.linear, layer_plan.types, layer_plan.input)
        z = [backend.quantize(value, linear_type) for value in sums]
        nodes = [_unary(backend, z[k], name, layer_plan) for k, name in enumerate(layer.unary)]
        for j, name in enumerate(layer.binary):
            left, right = z[layer.n_unary + 2 * j], z[layer.n_unary + 2 * j + 1]
            nodes.append(_binary(backend, left, right, name, layer_plan))
        h = nodes
    output_plan = plan.output
    sums = _sums(backend, h, folded.output, output_plan.types, output_plan.input)
    result = local_type(output_plan.types["result"])
    return [backend.quantize(value, result) for value in sums]
