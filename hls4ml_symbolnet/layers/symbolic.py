"""Symbolic layer: a pruned linear transform followed by unary and binary operator nodes."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from hls4ml_symbolnet import operators
from hls4ml_symbolnet.layers._pruning import PruningTerm, add_threshold, check_slope, gate_active
from hls4ml_symbolnet.layers.pruned_dense import build_linear, linear_masks, linear_pruning_terms, masked_linear
from hls4ml_symbolnet.step import DEFAULT_STE_SLOPE, step

__all__ = ["SymbolicLayer"]

DEFAULT_UNARY = ("sin", "cos", "exp", "gauss")
DEFAULT_BINARY = ("mul",)


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an integer. Received: {name}={value!r}")
    if value < 0:
        raise ValueError(f"`{name}` must be >= 0. Received: {name}={value}")
    return int(value)


def _group_by_operator(names: Sequence[str]):
    """Return ``[(operator, node indices)]`` and the permutation that restores node order."""
    groups = []
    for name in dict.fromkeys(names):
        groups.append((name, np.array([i for i, n in enumerate(names) if n == name], dtype="int32")))
    order = np.concatenate([indices for _, indices in groups]) if groups else np.zeros(0, "int32")
    return groups, np.argsort(order).astype("int32")


@keras.saving.register_keras_serializable(package="symbolnet")
class SymbolicLayer(keras.layers.Layer):
    """SymbolNet symbolic layer.

    1. A pruned linear transform to ``n_unary + 2 * n_binary`` units:
       ``z = x @ (W * step(|W| - T_W)) + b * step(|b| - t_b)``.
    2. Unary node ``k`` computes ``f_k(z_k)``; binary node ``j`` computes
       ``g_j(z[n_unary + 2j], z[n_unary + 2j + 1])``. Operators are assigned to nodes
       cyclically from the given lists.
    3. Each node has a gate threshold ``t`` in ``[0, 1]`` with mask ``m = step(1 - t)``.
       A pruned unary node becomes the identity, ``m * f(z) + (1 - m) * z``; a pruned
       binary node becomes an addition, ``m * g(z1, z2) + (1 - m) * (z1 + z2)``.

    The output concatenates the unary then the binary node outputs. Operators are
    evaluated once per distinct operator on all of its nodes at once, never node by node.

    Args:
        n_unary: number of unary nodes, >= 0.
        n_binary: number of binary nodes, >= 0; ``n_unary + n_binary`` must be >= 1.
        unary_operators: operator names from :data:`hls4ml_symbolnet.operators.UNARY_OPERATORS`,
            ``("sin", "cos", "exp", "gauss")`` by default. Ignored when ``n_unary == 0``.
        binary_operators: names from :data:`hls4ml_symbolnet.operators.BINARY_OPERATORS`,
            ``("mul",)`` by default. Ignored when ``n_binary == 0``.
        ste_slope: slope of the surrogate gradient of the step, 5.0 by default.
        kernel_initializer: initializer of ``W``, ``"random_normal"`` by default.
        bias_initializer: initializer of ``b``, ``"random_normal"`` by default.

    Input shape:
        ``(batch, n_in)``.

    Output shape:
        ``(batch, n_unary + n_binary)``.

    Example:

    >>> layer = SymbolicLayer(4, 1, unary_operators=["sin", "square"], binary_operators=["mul"])
    >>> layer(np.ones((8, 3), "float32")).shape
    (8, 5)
    >>> layer.unary_node_operators
    ('sin', 'square', 'sin', 'square')
    """

    def __init__(
        self,
        n_unary: int,
        n_binary: int,
        unary_operators: Sequence[str] = DEFAULT_UNARY,
        binary_operators: Sequence[str] = DEFAULT_BINARY,
        ste_slope: float = DEFAULT_STE_SLOPE,
        kernel_initializer="random_normal",
        bias_initializer="random_normal",
        **kwargs,
    ):
        n_unary = _check_count(n_unary, "n_unary")
        n_binary = _check_count(n_binary, "n_binary")
        if n_unary + n_binary == 0:
            raise ValueError("A symbolic layer needs at least one node. Received: n_unary=0, n_binary=0")
        unary_operators = operators.resolve_unary_names(unary_operators) if n_unary else ()
        binary_operators = operators.resolve_binary_names(binary_operators) if n_binary else ()
        ste_slope = check_slope(ste_slope)
        super().__init__(**kwargs)
        self.n_unary = n_unary
        self.n_binary = n_binary
        self.unary_operators = unary_operators
        self.binary_operators = binary_operators
        self.ste_slope = ste_slope
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

        self.unary_node_operators = tuple(unary_operators[k % len(unary_operators)] for k in range(n_unary))
        self.binary_node_operators = tuple(binary_operators[j % len(binary_operators)] for j in range(n_binary))
        self._unary_groups, self._unary_order = _group_by_operator(self.unary_node_operators)
        self._binary_groups, self._binary_order = _group_by_operator(self.binary_node_operators)

    @property
    def n_linear(self) -> int:
        """Width of the linear transform, ``n_unary + 2 * n_binary``."""
        return self.n_unary + 2 * self.n_binary

    def build(self, input_shape):
        n_in = input_shape[-1]
        if n_in is None:
            raise ValueError(f"`SymbolicLayer` needs a known input width. Received: input_shape={input_shape}")
        build_linear(self, n_in, self.n_linear)
        self.unary_threshold = add_threshold(self, "unary_threshold", (self.n_unary,), bounded=True)
        self.binary_threshold = add_threshold(self, "binary_threshold", (self.n_binary,), bounded=True)

    def _apply_unary(self, z):
        pieces = [
            operators.UNARY_OPERATORS[name].keras_fn(ops.take(z, indices, axis=1))
            for name, indices in self._unary_groups
        ]
        return ops.take(ops.concatenate(pieces, axis=1), self._unary_order, axis=1)

    def _apply_binary(self, left, right):
        pieces = [
            operators.BINARY_OPERATORS[name].keras_fn(
                ops.take(left, indices, axis=1), ops.take(right, indices, axis=1)
            )
            for name, indices in self._binary_groups
        ]
        return ops.take(ops.concatenate(pieces, axis=1), self._binary_order, axis=1)

    def call(self, inputs):
        z = masked_linear(self, inputs)
        outputs = []
        if self.n_unary:
            z_unary = z[:, : self.n_unary]
            keep = step(1.0 - self.unary_threshold, self.ste_slope)
            outputs.append(keep * self._apply_unary(z_unary) + (1.0 - keep) * z_unary)
        if self.n_binary:
            left = z[:, self.n_unary :: 2]
            right = z[:, self.n_unary + 1 :: 2]
            keep = step(1.0 - self.binary_threshold, self.ste_slope)
            outputs.append(keep * self._apply_binary(left, right) + (1.0 - keep) * (left + right))
        return outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, axis=1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.n_unary + self.n_binary)

    def get_config(self):
        return {
            **super().get_config(),
            "n_unary": self.n_unary,
            "n_binary": self.n_binary,
            "unary_operators": list(self.unary_operators),
            "binary_operators": list(self.binary_operators),
            "ste_slope": self.ste_slope,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }

    def pruning_terms(self) -> list[PruningTerm]:
        """Threshold groups for the sparsity regulariser."""
        terms = linear_pruning_terms(self)
        if self.n_unary:
            terms.append(PruningTerm("unary", self.unary_threshold, gate_active(self.unary_threshold)))
        if self.n_binary:
            terms.append(PruningTerm("binary", self.binary_threshold, gate_active(self.binary_threshold)))
        return terms

    def masks(self) -> dict[str, np.ndarray]:
        """Boolean masks of kept elements: ``kernel``, ``bias``, ``unary``, ``binary``."""
        masks = linear_masks(self)
        masks["unary"] = (1.0 - ops.convert_to_numpy(self.unary_threshold)) > 0
        masks["binary"] = (1.0 - ops.convert_to_numpy(self.binary_threshold)) > 0
        return masks

    def effective_unary_operators(self) -> tuple[str, ...]:
        """Operator of each unary node after pruning: pruned nodes are ``"identity"``."""
        keep = self.masks()["unary"]
        return tuple(name if kept else "identity" for name, kept in zip(self.unary_node_operators, keep))

    def effective_binary_operators(self) -> tuple[str, ...]:
        """Operator of each binary node after pruning: pruned nodes are ``"add"``."""
        keep = self.masks()["binary"]
        return tuple(name if kept else "add" for name, kept in zip(self.binary_node_operators, keep))
