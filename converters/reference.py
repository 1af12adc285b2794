"""Bit-exact numpy model of the SymbolNet firmware arithmetic."""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict

import numpy as np
from hls4ml_symbolnet.converters import firmware_ops
from hls4ml_symbolnet.converters.fixed_point import (
    FixedType,
    exact_array,
    quantize_constant,
    quantize_float,
    requantize,
    to_float,
)
from hls4ml_symbolnet.converters.plan import PrecisionPlan

__all__ = ["FixedPointModel", "QuantizedLinear", "accumulator_is_exact", "node_outputs"]


@dataclasses.dataclass(frozen=True)
class QuantizedLinear:
    """A linear map with weights and biases quantized as the firmware stores them.

    ``kernel_raw`` and ``bias_raw`` are raw integers of ``weight`` and ``bias``
    (see :func:`~hls4ml_symbolnet.converters.fixed_point.quantize_constant`); an entry
    that is zero emits no multiply and no add.
    """

    weight: FixedType
    bias: FixedType
    accum: FixedType
    input: FixedType
    kernel_raw: np.ndarray
    bias_raw: np.ndarray

    @classmethod
    def from_folded(cls, linear, types, input_type: FixedType) -> QuantizedLinear:
        return cls(
            weight=types["weight"],
            bias=types["bias"],
            accum=types["accum"],
            input=input_type,
            kernel_raw=quantize_constant(linear.kernel, types["weight"]),
            bias_raw=quantize_constant(linear.bias, types["bias"]),
        )

    @property
    def exact(self) -> bool:
        return accumulator_is_exact(
            self.kernel_raw, self.bias_raw, self.weight, self.bias, self.accum, self.input
        )


def accumulator_is_exact(kernel_raw, bias_raw, weight, bias, accum, input_type) -> bool:
    """True when no accumulation step of any unit can round or overflow ``accum``.

    Then the order of the sums does not matter, and folding constants into a bias
    keeps the result bit for bit.
    """
    product_frac = weight.frac + input_type.frac
    if not accum.signed or accum.frac < product_frac or accum.frac < bias.frac:
        return False
    largest_input = max(abs(input_type.min_raw), abs(input_type.max_raw))
    column_sums = (
        np.sum(np.abs(kernel_raw.astype(object)), axis=0) if kernel_raw.size else np.zeros(0, dtype=object)
    )
    for unit in range(len(bias_raw)):
        bound = abs(int(bias_raw[unit])) << (accum.frac - bias.frac)
        if kernel_raw.size:
            bound += (int(column_sums[unit]) * largest_input) << (accum.frac - product_frac)
        if bound > accum.max_raw:
            return False
    return True


class _Recorder:
    """Counts out-of-range values per ``(layer, quantity)`` site."""

    def __init__(self):
        self.overflows: dict[tuple[str, str], int] = defaultdict(int)
        self.clamped: dict[tuple[str, str], int] = defaultdict(int)

    def overflow_list(self, site):
        return _SiteList(self.overflows, site)

    def clamp_list(self, site):
        return _SiteList(self.clamped, site)


class _SiteList(list):
    def __init__(self, counts, site):
        super().__init__()
        self._counts = counts
        self._site = site

    def append(self, value):
        self._counts[self._site] += int(value)


class FixedPointModel:
    """Bit-exact numpy model of the firmware that a :class:`PrecisionPlan` describes.

    Types are ``ap_fixed``; raw integers, rounding and overflow follow
    :mod:`hls4ml_symbolnet.converters.fixed_point`. For each sample:

    1. The input ``x`` (float) is converted to ``plan.input`` (:func:`quantize_float`).
       Inputs that are pruned or have only zero weights are never read (taken as 0).
    2. Each symbolic layer, from input ``h`` of type ``input``:

       a. Weights and biases are the folded network's, rounded to ``weight`` and
          ``bias`` (nearest, ties to even, saturating). A zero weight is skipped.
       b. Linear unit ``k``: ``acc = accum(b_k)``, then for each nonzero weight in
          increasing input order ``acc = accum(acc + w_ik * h_i)`` (exact sum, then
          assignment to ``accum``); ``z_k = linear(acc)``. With the default accumulator
          every step is exact, so the order does not matter.
       c. Unary node ``k`` on ``z_k``: ``wire`` -> ``result(z)``; ``multiply`` ->
          ``result(z**n)`` (exact power); ``table`` -> the entry of the operator's table
          indexed by ``z`` (entries are already ``result`` values).
       d. Binary node ``j`` on ``z1 = z[n_u + 2j]``, ``z2 = z[n_u + 2j + 1]``:
          ``add`` -> ``result(z1 + z2)``; ``multiply`` -> ``result(z1 * z2)``;
          ``divide`` -> ``result(z1 * R)`` with ``R`` the ``reciprocal`` entry of the
          operator's table indexed by ``|z2|``; ``power`` -> ``t = pow_exponent(z2 * L)``
          with ``L`` the ``pow_log`` entry of the ``<op>_log`` table indexed by ``|z1|``,
          then the ``result`` entry of the ``<op>_exp`` table indexed by ``t``.
       e. The layer output is the unary then the binary node outputs, type ``result``.
    3. The output layer computes step 2b with its own types and assigns the sums to
       its ``result`` type. :meth:`predict` returns those values as float64.

    Table indexing is :meth:`LookupTable.index
    <hls4ml_symbolnet.converters.fixed_point.LookupTable.index>`: the nearest sample,
    clamped to the table ends.

    Args:
        folded: the pruned network, from :func:`hls4ml_symbolnet.fold_network`.
        plan: its precision plan.

    Attributes:
        linears: one :class:`QuantizedLinear` per symbolic layer, then the output layer.
    """

    def __init__(self, folded, plan: PrecisionPlan):
        from hls4ml_symbolnet.network import FoldedNetwork

        if not isinstance(folded, FoldedNetwork):
            raise TypeError(f"`folded` must be a FoldedNetwork. Received: {type(folded).__name__}")
        if not isinstance(plan, PrecisionPlan):
            raise TypeError(f"`plan` must be a PrecisionPlan. Received: {type(plan).__name__}")
        if len(folded.layers) != len(plan.layers):
            raise ValueError(
                f"The plan has {len(plan.layers)} symbolic layers but the network has {len(folded.layers)}."
            )
        self.folded = folded
        self.plan = plan
        self.linears: list[QuantizedLinear] = []
        for layer, layer_plan in zip(folded.layers, plan.layers):
            self.linears.append(QuantizedLinear.from_folded(layer.linear, layer_plan.types, layer_plan.input))
            self._check_tables(layer, layer_plan)
        self.linears.append(QuantizedLinear.from_folded(folded.output, plan.output.types, plan.output.input))

    @staticmethod
    def _check_tables(layer, layer_plan):
        needed = firmware_ops.layer_table_specs(layer.unary, layer.binary)
        missing = [name for name in needed if name not in layer_plan.tables]
        if missing:
            raise ValueError(f"Layer {layer.name!r}: the precision plan has no lookup table for {missing}.")

    def predict(self, x) -> np.ndarray:
        """Return the firmware outputs for float inputs ``x`` of shape (n, n_inputs), as float64."""
        raw = self.predict_raw(x)
        return to_float(raw, self.plan.output.types["result"])

    def predict_raw(self, x) -> np.ndarray:
        """Return the raw integers of the firmware outputs (type ``plan.output.types['result']``)."""
        return self._run(x, None)[-1]

    def trace(self, x) -> dict[str, np.ndarray]:
        """Return raw intermediate values: ``input``, then ``<layer>/linear`` and ``<layer>/result``."""
        values: dict[str, np.ndarray] = {}
        self._run(x, None, values)
        return values

    def overflow_report(self, x) -> dict[str, dict[tuple[str, str], int]]:
        """Count values that overflow a type or fall outside a table, per ``(layer, quantity)``.

        Returns:
            ``{"overflows": {...}, "clamped": {...}}``; a site with no events is absent.
        """
        recorder = _Recorder()
        self._run(x, recorder)
        return {
            "overflows": {site: n for site, n in recorder.overflows.items() if n},
            "clamped": {site: n for site, n in recorder.clamped.items() if n},
        }

    def _check_input(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.folded.n_inputs:
            raise ValueError(
                f"Expected inputs of shape (n_samples, {self.folded.n_inputs}). Received: shape={x.shape}"
            )
        return x.astype(np.float64)

    def _run(self, x, recorder: _Recorder | None, values: dict | None = None):
        x = self._check_input(x)

        def overflows(site):
            return recorder.overflow_list(site) if recorder is not None else None

        def clamped(site):
            return recorder.clamp_list(site) if recorder is not None else None

        # Only inputs with a nonzero weight are read by the firmware, so only they are converted.
        used = self.folded.used_inputs()
        h = np.zeros(x.shape, dtype=np.int64)
        h[:, used] = quantize_float(x[:, used], self.plan.input, overflows((self.plan.input_name, "result")))
        if values is not None:
            values["input"] = h
        outputs = [h]
        for layer, layer_plan, linear in zip(self.folded.layers, self.plan.layers, self.linears):
            z = _linear_sums(h, linear, layer_plan.types["linear"], layer_plan.name, "linear", overflows)
            h = _apply_nodes(z, layer.unary, layer.binary, layer_plan, overflows, clamped)
            if values is not None:
                values[f"{layer_plan.name}/linear"] = z
                values[f"{layer_plan.name}/result"] = h
            outputs.append(h)
        output_plan = self.plan.output
        y = _linear_sums(
            h, self.linears[-1], output_plan.types["result"], output_plan.name, "result", overflows
        )
        if values is not None:
            values[f"{output_plan.name}/result"] = y
        outputs.append(y)
        return outputs


def _linear_sums(
    h, linear: QuantizedLinear, out_type: FixedType, layer_name: str, out_quantity: str, overflows
):
    """Compute the linear units of one layer and assign them to ``out_type``."""
    accum_site = overflows((layer_name, "accum"))
    if linear.exact:
        acc = _exact_sums(h, linear, accum_site)
    else:
        acc = _sequential_sums(h, linear, accum_site)
    return requantize(acc, linear.accum.frac, out_type, overflows((layer_name, out_quantity)))


def _exact_sums(h, linear: QuantizedLinear, accum_site) -> np.ndarray:
    product_frac = linear.weight.frac + linear.input.frac
    common = max(product_frac, linear.bias.frac)
    used = np.flatnonzero(np.any(linear.kernel_raw != 0, axis=1))
    bits = (
        linear.weight.width + linear.input.width + math.ceil(math.log2(len(used) + 2)) + common - product_frac
    )
    if len(used):
        products = exact_array(h[:, used], bits) @ exact_array(linear.kernel_raw[used], bits)
    else:
        products = exact_array(np.zeros((h.shape[0], linear.kernel_raw.shape[1]), dtype=np.int64), bits)
    bias = exact_array(linear.bias_raw, bits + 1)[None, :] << (common - linear.bias.frac)
    total = (products << (common - product_frac)) + bias
    return requantize(total, common, linear.accum, accum_site)


def _sequential_sums(h, linear: QuantizedLinear, accum_site) -> np.ndarray:
    # Python integers throughout: this path serves user-given accumulators, where every
    # step may round, so it follows the firmware's order term by term.
    accum = linear.accum
    n_samples = h.shape[0]
    n_in, n_out = linear.kernel_raw.shape
    product_frac = linear.weight.frac + linear.input.frac
    common = max(accum.frac, product_frac)
    bias = np.broadcast_to(linear.bias_raw, (n_samples, n_out))
    acc = requantize(bias, linear.bias.frac, accum, accum_site).astype(object)
    inputs = np.asarray(h).astype(object)
    kernel = linear.kernel_raw.astype(object)
    for i in range(n_in):
        units = np.flatnonzero(linear.kernel_raw[i])
        if len(units) == 0:
            continue
        term = inputs[:, i : i + 1] * kernel[i, units][None, :]
        total = (acc[:, units] << (common - accum.frac)) + (term << (common - product_frac))
        acc[:, units] = requantize(total.astype(object), common, accum, accum_site).astype(object)
    return exact_array(acc, accum.width + 1)


def node_outputs(z_raw, unary, binary, layer_plan) -> np.ndarray:
    """Raw outputs of a symbolic layer's nodes for raw linear units ``z_raw`` of shape (n, n_linear).

    ``unary`` and ``binary`` are the operator names per node; the arithmetic is step 2c-2e
    of :class:`FixedPointModel`.
    """
    return _apply_nodes(np.asarray(z_raw), tuple(unary), tuple(binary), layer_plan, _no_site, _no_site)


def _no_site(site):
    return None


def _apply_nodes(z, unary, binary, layer_plan, overflows, clamped) -> np.ndarray:
    types = layer_plan.types
    linear_type, result_type = types["linear"], types["result"]
    result_site = overflows((layer_plan.name, "result"))
    n_unary = len(unary)
    columns = []
    for k, name in enumerate(unary):
        columns.append(_unary(name, z[:, k], linear_type, result_type, layer_plan, result_site, clamped))
    for j, name in enumerate(binary):
        left = z[:, n_unary + 2 * j]
        right = z[:, n_unary + 2 * j + 1]
        columns.append(_binary(name, left, right, types, layer_plan, overflows, result_site, clamped))
    if not columns:
        return np.zeros((z.shape[0], 0), dtype=np.int64)
    return exact_array(np.stack(columns, axis=1), result_type.width + 1)


def _unary(name, z, linear_type, result_type, layer_plan, result_site, clamped):
    kind = firmware_ops.unary_kind(name)
    if kind == "wire":
        return requantize(z, linear_type.frac, result_type, result_site)
    if kind == "multiply":
        power = firmware_ops.unary_power(name)
        value = exact_array(z, linear_type.width * power + 1) ** power
        return requantize(value, linear_type.frac * power, result_type, result_site)
    table = layer_plan.tables[name]
    return table.lookup(z, clamped((layer_plan.name, f"table {name}")))


def _binary(name, left, right, types, layer_plan, overflows, result_site, clamped):
    kind = firmware_ops.binary_kind(name)
    linear_type, result_type = types["linear"], types["result"]
    if kind == "add":
        total = exact_array(left, linear_type.width + 2) + exact_array(right, linear_type.width + 2)
        return requantize(total, linear_type.frac, result_type, result_site)
    if kind == "multiply":
        bits = 2 * linear_type.width + 1
        return requantize(
            exact_array(left, bits) * exact_array(right, bits), 2 * linear_type.frac, result_type, result_site
        )
    if kind == "divide":
        table = layer_plan.tables[name]
        reciprocal = table.lookup(
            np.abs(exact_array(right, linear_type.width + 2)), clamped((layer_plan.name, f"table {name}"))
        )
        bits = linear_type.width + table.entry_type.width + 1
        product = exact_array(left, bits) * exact_array(reciprocal, bits)
        return requantize(product, linear_type.frac + table.entry_type.frac, result_type, result_site)
    log_table = layer_plan.tables[f"{name}_log"]
    exp_table = layer_plan.tables[f"{name}_exp"]
    logarithm = log_table.lookup(
        np.abs(exact_array(left, linear_type.width + 2)), clamped((layer_plan.name, f"table {name}_log"))
    )
    bits = linear_type.width + log_table.entry_type.width + 1
    exponent = requantize(
        exact_array(right, bits) * exact_array(logarithm, bits),
        linear_type.frac + log_table.entry_type.frac,
        types["pow_exponent"],
        overflows((layer_plan.name, "pow_exponent")),
    )
    return exp_table.lookup(exponent, clamped((layer_plan.name, f"table {name}_exp")))
