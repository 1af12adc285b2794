"""Choose fixed-point types and lookup tables from data and user settings.

How a type is chosen, for each layer and type name (see :mod:`.plan` for the names):

1. A type the user sets explicitly, ``LayerName.<layer>.Precision.<type>`` or else
   ``Model.Precision.<type>`` (any value but ``"auto"``), is used as given. With
   calibration data, a warning names the layer when it overflows on that data.
2. Otherwise ``weight``, ``bias``, ``reciprocal`` and ``pow_log`` get the integer bits
   their largest constant needs. ``accum`` is wide enough that no sum can round or
   overflow for any input of the layer's input type.
3. Otherwise ``linear``, ``result``, ``pow_exponent`` and the input type take the
   width and modes of the default precision (``LayerName.<layer>.Precision`` when it
   is a string, else ``Model.Precision.default`` or a string ``Model.Precision``, else
   the ``default_precision`` argument). With calibration data their integer bits are
   chosen so that no value overflows on it, plus one bit of headroom at the same
   width: first from the float ranges, then checked with
   :class:`~.reference.FixedPointModel` and widened where the fixed-point values still
   overflow. Without data the default is used as is.

Lookup tables (``LookupTables.<table>`` with ``range`` and ``table_size``, per layer or
under ``Model``) cover the given range; else the range of their input on the
calibration data; else ``[-8, 8]`` (``[0, 8]`` for tables indexed by an absolute
value). The size defaults to the ``table_size`` argument, 1024.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping

import numpy as np
from hls4ml_symbolnet.converters import firmware_ops
from hls4ml_symbolnet.converters.fixed_point import FixedType, build_table
from hls4ml_symbolnet.converters.plan import (
    OUTPUT_TYPES,
    SYMBOLIC_TYPES,
    OutputLayerPlan,
    PrecisionPlan,
    SymbolicLayerPlan,
)

__all__ = [
    "DEFAULT_ABS_TABLE_RANGE",
    "DEFAULT_PRECISION",
    "DEFAULT_TABLE_RANGE",
    "DEFAULT_TABLE_SIZE",
    "accum_type_for",
    "constant_type_for",
    "live_nodes",
    "make_precision_plan",
    "parse_precision",
    "profile_ranges",
    "table_extreme",
]

logger = logging.getLogger(__name__)

DEFAULT_PRECISION = "ap_fixed<18,10>"
DEFAULT_TABLE_SIZE = 1024
DEFAULT_TABLE_RANGE = (-8.0, 8.0)
DEFAULT_ABS_TABLE_RANGE = (0.0, 8.0)
# Types derived from data keep the default width but at least this many fractional bits.
_MIN_FRAC_BITS = 1
# Integer bits added above what the calibration data needs, at the same total width, so
# inputs somewhat beyond the calibration range do not wrap around.
_HEADROOM_BITS = 1
# Rounds of widening after the fixed-point check; each round adds one integer bit.
_MAX_WIDENING_ROUNDS = 8
_DATA_TYPES = ("linear", "result", "pow_exponent")
_TABLE_KEYS = ("range", "table_size")


def parse_precision(value, where: str, backend: str = "Vivado") -> FixedType:
    """Parse an hls4ml precision string (or precision object) into a :class:`FixedType`.

    Raises:
        ValueError: if hls4ml cannot parse ``value``; the message names ``where``.
        NotImplementedError: for floating-point types.
    """
    if isinstance(value, FixedType):
        return value
    from hls4ml.backends import get_backend
    from hls4ml.model.types import PrecisionType

    if not isinstance(value, (str, PrecisionType)):
        raise ValueError(
            f"Invalid precision for {where}: expected a string such as 'ap_fixed<18,10>'. Received: {value!r}"
        )
    try:
        precision = get_backend(backend).convert_precision_string(value)
    except Exception as error:  # hls4ml's parser raises several types on malformed strings
        raise ValueError(
            f"Invalid precision {value!r} for {where}: hls4ml cannot parse it "
            f"({type(error).__name__}: {error}). "
            "Use a form such as 'ap_fixed<18,10>' or 'ap_fixed<16,6,AP_RND,AP_SAT>'."
        ) from None
    try:
        return FixedType.from_precision(precision)
    except NotImplementedError as error:
        raise NotImplementedError(f"Unsupported precision {value!r} for {where}: {error}") from None


def live_nodes(folded) -> list[np.ndarray]:
    """Boolean mask per symbolic layer, True for each node whose output reaches an output.

    A node is live when a nonzero weight connects it to a live unit of the next layer.
    """
    masks: list[np.ndarray] = [np.zeros(0, dtype=bool)] * len(folded.layers)
    live_units = np.ones(folded.output.n_out, dtype=bool)
    next_kernel = folded.output.kernel
    for index in range(len(folded.layers) - 1, -1, -1):
        layer = folded.layers[index]
        node_live = np.any(next_kernel[:, live_units] != 0, axis=1)
        masks[index] = node_live
        live_units = _live_units(layer, node_live)
        next_kernel = layer.linear.kernel
    return masks


def _live_units(layer, node_live: np.ndarray) -> np.ndarray:
    """Linear units of a symbolic layer that feed live nodes."""
    units = np.zeros(layer.linear.n_out, dtype=bool)
    units[: layer.n_unary] = node_live[: layer.n_unary]
    binary_live = node_live[layer.n_unary :]
    units[layer.n_unary :: 2] = binary_live
    units[layer.n_unary + 1 :: 2] = binary_live
    return units


def _range(values: np.ndarray) -> tuple[float, float] | None:
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return None
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    return float(np.min(finite)), float(np.max(finite))


def profile_ranges(
    folded, x: np.ndarray, input_name: str = "input"
) -> dict[tuple[str, str], tuple[float, float]]:
    """Float ranges ``(min, max)`` of every quantity the firmware types must hold.

    Keys are ``(layer name, quantity)`` with quantities ``result`` (input, node outputs,
    model outputs), ``linear``, ``pow_exponent`` and ``table <name>`` (the value that
    indexes a table, after ``abs`` for tables indexed by an absolute value). Only inputs,
    units and nodes that reach an output count.
    """
    x = np.asarray(x, dtype=np.float64)
    used = folded.used_inputs()
    observed: dict[tuple[str, str], tuple[float, float]] = {}
    seen = _range(x[:, used])
    if seen:
        observed[(input_name, "result")] = seen
    h = x * folded.input_mask
    for layer, node_live in zip(folded.layers, live_nodes(folded)):
        z = layer.linear.evaluate(h)
        units = _live_units(layer, node_live)
        _record(observed, (layer.name, "linear"), z[:, units])
        outputs = _float_nodes(layer, z, node_live, observed)
        _record(observed, (layer.name, "result"), outputs[:, node_live])
        h = outputs
    _record(observed, (folded.output_layer_name, "result"), folded.output.evaluate(h))
    return observed


def _record(observed, key, values):
    seen = _range(values)
    if seen is None:
        return
    if key in observed:
        seen = (min(seen[0], observed[key][0]), max(seen[1], observed[key][1]))
    observed[key] = seen


def _float_nodes(layer, z: np.ndarray, node_live: np.ndarray, observed) -> np.ndarray:
    from hls4ml_symbolnet import operators

    columns = []
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for k, name in enumerate(layer.unary):
            value = z[:, k]
            if node_live[k] and firmware_ops.unary_kind(name) == "table":
                _record(observed, (layer.name, f"table {name}"), value)
            columns.append(operators.UNARY_OPERATORS[name].numpy_fn(value))
        for j, name in enumerate(layer.binary):
            left = z[:, layer.n_unary + 2 * j]
            right = z[:, layer.n_unary + 2 * j + 1]
            live = node_live[layer.n_unary + j]
            kind = firmware_ops.binary_kind(name)
            if live and kind == "divide":
                _record(observed, (layer.name, f"table {name}"), np.abs(right))
            if live and kind == "power":
                exponent = right * np.log(operators.POW_EPS + np.abs(left))
                _record(observed, (layer.name, f"table {name}_log"), np.abs(left))
                _record(observed, (layer.name, "pow_exponent"), exponent)
                _record(observed, (layer.name, f"table {name}_exp"), np.minimum(exponent, operators.EXP_CLIP))
            columns.append(operators.BINARY_OPERATORS[name].numpy_fn(left, right))
    if not columns:
        return np.zeros((z.shape[0], 0))
    return np.stack(columns, axis=1)


# ap_fixed supports at most 1024 bits; values needing more integer bits cannot be represented.
_MAX_INTEGER_BITS = 512


def _integer_bits(max_abs: float, signed: bool = True) -> int:
    """Integer bits (sign included when signed) so that ``|v| <= max_abs`` fits; at least 1."""
    if not max_abs > 0:
        return 1
    if not math.isfinite(max_abs) or max_abs >= 2.0**_MAX_INTEGER_BITS:
        raise ValueError(
            f"A value of magnitude {max_abs:.4g} cannot be represented in fixed point (more than "
            f"{_MAX_INTEGER_BITS} integer bits). Check the calibration data and the model weights for "
            "outliers or a diverged training run."
        )
    bits = math.floor(math.log2(max_abs)) + 1 + (1 if signed else 0)
    return max(bits, 1)


def _fit(template: FixedType, max_abs: float) -> FixedType:
    integer = _integer_bits(max_abs, template.signed)
    width = max(template.width, integer + _MIN_FRAC_BITS)
    return template.with_integer(integer, width=width)


def constant_type_for(max_abs: float, width: int) -> FixedType:
    """Return a signed type of ``width`` bits (more if needed) that fits constants up to ``max_abs``."""
    return _fit(FixedType(width, 1), max_abs)


def accum_type_for(kernel, bias, weight: FixedType, bias_type: FixedType, input_type: FixedType) -> FixedType:
    """Accumulator type in which no partial sum of ``x @ kernel + bias`` rounds or overflows.

    It keeps every fractional bit of the products and the bias, and enough integer bits
    for the largest possible sum over any input of ``input_type``.
    """
    from hls4ml_symbolnet.converters.fixed_point import quantize_constant

    kernel_raw = quantize_constant(kernel, weight).astype(object)
    bias_raw = quantize_constant(bias, bias_type).astype(object)
    frac = max(weight.frac + input_type.frac, bias_type.frac)
    largest_input = max(abs(input_type.min_raw), abs(input_type.max_raw))
    bound = 0
    for unit in range(len(bias_raw)):
        total = abs(int(bias_raw[unit])) << (frac - bias_type.frac)
        total += (int(np.sum(np.abs(kernel_raw[:, unit]))) * largest_input) << (
            frac - weight.frac - input_type.frac
        )
        bound = max(bound, total)
    integer = max(bound.bit_length() + 1 - frac, 1)
    return FixedType(integer + frac, integer)


def table_extreme(spec, value_range) -> float:
    """Largest absolute value of a table's function over ``value_range``, sampled finely."""
    low, high = value_range
    samples = np.linspace(low, high, 4097)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        values = np.abs(np.asarray(spec.function(samples), dtype=np.float64))
    values = values[np.isfinite(values)]
    return float(np.max(values)) if values.size else 1.0


class _UserSettings:
    """Precision and lookup-table settings read from an hls4ml configuration dict."""

    def __init__(self, hls_config: Mapping | None, default_precision: str, backend: str):
        self.backend = backend
        hls_config = dict(hls_config or {})
        model = hls_config.get("Model") or {}
        if not isinstance(model, Mapping):
            raise ValueError(f"`hls_config['Model']` must be a dict. Received: {model!r}")
        precision = model.get("Precision")
        self.model_precision: dict = {}
        if isinstance(precision, Mapping):
            self.model_precision = dict(precision)
        elif precision is not None:
            self.model_precision = {"default": precision}
        self.model_tables = dict(model.get("LookupTables") or {})
        self.layers = dict(hls_config.get("LayerName") or {})
        default = self.model_precision.get("default", default_precision)
        self.default = parse_precision(default, "Model.Precision.default", backend)

    def layer_default(self, layer: str) -> FixedType:
        precision = (self.layers.get(layer) or {}).get("Precision")
        if isinstance(precision, str) and precision.lower() != "auto":
            return parse_precision(precision, f"LayerName.{layer}.Precision", backend=self.backend)
        return self.default

    def explicit(self, layer: str, type_name: str) -> FixedType | None:
        """Return the type the user set for ``layer``'s ``type_name``, or None when it is automatic."""
        precision = (self.layers.get(layer) or {}).get("Precision")
        if isinstance(precision, Mapping) and type_name in precision:
            value = precision[type_name]
            where = f"LayerName.{layer}.Precision.{type_name}"
        elif type_name in self.model_precision:
            value = self.model_precision[type_name]
            where = f"Model.Precision.{type_name}"
        else:
            return None
        if isinstance(value, str) and value.strip().lower() == "auto":
            return None
        return parse_precision(value, where, self.backend)

    def table(self, layer: str, name: str) -> dict:
        settings: dict = {}
        for source, where in (
            (self.model_tables.get(name), f"Model.LookupTables.{name}"),
            (
                ((self.layers.get(layer) or {}).get("LookupTables") or {}).get(name),
                f"LayerName.{layer}.LookupTables.{name}",
            ),
        ):
            if source is None:
                continue
            if not isinstance(source, Mapping):
                raise ValueError(
                    f"{where} must be a dict with keys {list(_TABLE_KEYS)}. Received: {source!r}"
                )
            unknown = [key for key in source if key not in _TABLE_KEYS]
            if unknown:
                raise ValueError(f"{where} has unknown keys {unknown}; allowed keys: {list(_TABLE_KEYS)}.")
            if "range" in source:
                value = source["range"]
                if not isinstance(value, (list, tuple)) or len(value) != 2:
                    raise ValueError(f"{where}.range must be [low, high]. Received: {value!r}")
                settings["range"] = (float(value[0]), float(value[1]))
            if "table_size" in source:
                settings["table_size"] = source["table_size"]
        return settings


def make_precision_plan(
    model,
    hls_config: Mapping | None = None,
    calibration_data=None,
    default_precision: str = DEFAULT_PRECISION,
    table_size: int = DEFAULT_TABLE_SIZE,
    backend: str = "Vivado",
    input_name: str | None = None,
) -> PrecisionPlan:
    """Choose every fixed-point type and lookup table of a SymbolNet firmware.

    Args:
        model: a SymbolNet Keras model or a :class:`~hls4ml_symbolnet.network.FoldedNetwork`.
        hls_config: hls4ml configuration dict whose ``Precision`` and ``LookupTables``
            entries override the automatic choices (see the module docstring).
        calibration_data: float inputs of shape (n, n_inputs) used to size the types
            and table ranges; None for the defaults.
        default_precision: width and modes for data types, ``"ap_fixed<18,10>"``.
        table_size: entries per lookup table unless set in ``hls_config``; a power of two.
        backend: hls4ml backend whose precision parser reads the strings.
        input_name: name of the model's input layer; read from a Keras model.

    Returns:
        The :class:`~.plan.PrecisionPlan`. Its :meth:`~.plan.PrecisionPlan.summary` is
        logged at INFO level.
    """
    folded, input_name, pruning_name = _fold(model, input_name)
    settings = _UserSettings(hls_config, default_precision, backend)
    observed: dict = {}
    if calibration_data is not None:
        calibration_data = _check_calibration(calibration_data, folded.n_inputs)
        observed = profile_ranges(folded, calibration_data, input_name)
    widen: dict[tuple[str, str], int] = {}
    plan = _build_plan(folded, settings, observed, widen, table_size, input_name, pruning_name)
    if calibration_data is not None:
        plan = _widen_until_no_overflow(folded, plan, settings, observed, widen, table_size, calibration_data)
        _warn_user_overflows(folded, plan, calibration_data)
    logger.info("SymbolNet precision plan:\n%s", plan.summary())
    return plan


def _fold(model, input_name):
    from hls4ml_symbolnet.network import FoldedNetwork, fold_network

    if isinstance(model, FoldedNetwork):
        return model, input_name or "input", model.input_layer_name

    folded = fold_network(model)
    if input_name is None:
        input_name = model.layers[0].name if model.layers else "input"
        for layer in model.layers:
            if type(layer).__name__ == "InputLayer":
                input_name = layer.name
                break
    return folded, input_name, folded.input_layer_name


def _check_calibration(values, n_inputs: int) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 2 or array.shape[1] != n_inputs or array.shape[0] == 0:
        raise ValueError(
            f"`calibration_data` must have shape (n_samples >= 1, {n_inputs}). Received: shape={array.shape}"
        )
    if not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"`calibration_data` must hold numbers. Received dtype {array.dtype}.")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError("`calibration_data` contains NaN or inf; remove those rows.")
    return array


def _data_type(settings, layer, type_name, observed, widen) -> FixedType:
    explicit = settings.explicit(layer, type_name)
    if explicit is not None:
        return explicit
    template = settings.layer_default(layer)
    seen = observed.get((layer, type_name))
    if not observed:
        return template
    max_abs = max(abs(seen[0]), abs(seen[1])) if seen else 0.0
    if seen and seen[0] < 0 and not template.signed:
        warnings.warn(
            f"{layer}: {type_name} values go down to {seen[0]:.4g} on the calibration data, but the "
            f"default precision {template} is unsigned; a signed type of the same width is used instead.",
            stacklevel=4,
        )
        template = FixedType(template.width, template.integer, True, template.rounding, template.overflow)
    fitted = _fit(template, max_abs)
    integer = fitted.integer + _HEADROOM_BITS
    fitted = fitted.with_integer(integer, width=max(fitted.width, integer + _MIN_FRAC_BITS))
    extra = widen.get((layer, type_name), 0)
    return fitted.with_integer(fitted.integer + extra, width=fitted.width + extra)


def _constant_type(settings, layer, type_name, max_abs) -> FixedType:
    explicit = settings.explicit(layer, type_name)
    if explicit is not None:
        return explicit
    return constant_type_for(max_abs, settings.layer_default(layer).width)


def _accum_type(settings, layer, linear, weight, bias, input_type) -> FixedType:
    explicit = settings.explicit(layer, "accum")
    if explicit is not None:
        return explicit
    return accum_type_for(linear.kernel, linear.bias, weight, bias, input_type)


def _build_plan(folded, settings, observed, widen, table_size, input_name, pruning_name) -> PrecisionPlan:
    input_type = _data_type(settings, input_name, "result", observed, widen)
    user_given = set()
    if settings.explicit(input_name, "result") is not None:
        user_given.add((input_name, "result"))
    layer_plans = []
    current_input = input_type
    for layer in folded.layers:
        layer_plan = _symbolic_plan(
            folded, layer, current_input, settings, observed, widen, table_size, user_given
        )
        layer_plans.append(layer_plan)
        current_input = layer_plan.types["result"]
    name = folded.output_layer_name
    types = _linear_types(settings, name, folded.output, current_input)
    types["result"] = _data_type(settings, name, "result", observed, widen)
    user_given |= {(name, t) for t in OUTPUT_TYPES if settings.explicit(name, t) is not None}
    output_plan = OutputLayerPlan(name=name, input=current_input, types=types)
    return PrecisionPlan(
        input_name=input_name,
        input=input_type,
        input_pruning_name=pruning_name,
        layers=tuple(layer_plans),
        output=output_plan,
        observed=dict(observed),
        user_given=frozenset(user_given),
    )


def _linear_types(settings, name, linear, input_type) -> dict[str, FixedType]:
    weights = linear.kernel[linear.kernel != 0]
    weight = _constant_type(settings, name, "weight", float(np.max(np.abs(weights))) if weights.size else 0.0)
    bias = _constant_type(
        settings, name, "bias", float(np.max(np.abs(linear.bias))) if linear.bias.size else 0.0
    )
    accum = _accum_type(settings, name, linear, weight, bias, input_type)
    return {"weight": weight, "bias": bias, "accum": accum}


def _symbolic_plan(
    folded, layer, input_type, settings, observed, widen, table_size, user_given
) -> SymbolicLayerPlan:
    name = layer.name
    types = _linear_types(settings, name, layer.linear, input_type)
    for type_name in _DATA_TYPES:
        types[type_name] = _data_type(settings, name, type_name, observed, widen)
    specs = firmware_ops.layer_table_specs(layer.unary, layer.binary)
    ranges = {}
    for table_name, spec in specs.items():
        ranges[table_name] = _table_range(settings, name, table_name, spec, observed)
    for entry_name in ("reciprocal", "pow_log"):
        values = [
            table_extreme(spec, ranges[table_name])
            for table_name, spec in specs.items()
            if spec.entry == entry_name
        ]
        types[entry_name] = _constant_type(settings, name, entry_name, max(values) if values else 1.0)
    tables = {}
    for table_name, spec in specs.items():
        table_settings = settings.table(name, table_name)
        if "range" in table_settings:
            user_given.add((name, f"table {table_name}"))
        size = table_settings.get("table_size", table_size)
        source_type = types["pow_exponent"] if spec.source == "pow_exponent" else types["linear"]
        tables[table_name] = build_table(
            table_name,
            spec.function,
            spec.function_name,
            source_type,
            ranges[table_name],
            size,
            types[spec.entry],
            abs_input=spec.abs_input,
        )
    user_given |= {(name, t) for t in SYMBOLIC_TYPES if settings.explicit(name, t) is not None}
    return SymbolicLayerPlan(name=name, input=input_type, types=types, tables=tables)


def _table_range(settings, layer, table_name, spec, observed) -> tuple[float, float]:
    table_settings = settings.table(layer, table_name)
    if "range" in table_settings:
        return table_settings["range"]
    seen = observed.get((layer, f"table {table_name}"))
    if seen is not None:
        return seen
    return DEFAULT_ABS_TABLE_RANGE if spec.abs_input else DEFAULT_TABLE_RANGE


def _widen_until_no_overflow(folded, plan, settings, observed, widen, table_size, x):
    from hls4ml_symbolnet.converters.reference import FixedPointModel

    for _ in range(_MAX_WIDENING_ROUNDS):
        report = FixedPointModel(folded, plan).overflow_report(x)["overflows"]
        automatic = [
            site for site in report if site not in plan.user_given and site[1] in (*_DATA_TYPES, "result")
        ]
        if not automatic:
            return plan
        for site in automatic:
            widen[site] = widen.get(site, 0) + 1
        logger.debug("Widening types that overflow on the calibration data: %s", automatic)
        plan = _build_plan(
            folded, settings, observed, widen, table_size, plan.input_name, plan.input_pruning_name
        )
    remaining = FixedPointModel(folded, plan).overflow_report(x)["overflows"]
    if remaining:
        sites = ", ".join(f"{layer} {quantity}" for layer, quantity in sorted(remaining))
        warnings.warn(
            f"Values still overflow on the calibration data after {_MAX_WIDENING_ROUNDS} widening rounds "
            f"at: {sites}. Set wider types for them in `hls_config` or check the data for outliers.",
            stacklevel=4,
        )
    return plan


def _warn_user_overflows(folded, plan, x):
    from hls4ml_symbolnet.converters.reference import FixedPointModel

    report = FixedPointModel(folded, plan).overflow_report(x)
    n_values = x.shape[0]
    for (layer, quantity), count in sorted(report["overflows"].items()):
        if (layer, quantity) not in plan.user_given:
            continue
        type_text = plan.input if layer == plan.input_name else plan.layer(layer).types[quantity]
        seen = plan.observed.get((layer, quantity))
        seen_text = f" (float range on the data: [{seen[0]:.4g}, {seen[1]:.4g}])" if seen else ""
        warnings.warn(
            f"Layer {layer!r}: the user-given {quantity} type {type_text} overflows {count} time(s) on the "
            f"{n_values} calibration samples{seen_text}; it holds [{type_text.min_value:.4g}, "
            f"{type_text.max_value:.4g}]. Give it more integer bits or set it to 'auto'.",
            stacklevel=3,
        )
    for (layer, quantity), count in sorted(report["clamped"].items()):
        if (layer, quantity) not in plan.user_given:
            continue
        warnings.warn(
            f"Layer {layer!r}: {count} input(s) of lookup table {quantity.removeprefix('table ')!r} fall "
            f"outside its user-given range on the {n_values} calibration samples and use the end entries.",
            stacklevel=3,
        )
