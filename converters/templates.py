"""Config and function templates that generate the network form's C++.

Each SymbolNet layer gets a config struct in ``parameters.h``. Its static ``compute``
function is the layer unrolled: one accumulator per live linear unit with the nonzero
weights as constants, one statement per live operator node, and the lookup tables those
nodes read as constant arrays. The function call is
``nnet::symbolnet_layer<input_t, output_t, config>``, from ``nnet_symbolnet.h``.
The arithmetic is the one :class:`~.reference.FixedPointModel` documents.

Templates are registered with the Vivado backend; the Vitis ``ip`` flow runs the
Vivado templates too (``vitis:ip`` requires ``vivado:apply_templates`` in hls4ml 1.3.0).
"""

from __future__ import annotations

import math
import re

import numpy as np
from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
from hls4ml_symbolnet.converters import firmware_ops
from hls4ml_symbolnet.converters.fixed_point import LookupTable
from hls4ml_symbolnet.converters.ir_layers import SymbolNetDense, SymbolNetInputPruning, SymbolNetSymbolic
from hls4ml_symbolnet.converters.node_view import node_type
from hls4ml_symbolnet.converters.passes import is_folded

__all__ = [
    "TEMPLATES",
    "cpp_literal",
    "dense_layer_code",
    "symbolic_layer_code",
    "used_tables",
]

symbolnet_include_list = ["nnet_utils/nnet_symbolnet.h"]
symbolnet_function_template = "nnet::symbolnet_layer<{input_t}, {output_t}, {config}>({input}, {output});"

symbolnet_config_template = """struct config{index} : nnet::symbolnet_layer_config {{
    static const unsigned n_in = {n_in};
    static const unsigned n_out = {n_out};
{typedefs}
    template <class data_T, class res_T> static void compute(const data_T x[n_in], res_T y[n_out]) {{
        #pragma HLS INLINE
{body}
    }}
}};
"""

_INDENT = " " * 8
# Raw integers below this bound convert to a double literal exactly (53-bit significand).
_DOUBLE_EXACT = 1 << 53
_ENTRIES_PER_LINE = 16


def cpp_literal(raw: int, frac: int) -> str:
    """Exact C++ double literal of the fixed-point value ``raw * 2**-frac``."""
    raw = int(raw)
    if abs(raw) >= _DOUBLE_EXACT:
        raise ValueError(
            f"Invalid constant {raw} * 2^-{frac}: it has more than 53 significant bits, so a double literal "
            "cannot represent it exactly. Use a narrower weight, bias or accumulator type."
        )
    return repr(math.ldexp(raw, -frac))


def _identifier(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _check_io_type(node):
    io_type = node.model.config.get_config_value("IOType")
    if io_type != "io_parallel":
        raise NotImplementedError(
            f"Layer {node.name!r}: SymbolNet layers support io_type='io_parallel' only. "
            f"Received: io_type={io_type!r}"
        )


def _require_folded(node):
    if not is_folded(node):
        raise RuntimeError(
            f"Layer {node.name!r} reached code generation with its pruning unfolded: the SymbolNet passes "
            "(vivado:apply_weight_pruning, vivado:replace_pruned_unary, vivado:replace_pruned_binary) "
            "did not run. "
            "Remove them from the configuration's SkipOptimizers or add them to Optimizers."
        )


def _typedefs(node, names) -> str:
    return "\n".join(f"    typedef {node.get_attr(name + '_t').name} {name}_t;" for name in names)


def _accum_start_literal(node, unit: int) -> str:
    start = node.get_attr("accum_start_raw")
    if start is not None:
        value = int(start[unit])
        return f"accum_t({cpp_literal(value, node_type(node, 'accum').frac)})" if value else "0"
    bias = int(node.get_attr("bias_raw")[unit])
    return f"bias_t({cpp_literal(bias, node_type(node, 'bias').frac)})" if bias else "0"


def _linear_lines(node, units) -> list[str]:
    """Accumulate each listed unit: start value, then one multiply-add per nonzero weight."""
    kernel_raw = node.get_attr("kernel_raw")
    weight_frac = node_type(node, "weight").frac
    lines = []
    for unit in units:
        lines.append(f"accum_t acc_{unit} = {_accum_start_literal(node, unit)};")
        for i in np.flatnonzero(kernel_raw[:, unit]):
            literal = cpp_literal(int(kernel_raw[i, unit]), weight_frac)
            lines.append(f"acc_{unit} += x[{i}] * weight_t({literal});")
    return lines


def _table_lines(table: LookupTable) -> list[str]:
    c_type = "int" if table.entry_type.width <= 31 else "long long"
    suffix = "" if c_type == "int" else "LL"
    entries = [f"{int(v)}{suffix}" for v in table.entries]
    rows = [", ".join(entries[i : i + _ENTRIES_PER_LINE]) for i in range(0, len(entries), _ENTRIES_PER_LINE)]
    lines = [
        f"// {table.describe()}",
        f"static const {c_type} table_{_identifier(table.name)}[{table.size}] = {{",
    ]
    lines += [f"    {row}," for row in rows]
    lines.append("};")
    return lines


def _lookup(table: LookupTable, out_type: str, argument: str) -> str:
    return (
        f"nnet::symbolnet_lookup<{out_type}, {table.size}, {table.shift}, {str(table.abs_input).lower()}>"
        f"({argument}, table_{_identifier(table.name)}, {table.start_raw}LL)"
    )


def _live(node) -> np.ndarray:
    n_nodes = node.get_output_variable().shape[0]
    return ~node.get_attr("dead_nodes", np.zeros(n_nodes, dtype=bool))


def used_tables(node) -> dict[str, LookupTable]:
    """Tables that the live nodes of a folded symbolic layer read."""
    tables = node.get_attr("symbolnet_tables") or {}
    live = _live(node)
    n_unary = node.get_attr("n_unary")
    used = {}
    for k, name in enumerate(node.get_attr("unary_operators")):
        if live[k] and firmware_ops.unary_kind(name) == "table":
            used[name] = tables[name]
    for j, name in enumerate(node.get_attr("binary_operators")):
        if not live[n_unary + j]:
            continue
        kind = firmware_ops.binary_kind(name)
        if kind == "divide":
            used[name] = tables[name]
        elif kind == "power":
            used[f"{name}_log"] = tables[f"{name}_log"]
            used[f"{name}_exp"] = tables[f"{name}_exp"]
    return used


def _unary_line(k: int, name: str, tables) -> str:
    kind = firmware_ops.unary_kind(name)
    if kind == "wire":
        return f"y[{k}] = z_{k};"
    if kind == "multiply":
        product = " * ".join([f"z_{k}"] * firmware_ops.unary_power(name))
        return f"y[{k}] = {product};"
    return f"y[{k}] = {_lookup(tables[name], 'res_T', f'z_{k}')};"


def _binary_lines(k: int, j: int, left: int, right: int, name: str, tables) -> list[str]:
    kind = firmware_ops.binary_kind(name)
    if kind == "add":
        return [f"y[{k}] = z_{left} + z_{right};"]
    if kind == "multiply":
        return [f"y[{k}] = z_{left} * z_{right};"]
    if kind == "divide":
        return [f"y[{k}] = z_{left} * {_lookup(tables[name], 'reciprocal_t', f'z_{right}')};"]
    logarithm = _lookup(tables[f"{name}_log"], "pow_log_t", f"z_{left}")
    return [
        f"pow_exponent_t t_{j} = z_{right} * {logarithm};",
        f"y[{k}] = {_lookup(tables[f'{name}_exp'], 'res_T', f't_{j}')};",
    ]


def symbolic_layer_code(node) -> str:
    """Body of ``compute`` for a folded ``SymbolNetSymbolic`` node."""
    live = _live(node)
    n_unary = node.get_attr("n_unary")
    unary = node.get_attr("unary_operators")
    binary = node.get_attr("binary_operators")
    live_units = [k for k in range(n_unary) if live[k]]
    for j in range(len(binary)):
        if live[n_unary + j]:
            live_units += [n_unary + 2 * j, n_unary + 2 * j + 1]
    tables = used_tables(node)
    lines = []
    for table in tables.values():
        lines += _table_lines(table)
    lines += _linear_lines(node, live_units)
    lines += [f"linear_t z_{unit} = acc_{unit};" for unit in live_units]
    for k, name in enumerate(unary):
        lines.append(_unary_line(k, name, tables) if live[k] else f"y[{k}] = 0; // pruned node")
    for j, name in enumerate(binary):
        k = n_unary + j
        if live[k]:
            lines += _binary_lines(k, j, n_unary + 2 * j, n_unary + 2 * j + 1, name, tables)
        else:
            lines.append(f"y[{k}] = 0; // pruned node")
    return "\n".join(_INDENT + line for line in lines)


def dense_layer_code(node) -> str:
    """Body of ``compute`` for a folded ``SymbolNetDense`` node."""
    units = list(range(node.get_attr("n_out")))
    lines = _linear_lines(node, units)
    lines += [f"y[{unit}] = acc_{unit};" for unit in units]
    return "\n".join(_INDENT + line for line in lines)


class SymbolicConfigTemplate(LayerConfigTemplate):
    def __init__(self):
        super().__init__(SymbolNetSymbolic)

    def format(self, node):
        _check_io_type(node)
        _require_folded(node)
        return symbolnet_config_template.format(
            index=node.index,
            n_in=node.get_attr("n_in"),
            n_out=node.get_output_variable().shape[0],
            typedefs=_typedefs(
                node, ("weight", "bias", "accum", "linear", "reciprocal", "pow_log", "pow_exponent")
            ),
            body=symbolic_layer_code(node),
        )


class DenseConfigTemplate(LayerConfigTemplate):
    def __init__(self):
        super().__init__(SymbolNetDense)

    def format(self, node):
        _check_io_type(node)
        _require_folded(node)
        return symbolnet_config_template.format(
            index=node.index,
            n_in=node.get_attr("n_in"),
            n_out=node.get_attr("n_out"),
            typedefs=_typedefs(node, ("weight", "bias", "accum")),
            body=dense_layer_code(node),
        )


class InputPruningConfigTemplate(LayerConfigTemplate):
    """Used only when ``fold_input_pruning`` is skipped: copies kept inputs and zeroes the others."""

    def __init__(self):
        super().__init__(SymbolNetInputPruning)

    def format(self, node):
        _check_io_type(node)
        from hls4ml_symbolnet.converters.ir_layers import input_mask_from_threshold

        mask = input_mask_from_threshold(node.get_attr("threshold"))
        lines = [f"y[{i}] = x[{i}];" if keep else f"y[{i}] = 0;" for i, keep in enumerate(mask)]
        return symbolnet_config_template.format(
            index=node.index,
            n_in=node.get_attr("n_in"),
            n_out=node.get_attr("n_in"),
            typedefs="",
            body="\n".join(_INDENT + line for line in lines),
        )


def _function_template(layer_class):
    class SymbolNetFunctionTemplate(FunctionCallTemplate):
        def __init__(self):
            super().__init__(layer_class, include_header=symbolnet_include_list)
            self.template = symbolnet_function_template

        def format(self, node):
            params = self._default_function_params(node)
            return self.template.format(**params)

    SymbolNetFunctionTemplate.__name__ = f"{layer_class.__name__}FunctionTemplate"
    return SymbolNetFunctionTemplate


SymbolicFunctionTemplate = _function_template(SymbolNetSymbolic)
DenseFunctionTemplate = _function_template(SymbolNetDense)
InputPruningFunctionTemplate = _function_template(SymbolNetInputPruning)

TEMPLATES = (
    SymbolicConfigTemplate,
    SymbolicFunctionTemplate,
    DenseConfigTemplate,
    DenseFunctionTemplate,
    InputPruningConfigTemplate,
    InputPruningFunctionTemplate,
)
