"""hls4ml IR layers for the three SymbolNet Keras layers.

The Keras handlers pass the trained values unfolded: weights with their thresholds and
operators with their gates. The optimizer passes in :mod:`.passes` fold the pruning into
them, and the templates in :mod:`.templates` emit code from the folded state.

Types come from the hls4ml configuration (``Precision``). ``weight``, ``bias``,
``accum``, ``reciprocal`` and ``pow_log`` set to ``"auto"`` are derived here from the
layer's pruned weights and tables, by the same rules as
:func:`~hls4ml_symbolnet.converters.precision.make_precision_plan`. Lookup tables come
from ``LookupTables`` (per layer, else under ``Model``), else the default range.
"""

from __future__ import annotations

import numpy as np
from hls4ml.model.attributes import Attribute, ConfigurableAttribute, TypeAttribute
from hls4ml.model.layers import Layer
from hls4ml.model.types import NamedType, UnspecifiedPrecisionType
from hls4ml_symbolnet.converters import firmware_ops
from hls4ml_symbolnet.converters.fixed_point import FixedType, build_table
from hls4ml_symbolnet.converters.precision import (
    DEFAULT_ABS_TABLE_RANGE,
    DEFAULT_TABLE_RANGE,
    DEFAULT_TABLE_SIZE,
    accum_type_for,
    constant_type_for,
    table_extreme,
)

__all__ = [
    "SymbolNetDense",
    "SymbolNetInputPruning",
    "SymbolNetSymbolic",
    "input_mask_from_threshold",
    "linear_masks",
    "node_gates",
]


def input_mask_from_threshold(threshold: np.ndarray) -> np.ndarray:
    """Kept inputs of an input-pruning layer: ``1 - t > 0``, in the layer's float32."""
    return (1.0 - np.asarray(threshold)) > 0


def linear_masks(node) -> tuple[np.ndarray, np.ndarray]:
    """Kept weights and biases of a pruned linear map: ``|w| > t``, as the Keras layers compute them."""
    kernel_mask = np.abs(node.get_attr("kernel")) > node.get_attr("kernel_threshold")
    bias_mask = np.abs(node.get_attr("bias")) > node.get_attr("bias_threshold")
    return kernel_mask, bias_mask


def node_gates(threshold: np.ndarray) -> np.ndarray:
    """Kept operator nodes: ``1 - t > 0``."""
    return (1.0 - np.asarray(threshold)) > 0


# Types that follow the layer's constants unless set explicitly, as in make_precision_plan.
_DERIVED_TYPES = ("weight", "bias", "accum", "reciprocal", "pow_log")


def _fixed(node, type_name: str) -> FixedType:
    return FixedType.from_precision(node.get_attr(type_name + "_t").precision)


class _PrunedLinearMixin:
    """Type resolution shared by the symbolic and output layers."""

    def _masked_values(self):
        kernel_mask, bias_mask = linear_masks(self)
        kernel = np.where(kernel_mask, self.get_attr("kernel"), 0.0).astype(np.float64)
        kernel = kernel * self.get_attr("input_mask", np.ones(kernel.shape[0], dtype=bool))[:, None]
        bias = np.where(bias_mask, self.get_attr("bias"), 0.0).astype(np.float64)
        return kernel, bias

    def _set_linear_types(self):
        for type_name in ("weight", "bias"):
            self._set_type_t(type_name)
        input_type = FixedType.from_precision(self.get_input_variable().type.precision)
        kernel, bias = self._masked_values()
        width = self._default_width()
        if self._unspecified("weight"):
            nonzero = np.abs(kernel[kernel != 0])
            self._set_fixed("weight", constant_type_for(float(nonzero.max()) if nonzero.size else 0.0, width))
        if self._unspecified("bias"):
            self._set_fixed(
                "bias", constant_type_for(float(np.max(np.abs(bias))) if bias.size else 0.0, width)
            )
        if self._unspecified("accum"):
            accum = accum_type_for(kernel, bias, _fixed(self, "weight"), _fixed(self, "bias"), input_type)
            self._set_fixed("accum", accum)

    def _default_width(self) -> int:
        precision, _ = self.model.config.get_precision(self, "default")
        return int(getattr(precision, "width", 18))

    def _unspecified(self, type_name: str) -> bool:
        """True when the type is 'auto' or, for a type derived from constants, not set explicitly."""
        named = self.get_attr(type_name + "_t")
        if named is None or isinstance(named.precision, UnspecifiedPrecisionType):
            return True
        return type_name in _DERIVED_TYPES and not self._explicit(type_name)

    def _explicit(self, type_name: str) -> bool:
        hls_config = self.model.config.config.get("HLSConfig", {})
        layer_precision = ((hls_config.get("LayerName") or {}).get(self.name) or {}).get("Precision")
        model_precision = (hls_config.get("Model") or {}).get("Precision")
        for precision in (layer_precision, model_precision):
            if isinstance(precision, dict) and type_name in precision:
                return str(precision[type_name]).strip().lower() != "auto"
        return False

    def _set_fixed(self, type_name: str, fixed_type: FixedType):
        self.set_attr(type_name + "_t", NamedType(f"{self.name}_{type_name}_t", fixed_type.to_precision()))


class SymbolNetInputPruning(Layer):
    """Input gates of a SymbolNet model: input ``i`` passes when ``1 - threshold[i] > 0``.

    The output keeps the input type. The ``fold_input_pruning`` pass removes this
    layer and zeroes the next layer's weights of pruned inputs instead.
    """

    _expected_attributes = [
        Attribute("n_in"),
        Attribute("threshold", value_type=np.ndarray),
    ]

    def initialize(self):
        inp = self.get_input_variable()
        self.add_output_variable(inp.shape, precision=inp.type.precision)


class SymbolNetSymbolic(_PrunedLinearMixin, Layer):
    """A SymbolNet symbolic layer: pruned linear map, then unary and binary operator nodes.

    Output ``k < n_unary`` is unary node ``k`` on linear unit ``k``; output
    ``n_unary + j`` is binary node ``j`` on units ``n_unary + 2j`` and
    ``n_unary + 2j + 1``. Operator names come from the registry.
    """

    _expected_attributes = [
        Attribute("n_in"),
        Attribute("n_unary"),
        Attribute("n_binary"),
        Attribute("kernel", value_type=np.ndarray),
        Attribute("bias", value_type=np.ndarray),
        Attribute("kernel_threshold", value_type=np.ndarray),
        Attribute("bias_threshold", value_type=np.ndarray),
        Attribute("unary_threshold", value_type=np.ndarray),
        Attribute("binary_threshold", value_type=np.ndarray),
        Attribute("unary_operators", value_type=list),
        Attribute("binary_operators", value_type=list),
        ConfigurableAttribute("lookup_tables", value_type=dict, default={}),
        TypeAttribute("weight"),
        TypeAttribute("bias"),
        TypeAttribute("accum"),
        TypeAttribute("linear"),
        TypeAttribute("reciprocal"),
        TypeAttribute("pow_log"),
        TypeAttribute("pow_exponent"),
    ]

    @property
    def n_linear(self) -> int:
        return self.get_attr("n_unary") + 2 * self.get_attr("n_binary")

    def initialize(self):
        n_nodes = self.get_attr("n_unary") + self.get_attr("n_binary")
        self.add_output_variable([n_nodes])
        self.set_attr("assigned_unary_operators", list(self.get_attr("unary_operators")))
        self.set_attr("assigned_binary_operators", list(self.get_attr("binary_operators")))
        self.set_attr("dead_nodes", np.zeros(n_nodes, dtype=bool))
        for type_name in ("linear", "pow_exponent", "reciprocal", "pow_log"):
            self._set_type_t(type_name)
        for type_name in ("linear", "pow_exponent"):
            if self._unspecified(type_name):
                raise ValueError(
                    f"Layer {self.name!r}: the {type_name} type is 'auto', which only "
                    "hls4ml_symbolnet.converters.convert_from_symbolnet can resolve (from calibration data). "
                    "Set Precision for it, or convert with convert_from_symbolnet."
                )
        self._set_linear_types()
        self._build_tables()

    def _table_settings(self, name: str) -> dict:
        model_tables = (self.model.config.config.get("HLSConfig", {}).get("Model") or {}).get(
            "LookupTables"
        ) or {}
        settings = dict(model_tables.get(name) or {})
        settings.update(self.get_attr("lookup_tables", {}).get(name) or {})
        return settings

    def _effective_operators(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Operators of kept nodes, with pruned unary nodes as identity and pruned binary nodes as add."""
        unary_kept = node_gates(self.get_attr("unary_threshold"))
        binary_kept = node_gates(self.get_attr("binary_threshold"))
        unary = tuple(
            n if keep else "identity" for n, keep in zip(self.get_attr("unary_operators"), unary_kept)
        )
        binary = tuple(
            n if keep else "add" for n, keep in zip(self.get_attr("binary_operators"), binary_kept)
        )
        return unary, binary

    def _unfolded_table_names(self) -> list[str]:
        """Tables the layer would need with no operator pruned; operators without firmware are skipped."""
        names = []
        for name in dict.fromkeys(self.get_attr("unary_operators")):
            try:
                names += list(firmware_ops.layer_table_specs((name,), ()))
            except NotImplementedError:
                continue
        for name in dict.fromkeys(self.get_attr("binary_operators")):
            try:
                names += list(firmware_ops.layer_table_specs((), (name,)))
            except NotImplementedError:
                continue
        return names

    def _build_tables(self):
        self.set_attr("unfolded_tables", self._unfolded_table_names())
        specs = firmware_ops.layer_table_specs(*self._effective_operators())
        ranges = {}
        for name, spec in specs.items():
            default = DEFAULT_ABS_TABLE_RANGE if spec.abs_input else DEFAULT_TABLE_RANGE
            ranges[name] = tuple(self._table_settings(name).get("range", default))
        width = self._default_width()
        for entry_name in ("reciprocal", "pow_log"):
            if self._unspecified(entry_name):
                values = [
                    table_extreme(spec, ranges[name])
                    for name, spec in specs.items()
                    if spec.entry == entry_name
                ]
                self._set_fixed(entry_name, constant_type_for(max(values) if values else 1.0, width))
        result_type = FixedType.from_precision(self.get_output_variable().type.precision)
        tables = {}
        for name, spec in specs.items():
            source = _fixed(self, "pow_exponent") if spec.source == "pow_exponent" else _fixed(self, "linear")
            entry = result_type if spec.entry == "result" else _fixed(self, spec.entry)
            size = self._table_settings(name).get("table_size", DEFAULT_TABLE_SIZE)
            tables[name] = build_table(
                name,
                spec.function,
                spec.function_name,
                source,
                ranges[name],
                size,
                entry,
                abs_input=spec.abs_input,
            )
        self.set_attr("symbolnet_tables", tables)


class SymbolNetDense(_PrunedLinearMixin, Layer):
    """The pruned output layer of a SymbolNet model: ``y = x @ W + b`` with pruned entries zero."""

    _expected_attributes = [
        Attribute("n_in"),
        Attribute("n_out"),
        Attribute("kernel", value_type=np.ndarray),
        Attribute("bias", value_type=np.ndarray),
        Attribute("kernel_threshold", value_type=np.ndarray),
        Attribute("bias_threshold", value_type=np.ndarray),
        TypeAttribute("weight"),
        TypeAttribute("bias"),
        TypeAttribute("accum"),
    ]

    def initialize(self):
        self.add_output_variable([self.get_attr("n_out")])
        self._set_linear_types()
