"""Read the SymbolNet layers of an hls4ml model: their types, tables and folded state."""

from __future__ import annotations

import dataclasses

from hls4ml_symbolnet.converters.fixed_point import FixedType, LookupTable
from hls4ml_symbolnet.converters.plan import (
    OUTPUT_TYPES,
    SYMBOLIC_TYPES,
    OutputLayerPlan,
    PrecisionPlan,
    SymbolicLayerPlan,
)

__all__ = [
    "SymbolNetChain",
    "node_type",
    "output_layer_plan",
    "plan_from_hls_model",
    "symbolic_layer_plan",
    "symbolnet_chain",
]


def node_type(node, type_name: str) -> FixedType:
    """Return the :class:`FixedType` of an IR node's ``<type_name>_t``; ``result`` means its output type."""
    if type_name == "result":
        return FixedType.from_precision(node.get_output_variable().type.precision)
    return FixedType.from_precision(node.get_attr(type_name + "_t").precision)


def input_type(node) -> FixedType:
    return FixedType.from_precision(node.get_input_variable().type.precision)


def symbolic_layer_plan(node) -> SymbolicLayerPlan:
    """Read the precision plan of one ``SymbolNetSymbolic`` node."""
    tables: dict[str, LookupTable] = dict(node.get_attr("symbolnet_tables") or {})
    return SymbolicLayerPlan(
        name=node.name,
        input=input_type(node),
        types={name: node_type(node, name) for name in SYMBOLIC_TYPES},
        tables=tables,
    )


def output_layer_plan(node) -> OutputLayerPlan:
    """Read the precision plan of the ``SymbolNetDense`` output node."""
    return OutputLayerPlan(
        name=node.name, input=input_type(node), types={name: node_type(node, name) for name in OUTPUT_TYPES}
    )


@dataclasses.dataclass(frozen=True)
class SymbolNetChain:
    """The SymbolNet nodes of an hls4ml model, in order."""

    input: object
    input_pruning: object | None
    symbolic: tuple
    output: object


def symbolnet_chain(hls_model) -> SymbolNetChain:
    """Find the input, input-pruning, symbolic and output nodes of a network-form model.

    Raises:
        ValueError: if the model does not hold exactly one chain of SymbolNet layers.
    """
    from hls4ml_symbolnet.converters.ir_layers import SymbolNetDense, SymbolNetInputPruning, SymbolNetSymbolic

    layers = list(hls_model.get_layers())
    outputs = [layer for layer in layers if isinstance(layer, SymbolNetDense)]
    if len(outputs) != 1:
        raise ValueError(
            f"Expected one SymbolNet output layer in the hls4ml model, found {len(outputs)}. "
            "Was it converted with convert_from_symbolnet(form='network')?"
        )
    symbolic = []
    node = outputs[0].get_input_node()
    while isinstance(node, SymbolNetSymbolic):
        symbolic.insert(0, node)
        node = node.get_input_node()
    pruning = None
    if isinstance(node, SymbolNetInputPruning):
        pruning = node
        node = node.get_input_node()
    return SymbolNetChain(input=node, input_pruning=pruning, symbolic=tuple(symbolic), output=outputs[0])


def plan_from_hls_model(hls_model) -> PrecisionPlan:
    """Return the :class:`~.plan.PrecisionPlan` that an hls4ml SymbolNet model implements.

    For the network form the plan is read from the layers' resolved types and tables, so
    it describes the generated firmware whatever configuration produced it. For the
    expression form it is the plan the expressions were generated from.
    """
    for layer in hls_model.get_layers():
        plan = layer.get_attr("symbolnet_plan")
        if plan is not None:
            return plan
    chain = symbolnet_chain(hls_model)
    pruning_name = chain.input_pruning.name if chain.input_pruning is not None else None
    input_precision = FixedType.from_precision(chain.input.get_output_variable().type.precision)
    return PrecisionPlan(
        input_name=chain.input.name,
        input=input_precision,
        input_pruning_name=pruning_name,
        layers=tuple(symbolic_layer_plan(node) for node in chain.symbolic),
        output=output_layer_plan(chain.output),
    )
