"""The precision plan: every fixed-point type and lookup table of a SymbolNet firmware.

A :class:`PrecisionPlan` is complete: together with a
:class:`~hls4ml_symbolnet.network.FoldedNetwork` it fixes the firmware arithmetic bit for
bit. :func:`~hls4ml_symbolnet.converters.precision.make_precision_plan` builds one from
data and user settings, :meth:`PrecisionPlan.to_hls_config` turns it into hls4ml's
configuration dict, and :class:`~hls4ml_symbolnet.converters.reference.FixedPointModel`
evaluates it in numpy.

Type names, as they appear under ``Precision`` in the hls4ml configuration:

* symbolic layers: ``weight``, ``bias``, ``accum`` (the linear sums), ``linear`` (each
  linear unit ``z``, the input of the operators), ``result`` (node outputs and the
  entries of the unary and power-exp tables), ``reciprocal`` (entries of a divide
  table), ``pow_log`` (entries of a power-log table) and ``pow_exponent`` (``z2 * log``
  of a power node, the input of its exp table);
* the output layer: ``weight``, ``bias``, ``accum``, ``result``;
* the input layer (and the input-pruning layer, which keeps it): ``result``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from hls4ml_symbolnet.converters.fixed_point import FixedType, LookupTable

__all__ = [
    "OUTPUT_TYPES",
    "SYMBOLIC_TYPES",
    "OutputLayerPlan",
    "PrecisionPlan",
    "SymbolicLayerPlan",
]

SYMBOLIC_TYPES = ("weight", "bias", "accum", "linear", "result", "reciprocal", "pow_log", "pow_exponent")
OUTPUT_TYPES = ("weight", "bias", "accum", "result")


@dataclasses.dataclass(frozen=True)
class SymbolicLayerPlan:
    """Types and lookup tables of one symbolic layer.

    ``input`` is the type of the layer's input (the model input type or the previous
    layer's ``result``); ``types`` maps every name of :data:`SYMBOLIC_TYPES` to a type;
    ``tables`` maps table names (see
    :func:`~hls4ml_symbolnet.converters.firmware_ops.layer_table_specs`) to tables.
    """

    name: str
    input: FixedType
    types: Mapping[str, FixedType]
    tables: Mapping[str, LookupTable]


@dataclasses.dataclass(frozen=True)
class OutputLayerPlan:
    """Types of the output layer; ``types`` maps every name of :data:`OUTPUT_TYPES`."""

    name: str
    input: FixedType
    types: Mapping[str, FixedType]


@dataclasses.dataclass(frozen=True)
class PrecisionPlan:
    """All fixed-point types and lookup tables of a SymbolNet firmware.

    Attributes:
        input_name: name of the model's input layer.
        input: type of the model input.
        input_pruning_name: name of the input-pruning layer, or None.
        layers: one plan per symbolic layer, in order.
        output: plan of the output layer.
        observed: float ranges ``(min, max)`` seen on calibration data, keyed by
            ``(layer name, quantity)``; empty without calibration data.
        user_given: ``(layer name, type name)`` pairs whose type the user set, and
            ``(layer name, "table <name>")`` pairs whose table range the user set.
    """

    input_name: str
    input: FixedType
    input_pruning_name: str | None
    layers: tuple[SymbolicLayerPlan, ...]
    output: OutputLayerPlan
    observed: Mapping[tuple[str, str], tuple[float, float]] = dataclasses.field(default_factory=dict)
    user_given: frozenset = frozenset()

    def layer(self, name: str) -> SymbolicLayerPlan | OutputLayerPlan:
        """Return the plan of the layer called ``name``."""
        for plan in (*self.layers, self.output):
            if plan.name == name:
                return plan
        known = [plan.name for plan in (*self.layers, self.output)]
        raise KeyError(f"No layer {name!r} in the precision plan. Layers: {known}")

    def summary(self) -> str:
        """Readable table of each layer's types, observed ranges and lookup tables."""
        header = f"{'layer':<28} {'quantity':<13} {'type':<34} {'observed range':<26} {'representable'}"
        lines = [header, "-" * len(header)]

        def row(layer: str, quantity: str, fixed_type: FixedType):
            seen = self.observed.get((layer, quantity))
            seen_text = f"[{seen[0]:.4g}, {seen[1]:.4g}]" if seen else "-"
            mark = " (user)" if (layer, quantity) in self.user_given else ""
            lines.append(
                f"{layer:<28} {quantity:<13} {fixed_type.cpp() + mark:<34} {seen_text:<26} "
                f"[{fixed_type.min_value:.4g}, {fixed_type.max_value:.4g}]"
            )

        row(self.input_name, "result", self.input)
        for layer in self.layers:
            for type_name in SYMBOLIC_TYPES:
                row(layer.name, type_name, layer.types[type_name])
        for type_name in OUTPUT_TYPES:
            row(self.output.name, type_name, self.output.types[type_name])
        table_lines = [
            f"  {layer.name}: {table.describe()}" for layer in self.layers for table in layer.tables.values()
        ]
        if table_lines:
            lines.append("lookup tables:")
            lines.extend(table_lines)
        return "\n".join(lines)

    def to_hls_config(
        self,
        granularity: str = "name",
        default_precision: str | None = None,
        reuse_factor: int = 1,
        strategy: str = "Latency",
    ) -> dict:
        """Return the plan as hls4ml's nested configuration dict.

        Args:
            granularity: ``"name"`` gives every layer its own ``Precision`` and
                ``LookupTables`` under ``LayerName``; ``"model"`` gives one type per type
                name (the widest over all layers) and one table range per table name
                (the union) under ``Model``, leaving ``weight``, ``bias`` and ``accum``
                to be chosen per layer at conversion (``"auto"``).
            default_precision: value of ``Model.Precision.default``; the input type if None.
            reuse_factor: ``ReuseFactor`` for the model and each layer.
            strategy: ``Model.Strategy``.
        """
        default = default_precision or self.input.cpp()
        model_config: dict = {
            "Precision": {"default": default},
            "ReuseFactor": reuse_factor,
            "Strategy": strategy,
        }
        if granularity == "model":
            model_config["Precision"].update(self._model_types())
            model_config["LookupTables"] = self._model_tables()
            return {"Model": model_config}
        if granularity != "name":
            raise ValueError(
                f"`granularity` must be 'model' or 'name'. Received: granularity={granularity!r}"
            )
        layer_config: dict = {self.input_name: {"Precision": {"result": self.input.cpp()}}}
        if self.input_pruning_name is not None:
            layer_config[self.input_pruning_name] = {"Precision": {"result": self.input.cpp()}}
        for layer in self.layers:
            layer_config[layer.name] = {
                "Precision": {name: layer.types[name].cpp() for name in SYMBOLIC_TYPES},
                "ReuseFactor": reuse_factor,
                "LookupTables": {name: _table_config(table) for name, table in layer.tables.items()},
            }
        layer_config[self.output.name] = {
            "Precision": {name: self.output.types[name].cpp() for name in OUTPUT_TYPES},
            "ReuseFactor": reuse_factor,
        }
        return {"Model": model_config, "LayerName": layer_config}

    def _model_types(self) -> dict[str, str]:
        widest: dict[str, FixedType] = {"result": self.input}
        candidates = [(name, layer.types[name]) for layer in self.layers for name in SYMBOLIC_TYPES]
        candidates += [(name, self.output.types[name]) for name in OUTPUT_TYPES]
        for name, fixed_type in candidates:
            if name in ("weight", "bias", "accum"):
                continue
            current = widest.get(name)
            if current is None:
                widest[name] = fixed_type
            else:
                integer = max(current.integer, fixed_type.integer)
                frac = max(current.frac, fixed_type.frac)
                widest[name] = current.with_integer(integer, width=integer + frac)
        types = {name: fixed_type.cpp() for name, fixed_type in widest.items()}
        types.update({"weight": "auto", "bias": "auto", "accum": "auto"})
        return types

    def _model_tables(self) -> dict[str, dict]:
        tables: dict[str, dict] = {}
        for layer in self.layers:
            for name, table in layer.tables.items():
                config = _table_config(table)
                if name in tables:
                    low, high = tables[name]["range"]
                    config["range"] = [min(low, config["range"][0]), max(high, config["range"][1])]
                    config["table_size"] = max(tables[name]["table_size"], config["table_size"])
                tables[name] = config
        return tables


def _table_config(table: LookupTable) -> dict:
    return {"range": [float(table.start), float(table.stop)], "table_size": int(table.size)}
