"""hls4ml optimizer passes that fold a SymbolNet model's pruning into its layers.

They run in the ``vivado:optimize`` flow, which the Vivado and Vitis ``ip`` flows
both require. Each pass marks the layers it has folded, so it applies once. Order:

1. ``fold_input_pruning``: drop the input-pruning layer; pruned inputs get zero weights.
2. ``apply_weight_pruning``: zero weights and biases at or below their thresholds and
   round the rest to the layer's weight and bias types. A weight that rounds to zero
   is removed too.
3. ``replace_pruned_unary`` and ``replace_pruned_binary``: a pruned unary node becomes
   ``identity`` (no lookup table), a pruned binary node ``add``.
4. ``fold_constant_nodes``: a node whose linear units have no weights left is a
   constant; its contribution moves into the next layer's accumulator start value
   when that accumulator is exact, and the node is dropped.
5. ``remove_dead_nodes``: a node with no nonzero weight to a live unit of the next
   layer is dropped with its linear units.

Dropped nodes emit no code; their outputs are written as 0.
"""

from __future__ import annotations

import numpy as np
from hls4ml.model.optimizer import OptimizerPass
from hls4ml_symbolnet.converters.fixed_point import quantize_constant, requantize
from hls4ml_symbolnet.converters.ir_layers import (
    SymbolNetDense,
    SymbolNetInputPruning,
    SymbolNetSymbolic,
    input_mask_from_threshold,
    node_gates,
)
from hls4ml_symbolnet.converters.node_view import input_type, node_type, symbolic_layer_plan

__all__ = [
    "PASSES",
    "ApplyWeightPruning",
    "FoldConstantNodes",
    "FoldInputPruning",
    "RemoveDeadNodes",
    "ReplacePrunedBinary",
    "ReplacePrunedUnary",
    "chain_of",
    "is_folded",
]

# Node attributes that mark completed passes.
WEIGHTS_FOLDED = "symbolnet_weights_folded"
UNARY_FOLDED = "symbolnet_unary_folded"
BINARY_FOLDED = "symbolnet_binary_folded"
CONSTANTS_FOLDED = "symbolnet_constants_folded"
DEAD_REMOVED = "symbolnet_dead_removed"

# Accumulator start values must stay below 2**53 so that a double literal in the generated code is exact.
_DOUBLE_EXACT_BITS = 53


def is_folded(node) -> bool:
    """True when the pruning passes that the generated code relies on have run on ``node``."""
    if isinstance(node, SymbolNetSymbolic):
        return bool(
            node.get_attr(WEIGHTS_FOLDED) and node.get_attr(UNARY_FOLDED) and node.get_attr(BINARY_FOLDED)
        )
    return bool(node.get_attr(WEIGHTS_FOLDED))


def chain_of(output_node) -> list:
    """Symbolic nodes feeding ``output_node``, first to last."""
    chain = []
    node = output_node.get_input_node()
    while isinstance(node, SymbolNetSymbolic):
        chain.insert(0, node)
        node = node.get_input_node()
    return chain


class FoldInputPruning(OptimizerPass):
    """Remove a ``SymbolNetInputPruning`` layer; the next layer's ``input_mask`` drops pruned inputs."""

    def match(self, node):
        return isinstance(node, SymbolNetInputPruning)

    def transform(self, model, node):
        mask = input_mask_from_threshold(node.get_attr("threshold"))
        for successor in node.get_output_nodes():
            if not isinstance(successor, (SymbolNetSymbolic, SymbolNetDense)):
                raise NotImplementedError(
                    f"Layer {node.name!r} feeds {successor.name!r} ({successor.class_name}), but SymbolNet "
                    "input pruning "
                    "can only feed a SymbolicLayer or PrunedDense layer."
                )
            if successor.get_attr(WEIGHTS_FOLDED):
                raise RuntimeError(
                    f"Layer {successor.name!r} was folded before its input pruning; pass order is broken."
                )
            current = successor.get_attr("input_mask", np.ones(mask.shape[0], dtype=bool))
            successor.set_attr("input_mask", current & mask)
        model.remove_node(node)
        return True


class ApplyWeightPruning(OptimizerPass):
    """Zero pruned weights and biases and round the rest to the weight and bias types.

    Sets ``kernel_raw`` and ``bias_raw`` (raw integers). NOTE: runs after
    ``fold_input_pruning``, so it waits while an input-pruning layer still feeds the node.
    """

    def match(self, node):
        if not isinstance(node, (SymbolNetSymbolic, SymbolNetDense)) or node.get_attr(WEIGHTS_FOLDED):
            return False
        return not isinstance(node.get_input_node(), SymbolNetInputPruning)

    def transform(self, model, node):
        kernel, bias = node._masked_values()
        node.set_attr("kernel_raw", quantize_constant(kernel, node_type(node, "weight")))
        node.set_attr("bias_raw", quantize_constant(bias, node_type(node, "bias")))
        node.set_attr(WEIGHTS_FOLDED, True)
        return False


class ReplacePrunedUnary(OptimizerPass):
    """Replace the operator of each pruned unary node (``1 - t <= 0``) by ``identity``."""

    def match(self, node):
        return isinstance(node, SymbolNetSymbolic) and not node.get_attr(UNARY_FOLDED)

    def transform(self, model, node):
        gates = node_gates(node.get_attr("unary_threshold"))
        operators = [
            name if keep else "identity" for name, keep in zip(node.get_attr("unary_operators"), gates)
        ]
        node.set_attr("unary_operators", operators)
        node.set_attr(UNARY_FOLDED, True)
        return False


class ReplacePrunedBinary(OptimizerPass):
    """Replace the operator of each pruned binary node (``1 - t <= 0``) by ``add``."""

    def match(self, node):
        return isinstance(node, SymbolNetSymbolic) and not node.get_attr(BINARY_FOLDED)

    def transform(self, model, node):
        gates = node_gates(node.get_attr("binary_threshold"))
        operators = [name if keep else "add" for name, keep in zip(node.get_attr("binary_operators"), gates)]
        node.set_attr("binary_operators", operators)
        node.set_attr(BINARY_FOLDED, True)
        return False


def _units_of_node(node, k: int) -> list[int]:
    n_unary = node.get_attr("n_unary")
    if k < n_unary:
        return [k]
    j = k - n_unary
    return [n_unary + 2 * j, n_unary + 2 * j + 1]


def _accum_start(node) -> np.ndarray:
    """Raw accumulator start values: the bias in ``accum``, plus any folded constants."""
    start = node.get_attr("accum_start_raw")
    if start is not None:
        return start
    accum = node_type(node, "accum")
    return requantize(node.get_attr("bias_raw"), node_type(node, "bias").frac, accum).astype(object)


def _exact_accumulator(node) -> bool:
    from hls4ml_symbolnet.converters.reference import accumulator_is_exact

    return accumulator_is_exact(
        node.get_attr("kernel_raw"),
        node.get_attr("bias_raw"),
        node_type(node, "weight"),
        node_type(node, "bias"),
        node_type(node, "accum"),
        input_type(node),
    )


class FoldConstantNodes(OptimizerPass):
    """Fold nodes whose linear units have no weights into the next layer's accumulator start.

    The constant is computed with the firmware arithmetic (bit for bit), multiplied by
    the next layer's weights and added to its accumulator start value, so the result
    does not change. It applies only where the next layer's accumulator is exact.
    NOTE: runs on the output layer once every layer of the chain is folded, walking
    the chain forward, because a folded layer can turn the next one's units constant.
    """

    def match(self, node):
        if not isinstance(node, SymbolNetDense) or node.get_attr(CONSTANTS_FOLDED):
            return False
        return is_folded(node) and all(is_folded(layer) for layer in chain_of(node))

    def transform(self, model, node):
        chain = chain_of(node)
        for index, layer in enumerate(chain):
            successor = chain[index + 1] if index + 1 < len(chain) else node
            self._fold_layer(layer, successor)
        node.set_attr(CONSTANTS_FOLDED, True)
        return False

    def _fold_layer(self, layer, successor):
        from hls4ml_symbolnet.converters.reference import node_outputs

        kernel_raw = layer.get_attr("kernel_raw")
        dead = layer.get_attr("dead_nodes", np.zeros(layer.get_output_variable().shape[0], dtype=bool)).copy()
        n_nodes = dead.shape[0]
        constant = [
            k
            for k in range(n_nodes)
            if not dead[k] and not np.any(kernel_raw[:, _units_of_node(layer, k)] != 0)
        ]
        if not constant or not _exact_accumulator(successor):
            return
        accum = node_type(layer, "accum")
        linear = node_type(layer, "linear")
        z = requantize(_accum_start(layer), accum.frac, linear)[None, :]
        plan = symbolic_layer_plan(layer)
        values = node_outputs(z, layer.get_attr("unary_operators"), layer.get_attr("binary_operators"), plan)[
            0
        ]
        successor_kernel = successor.get_attr("kernel_raw").copy()
        start = _accum_start(successor).copy()
        successor_accum = node_type(successor, "accum")
        shift = successor_accum.frac - node_type(successor, "weight").frac - node_type(layer, "result").frac
        for k in constant:
            contribution = np.array([int(w) * int(values[k]) for w in successor_kernel[k]], dtype=object)
            start = start + (contribution << shift)
            successor_kernel[k] = 0
        if max((abs(int(v)) for v in start), default=0) >= 1 << _DOUBLE_EXACT_BITS:
            return
        successor.set_attr("kernel_raw", successor_kernel)
        successor.set_attr("accum_start_raw", start)
        dead[constant] = True
        layer.set_attr("dead_nodes", dead)
        folded = dict(layer.get_attr("constant_nodes", {}))
        folded.update({k: int(values[k]) for k in constant})
        layer.set_attr("constant_nodes", folded)


class RemoveDeadNodes(OptimizerPass):
    """Drop nodes whose outputs no live unit of the next layer reads, with their linear units.

    NOTE: runs on the output layer after ``fold_constant_nodes`` and walks the chain
    backward, because dropping a node can leave its inputs unread.
    """

    def match(self, node):
        return (
            isinstance(node, SymbolNetDense)
            and node.get_attr(CONSTANTS_FOLDED)
            and not node.get_attr(DEAD_REMOVED)
        )

    def transform(self, model, node):
        successor_kernel = node.get_attr("kernel_raw")
        for layer in reversed(chain_of(node)):
            n_nodes = layer.get_output_variable().shape[0]
            dead = layer.get_attr("dead_nodes", np.zeros(n_nodes, dtype=bool)).copy()
            read = np.any(successor_kernel != 0, axis=1)
            dead |= ~read
            kernel_raw = layer.get_attr("kernel_raw").copy()
            for k in np.flatnonzero(dead):
                kernel_raw[:, _units_of_node(layer, k)] = 0
            layer.set_attr("kernel_raw", kernel_raw)
            layer.set_attr("dead_nodes", dead)
            successor_kernel = kernel_raw
        node.set_attr(DEAD_REMOVED, True)
        return False


PASSES = (
    FoldInputPruning,
    ApplyWeightPruning,
    ReplacePrunedUnary,
    ReplacePrunedBinary,
    FoldConstantNodes,
    RemoveDeadNodes,
)
