"""da4ml backend of the firmware arithmetic: records every step as fixed-point logic.

Written against da4ml 0.5.x (``da4ml.trace``): ``FixedVariable`` values, ``FixedVariableArray``
for constant matrix products (da4ml's adder-graph optimisation), ``comb_trace`` for the
combinational program and ``to_pipeline`` for register stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from hls4ml_symbolnet.hardware.dense import QuantizedDenseNetwork, run_dense
from hls4ml_symbolnet.hardware.fixed import FixedType
from hls4ml_symbolnet.hardware.tools import require_da4ml

# da4ml's default hardware model: one-bit adder cost units and one latency unit per adder level.
_HWCONF = (1, -1, -1)
# Depth constraint of each constant matrix product, as in da4ml's own command-line converter.
_SOLVER_OPTIONS = {"hard_dc": 2}


class Da4mlBackend:
    """Backend of the arithmetic that records each operation as da4ml ``FixedVariable`` logic."""

    def __init__(self, solver_options: dict | None = None):
        """Use ``solver_options`` for da4ml's constant-matrix solver (default: depth constraint 2)."""
        self._trace = require_da4ml().trace
        self._solver_options = dict(_SOLVER_OPTIONS if solver_options is None else solver_options)

    def new_input(self, fixed_type: FixedType):
        k, i, f = fixed_type.kif
        return self._trace.FixedVariable.from_kif(k, i, f, hwconf=self._trace.HWConfig(*_HWCONF), latency=0.0)

    def linear(self, inputs: Sequence, kernel: np.ndarray, bias: np.ndarray) -> list:
        array = self._trace.FixedVariableArray(np.array(list(inputs), dtype=object), self._solver_options)
        result = array @ np.asarray(kernel, dtype=np.float64)
        return [result[j] + float(b) for j, b in enumerate(bias)]

    def quantize(self, value, fixed_type: FixedType):
        k, i, f = fixed_type.kif
        if fixed_type.saturation == "SAT_ZERO":
            raise NotImplementedError(f"{fixed_type}: AP_SAT_ZERO has no hardware implementation here.")
        if fixed_type.rounding in ("TRN", "RND"):
            return value.quantize(k, i, f, fixed_type.saturation, fixed_type.rounding)
        if fixed_type.saturation != "WRAP":
            # Clipping before rounding gives the same result as rounding first: every mode
            # is monotonic and leaves the range limits, which lie on the output grid, unchanged.
            low = fixed_type.min_value if fixed_type.saturation == "SAT" else -fixed_type.max_value * k
            value = value.max_of(low).min_of(fixed_type.max_value)
        return self._add_rounding_offset(value, fixed_type).quantize(k, i, f, "WRAP", "TRN")

    @staticmethod
    def _add_rounding_offset(value, fixed_type: FixedType):
        """Add what makes truncation to ``fixed_type`` round by its mode.

        Let ``u`` be the input step, ``s`` the output step, ``neg`` 1 for negative ``x`` and
        ``lsb`` the bit of weight ``s`` in ``x``. Truncating ``x + offset`` then rounds by the
        mode with these offsets:

        * ``TRN_ZERO``: ``neg * (s - u)``
        * ``RND_MIN_INF``: ``s/2 - u``
        * ``RND_ZERO``: ``s/2 - u + neg * u``
        * ``RND_INF``: ``s/2 - neg * u``
        * ``RND_CONV``: ``s/2 - u + lsb * u``
        """
        f = fixed_type.fractional
        value_f = value.kif[2]
        if value_f <= f:
            return value
        step_in = 2.0**-value_f
        step_out = 2.0**-f
        rounding = fixed_type.rounding
        if rounding == "RND_CONV":
            lsb = value.quantize(0, 1 - f, f, "WRAP", "TRN")
            return value + (step_out / 2 - step_in) + lsb * (step_in / step_out)
        if rounding == "RND_MIN_INF":
            return value + (step_out / 2 - step_in)
        negative = value.is_negative()
        if isinstance(negative, bool):
            negative = 1.0 if negative else 0.0
        if rounding == "TRN_ZERO":
            return value + negative * (step_out - step_in)
        if rounding == "RND_ZERO":
            return value + (step_out / 2 - step_in) + negative * step_in
        return value + step_out / 2 - negative * step_in

    def constant(self, value: float):
        return self._trace.FixedVariable.from_const(
            Decimal(float(value)), hwconf=self._trace.HWConfig(*_HWCONF)
        )

    def scale(self, value, constant: float):
        return value * float(constant)

    def absolute(self, value):
        return abs(value)

    def sample_table(self, value, table):
        """Look up a converter ``LookupTable``: nearest sample, ties up, clamped to the table ends."""
        lsb = 2.0**-table.input_type.frac
        step = table.step
        start = table.start_raw * lsb
        stop = start + (table.size - 1) * step
        if table.shift > 0:
            # Keep the integer bits of the sum, so only the dropped fraction changes (floor).
            value = value + step / 2
            k, i, _ = value.kif
            value = value.quantize(k, i, table.input_type.frac - table.shift, "WRAP", "TRN")
        value = value.max_of(start).min_of(stop)
        entries = table.entries.astype(np.float64) * 2.0**-table.entry_type.frac
        first = round((float(value.low) - start) / step)
        last = round((float(value.high) - start) / step)
        stride = max(1, round(float(value.step) / step))
        values = entries[first : last + 1 : stride]
        if len(values) == 1:
            return self.constant(values[0])
        return value.lookup(np.ascontiguousarray(values))

    def multiply(self, left, right):
        return left * right

    def add(self, left, right):
        return left + right

    def relu(self, value):
        return value.relu()


def _trace(run, input_types: Sequence[FixedType], solver_options: dict | None):
    da4ml = require_da4ml()
    backend = Da4mlBackend(solver_options)
    inputs = [backend.new_input(fixed_type) for fixed_type in input_types]
    outputs = run(backend, inputs)
    return da4ml.trace.comb_trace(inputs, outputs)


def trace_precision_plan(folded, plan, solver_options: dict | None = None):
    """Trace a folded SymbolNet network with a converter ``PrecisionPlan`` into a da4ml ``CombLogic``."""
    from hls4ml_symbolnet.hardware.symbolnet import local_type, run_precision_plan

    def run(backend, inputs):
        return run_precision_plan(folded, plan, backend, inputs)

    return _trace(run, [local_type(plan.input)] * folded.n_inputs, solver_options)


def trace_dense(network: QuantizedDenseNetwork, solver_options: dict | None = None):
    """Trace a quantized dense network into a da4ml ``CombLogic``."""

    def run(backend, inputs):
        return run_dense(network, backend, inputs)

    return _trace(run, [network.input_type] * network.n_inputs, solver_options)


def widest_value_bits(comb) -> int:
    """Return the width in bits of the widest intermediate value of a ``CombLogic``."""
    from da4ml.cmvm.types import _minimal_kif

    return max((sum(_minimal_kif(op.qint)) for op in comb.ops), default=0)


def to_pipeline(comb, latency_cutoff: float):
    """Split a ``CombLogic`` into register stages of at most ``latency_cutoff`` delay units."""
    da4ml = require_da4ml()
    return da4ml.trace.to_pipeline(comb, latency_cutoff, retiming=True, verbose=False)
