"""Expression form: the unrolled expressions through hls4ml's ``SymbolicExpression`` layer.

Each output becomes one sympy expression in the inputs ``x0 ... x{n-1}``. Weights and
biases are the plan's quantized constants; every operator node is a call of a node
function ``sn<layer>_<operator>(...)``, e.g. ``sn0_sin(0.5*x3 - 0.25*x7 + 0.125)``.
Pruned inputs and weights do not appear, pruned unary nodes call ``sn<l>_identity``
and pruned binary nodes ``sn<l>_add``; nodes that reach no output are left out.

In C++, sums and products of the expression are exact (``ap_fixed`` widens them) and
constants have the type ``expr`` (wide enough for every weight and bias). Each node
function converts its arguments to the layer's ``linear`` type and returns the layer's
``result`` type, computing the node exactly as the network form does (lookup tables
from ``nnet_symbolnet.h``, no vendor math headers). So both forms give the same bits
whenever the network form's accumulators are exact, as the automatic types make them.
With narrower user-given accumulators the forms can differ by the accumulator's rounding.
"""

from __future__ import annotations

import math
import re

import numpy as np
import sympy
from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
from hls4ml.model.layers import SymbolicExpression
from hls4ml_symbolnet.converters import firmware_ops
from hls4ml_symbolnet.converters.fixed_point import FixedType, quantize_constant
from hls4ml_symbolnet.converters.plan import PrecisionPlan

__all__ = [
    "EXPRESSION_TEMPLATES",
    "expression_model",
    "EXPRESSION_LAYER_NAME",
    "INPUT_LAYER_NAME",
    "constant_type",
    "firmware_expressions",
    "node_function_name",
]

INPUT_LAYER_NAME = "x"
EXPRESSION_LAYER_NAME = "symbolnet_expression"
_INCLUDES = ["nnet_utils/nnet_symbolnet.h"]


def node_function_name(layer_index: int, operator: str) -> str:
    """C++ and sympy name of the node function of ``operator`` in symbolic layer ``layer_index``."""
    return f"sn{layer_index}_" + re.sub(r"\W", "_", operator)


def constant_type(plan: PrecisionPlan) -> FixedType:
    """Return the smallest signed type that represents every weight and bias of the plan exactly."""
    types = [layer.types[name] for layer in plan.layers for name in ("weight", "bias")]
    types += [plan.output.types["weight"], plan.output.types["bias"]]
    integer = max(t.integer for t in types)
    frac = max(t.frac for t in types)
    return FixedType(integer + frac, integer)


def _float(raw: int, frac: int) -> sympy.Float:
    return sympy.Float(math.ldexp(int(raw), -frac))


def _linear_expressions(kernel_raw, bias_raw, weight: FixedType, bias: FixedType, inputs, units):
    expressions = {}
    for unit in units:
        terms = [
            sympy.Mul(_float(kernel_raw[i, unit], weight.frac), inputs[i], evaluate=False)
            for i in np.flatnonzero(kernel_raw[:, unit])
            if inputs[i] != 0
        ]
        if bias_raw[unit] != 0:
            terms.append(_float(bias_raw[unit], bias.frac))
        if not terms:
            expressions[unit] = sympy.Float(0.0)
        elif len(terms) == 1:
            expressions[unit] = terms[0]
        else:
            expressions[unit] = sympy.Add(*terms, evaluate=False)
    return expressions


def firmware_expressions(
    folded, plan: PrecisionPlan
) -> tuple[list[sympy.Expr], dict[str, tuple[int, str, int]]]:
    """Unroll the folded network into one expression per output with node-function calls.

    Returns:
        ``(expressions, functions)``: the sympy expressions and, for each node function
        they call, ``(layer index, operator name, arity)``.
    """
    from hls4ml_symbolnet.converters.precision import live_nodes

    inputs: list[sympy.Expr] = [
        sympy.Symbol(f"x{i}", real=True) if folded.input_mask[i] else sympy.Integer(0)
        for i in range(folded.n_inputs)
    ]
    functions: dict[str, tuple[int, str, int]] = {}
    current = inputs
    for index, (layer, layer_plan, live) in enumerate(zip(folded.layers, plan.layers, live_nodes(folded))):
        types = layer_plan.types
        kernel_raw = quantize_constant(layer.linear.kernel, types["weight"])
        bias_raw = quantize_constant(layer.linear.bias, types["bias"])
        n_unary = layer.n_unary
        units = [k for k in range(n_unary) if live[k]]
        for j in range(layer.n_binary):
            if live[n_unary + j]:
                units += [n_unary + 2 * j, n_unary + 2 * j + 1]
        linear = _linear_expressions(kernel_raw, bias_raw, types["weight"], types["bias"], current, units)
        outputs: list[sympy.Expr] = []
        for k, name in enumerate(layer.unary):
            if not live[k]:
                outputs.append(sympy.Integer(0))
                continue
            function_name = node_function_name(index, name)
            functions[function_name] = (index, name, 1)
            outputs.append(sympy.Function(function_name)(linear[k]))
        for j, name in enumerate(layer.binary):
            if not live[n_unary + j]:
                outputs.append(sympy.Integer(0))
                continue
            function_name = node_function_name(index, name)
            functions[function_name] = (index, name, 2)
            outputs.append(
                sympy.Function(function_name)(linear[n_unary + 2 * j], linear[n_unary + 2 * j + 1])
            )
        current = outputs
    output_types = plan.output.types
    kernel_raw = quantize_constant(folded.output.kernel, output_types["weight"])
    bias_raw = quantize_constant(folded.output.bias, output_types["bias"])
    linear = _linear_expressions(
        kernel_raw, bias_raw, output_types["weight"], output_types["bias"], current, range(folded.n_outputs)
    )
    return [linear[unit] for unit in range(folded.n_outputs)], functions


def _layer_type_name(index: int, type_name: str) -> str:
    return f"sn{index}_{type_name}_t"


def _function_definition(
    function_name: str, index: int, operator: str, arity: int, plan: PrecisionPlan
) -> str:
    from hls4ml_symbolnet.converters.templates import _lookup, _table_lines

    layer_plan = plan.layers[index]
    linear_t = _layer_type_name(index, "linear")
    result_t = _layer_type_name(index, "result")
    lines = []
    if arity == 1:
        header = f"template <class T> {result_t} {function_name}(T value) {{"
        lines.append(f"{linear_t} z = value;")
        kind = firmware_ops.unary_kind(operator)
        if kind == "wire":
            lines.append("return z;")
        elif kind == "multiply":
            lines.append("return " + " * ".join(["z"] * firmware_ops.unary_power(operator)) + ";")
        else:
            table = layer_plan.tables[operator]
            lines += _table_lines(table)
            lines.append(f"return {_lookup(table, result_t, 'z')};")
    else:
        header = f"template <class T1, class T2> {result_t} {function_name}(T1 left, T2 right) {{"
        lines += [f"{linear_t} z1 = left;", f"{linear_t} z2 = right;"]
        kind = firmware_ops.binary_kind(operator)
        if kind == "add":
            lines.append("return z1 + z2;")
        elif kind == "multiply":
            lines.append("return z1 * z2;")
        elif kind == "divide":
            table = layer_plan.tables[operator]
            lines += _table_lines(table)
            lines.append(f"return z1 * {_lookup(table, _layer_type_name(index, 'reciprocal'), 'z2')};")
        else:
            log_table = layer_plan.tables[f"{operator}_log"]
            exp_table = layer_plan.tables[f"{operator}_exp"]
            lines += _table_lines(log_table) + _table_lines(exp_table)
            exponent_t = _layer_type_name(index, "pow_exponent")
            lines.append(
                f"{exponent_t} t = z2 * {_lookup(log_table, _layer_type_name(index, 'pow_log'), 'z1')};"
            )
            lines.append(f"return {_lookup(exp_table, result_t, 't')};")
    body = "\n".join("    " + line for line in lines)
    return f"// {plan.layers[index].name}: {operator}\n{header}\n    #pragma HLS INLINE\n{body}\n}}\n"


def node_function_code(functions: dict[str, tuple[int, str, int]], plan: PrecisionPlan) -> str:
    """C++ typedefs of the layer types and definitions of the node functions."""
    lines = []
    for index, layer_plan in enumerate(plan.layers):
        for type_name in ("linear", "result", "reciprocal", "pow_log", "pow_exponent"):
            lines.append(f"typedef {layer_plan.types[type_name].cpp()} {_layer_type_name(index, type_name)};")
    code = "\n".join(lines) + "\n\n"
    code += "\n".join(_function_definition(name, *spec, plan) for name, spec in functions.items())
    return code


def _is_symbolnet(node) -> bool:
    return node.class_name == "SymbolicExpression" and node.get_attr("symbolnet_functions") is not None


def _printer(node):
    from hls4ml.backends.symbolic.passes.expr_templates import get_printer

    base = get_printer()
    constant_name = node.get_attr("expr_t").name

    class SymbolNetPrinter(base):
        """hls4ml's HLS printer with exact constants of the ``expr`` type."""

        def _print_Float(self, flt):
            return f"{constant_name}({float(flt)!r})"

        def _print_Integer(self, expr):
            return f"{constant_name}({int(expr)})"

    functions = {name: name for name in node.get_attr("symbolnet_functions")}
    return SymbolNetPrinter(node, lut_functions=functions)


class ExpressionConfigTemplate(LayerConfigTemplate):
    """Node-function definitions of a SymbolNet expression (parameters.h)."""

    def __init__(self):
        super().__init__(SymbolicExpression)

    def match(self, node):
        return super().match(node) and _is_symbolnet(node)

    def format(self, node):
        return node_function_code(node.get_attr("symbolnet_functions"), node.get_attr("symbolnet_plan"))


class ExpressionFunctionTemplate(FunctionCallTemplate):
    """One assignment ``y[i] = <expression>`` per output."""

    def __init__(self):
        super().__init__(SymbolicExpression, include_header=_INCLUDES)

    def match(self, node):
        return super().match(node) and _is_symbolnet(node)

    def format(self, node):
        printer = _printer(node)
        return [
            f"y[{i}] = {printer.doprint(expr)};"
            for i, expr in enumerate(node.get_attr("symbolnet_expressions"))
        ]


EXPRESSION_TEMPLATES = (ExpressionConfigTemplate, ExpressionFunctionTemplate)


def expression_model(
    folded, plan, config, output_dir, project_name, backend, part, clock_period, io_type, **kwargs
):
    """Build the expression-form ``ModelGraph``: an input layer ``x`` and one ``SymbolicExpression`` layer.

    ``config`` is the network-form configuration; its ``Model`` settings (reuse factor,
    flows) carry over, and the two layers get the plan's input, output and constant types.
    """
    from hls4ml.model import ModelGraph
    from hls4ml.utils.config import create_config

    expressions, functions = firmware_expressions(folded, plan)
    hls_config = {key: value for key, value in config.items() if key != "LayerName"}
    hls_config["LayerName"] = {
        INPUT_LAYER_NAME: {"Precision": {"result": plan.input.cpp()}},
        EXPRESSION_LAYER_NAME: {
            "Precision": {"result": plan.output.types["result"].cpp(), "expr": constant_type(plan).cpp()}
        },
    }
    model_config = create_config(
        output_dir=output_dir,
        project_name=project_name,
        backend=backend,
        part=part,
        clock_period=clock_period,
        io_type=io_type,
        **kwargs,
    )
    model_config["HLSConfig"] = hls_config
    layers = [
        {"name": INPUT_LAYER_NAME, "class_name": "InputLayer", "input_shape": [folded.n_inputs]},
        {
            "name": EXPRESSION_LAYER_NAME,
            "class_name": "SymbolicExpression",
            "expression": [str(expression) for expression in expressions],
            "n_symbols": folded.n_inputs,
            "lut_functions": [],
            "symbolnet_expressions": expressions,
            "symbolnet_functions": functions,
            "symbolnet_plan": plan,
        },
    ]
    return ModelGraph.from_layer_list(model_config, layers)
