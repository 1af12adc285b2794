"""Bit-exact references for the RTL check, and the numpy backend of the arithmetic.

For SymbolNet models the reference is the hls4ml converter's ``FixedPointModel``. For quantized
dense networks it is :func:`evaluate_dense`, which runs ``dense.run_dense`` on integer codes.
Every value is a column of int64 codes with a number of fractional bits, so sums and products
are exact and each quantization step rounds as its FixedType specifies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from hls4ml_symbolnet.hardware.dense import QuantizedDenseNetwork, run_dense
from hls4ml_symbolnet.hardware.fixed import FixedType

# Largest magnitude an intermediate code may reach, below the int64 maximum of 2**63 - 1.
_CODE_LIMIT = 2**62


@dataclasses.dataclass(frozen=True)
class Codes:
    """One value per sample: ``codes * 2**-fractional``."""

    codes: np.ndarray
    fractional: int

    def to_float(self) -> np.ndarray:
        return self.codes.astype(np.float64) * 2.0**-self.fractional


def _check_range(bound: float, operation: str) -> None:
    if bound >= _CODE_LIMIT:
        raise OverflowError(
            f"{operation}: an intermediate value needs more than 62 bits; use narrower types."
        )


def _constant_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Return integer codes and fractional bits that represent dyadic ``values`` exactly."""
    values = np.asarray(values, dtype=np.float64)
    for fractional in range(61):
        scaled = values * 2.0**fractional
        if np.array_equal(scaled, np.round(scaled)):
            return scaled.astype(np.int64), fractional
    raise ValueError("Constants are not on a fixed-point grid with at most 60 fractional bits.")


class NumpyBackend:
    """Backend of the arithmetic on integer codes of ``n_samples`` samples."""

    def __init__(self, n_samples: int):
        self.n_samples = n_samples

    def linear(self, inputs: Sequence[Codes], kernel: np.ndarray, bias: np.ndarray) -> list[Codes]:
        input_fractional = max(value.fractional for value in inputs)
        x = np.stack([value.codes << (input_fractional - value.fractional) for value in inputs], axis=1)
        kernel_codes, kernel_fractional = _constant_codes(kernel)
        bias_codes, bias_fractional = _constant_codes(bias)
        fractional = max(input_fractional + kernel_fractional, bias_fractional)
        shift = fractional - input_fractional - kernel_fractional
        x_max = float(np.max(np.abs(x), initial=0))
        column_sum = float(np.max(np.sum(np.abs(kernel_codes), axis=0), initial=0))
        _check_range(x_max * column_sum * 2.0**shift * 2, "linear map")
        z = (x @ kernel_codes) << shift
        z = z + (bias_codes << (fractional - bias_fractional))
        return [Codes(z[:, j], fractional) for j in range(z.shape[1])]

    def quantize(self, value: Codes, fixed_type: FixedType) -> Codes:
        return Codes(fixed_type.quantize_codes(value.codes, value.fractional), fixed_type.fractional)

    def constant(self, value: float) -> Codes:
        codes, fractional = _constant_codes(np.array([value]))
        return Codes(np.full(self.n_samples, codes[0], dtype=np.int64), fractional)

    def scale(self, value: Codes, constant: float) -> Codes:
        return self.multiply(value, self.constant(constant))

    def multiply(self, left: Codes, right: Codes) -> Codes:
        bound = float(np.max(np.abs(left.codes), initial=0)) * float(np.max(np.abs(right.codes), initial=0))
        _check_range(bound, "product")
        return Codes(left.codes * right.codes, left.fractional + right.fractional)

    def add(self, left: Codes, right: Codes) -> Codes:
        fractional = max(left.fractional, right.fractional)
        left_codes = left.codes << (fractional - left.fractional)
        right_codes = right.codes << (fractional - right.fractional)
        bound = float(np.max(np.abs(left_codes), initial=0)) + float(np.max(np.abs(right_codes), initial=0))
        _check_range(bound, "sum")
        return Codes(left_codes + right_codes, fractional)

    def absolute(self, value: Codes) -> Codes:
        return Codes(np.abs(value.codes), value.fractional)

    def relu(self, value: Codes) -> Codes:
        return Codes(np.maximum(value.codes, 0), value.fractional)

    def sample_table(self, value: Codes, table) -> Codes:
        """Look up a converter ``LookupTable`` (nearest sample, clamped) for codes of its input type."""
        shift = table.input_type.frac - value.fractional
        if shift < 0:
            raise ValueError(f"Table {table.name!r} expects at most {table.input_type.frac} fractional bits.")
        entries = table.lookup(value.codes << shift)
        return Codes(np.asarray(entries, dtype=np.int64), table.entry_type.frac)


def input_codes(x: np.ndarray, input_type: FixedType) -> list[Codes]:
    """Quantize float inputs (n, n_inputs) to ``input_type``; one Codes per input."""
    codes = input_type.codes_from_float(np.asarray(x, dtype=np.float64))
    return [Codes(codes[:, j], input_type.fractional) for j in range(codes.shape[1])]


def evaluate_dense(network: QuantizedDenseNetwork, x: np.ndarray) -> np.ndarray:
    """Evaluate a quantized dense network in fixed point; ``x`` is quantized to its input type."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != network.n_inputs:
        raise ValueError(
            f"Expected inputs of shape (n_samples, {network.n_inputs}). Received: shape={x.shape}"
        )
    outputs = run_dense(network, NumpyBackend(len(x)), input_codes(x, network.input_type))
    return np.stack([value.to_float() for value in outputs], axis=1)


def evaluate_precision_plan(folded, plan, x: np.ndarray) -> np.ndarray:
    """Evaluate a folded SymbolNet network with the converter's bit-exact ``FixedPointModel``."""
    from hls4ml_symbolnet.converters.reference import FixedPointModel

    return FixedPointModel(folded, plan).predict(x)


def quantize_precision_plan_inputs(folded, plan, x: np.ndarray) -> np.ndarray:
    """Quantize inputs to the plan's input type as the firmware does, pruned inputs set to 0."""
    from hls4ml_symbolnet.converters.fixed_point import quantize_float, to_float

    values = to_float(quantize_float(np.asarray(x, dtype=np.float64), plan.input), plan.input)
    return np.where(folded.input_mask[None, :], values, 0.0)
