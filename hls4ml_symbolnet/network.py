"""A trained SymbolNet model with pruning folded in, as plain numpy data.

:func:`fold_network` reads a Keras SymbolNet model once and returns a
:class:`FoldedNetwork`: pruned weights and biases are exactly zero, pruned inputs zero
the rows of the first kernel, pruned unary nodes are ``"identity"`` and pruned binary
nodes are ``"add"``. The expression export, the hls4ml converter and the hardware
path all start from this object, so they agree on what was pruned.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hls4ml_symbolnet import operators

__all__ = ["FoldedLinear", "FoldedNetwork", "FoldedSymbolicLayer", "fold_network"]


@dataclasses.dataclass(frozen=True)
class FoldedLinear:
    """Linear map ``x @ kernel + bias`` whose pruned entries are exactly zero."""

    kernel: np.ndarray
    bias: np.ndarray

    @property
    def n_in(self) -> int:
        return self.kernel.shape[0]

    @property
    def n_out(self) -> int:
        return self.kernel.shape[1]

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        return x @ self.kernel + self.bias

    def used_inputs(self) -> np.ndarray:
        """Boolean array, True for each input row with at least one nonzero weight."""
        return np.any(self.kernel != 0, axis=1)


@dataclasses.dataclass(frozen=True)
class FoldedSymbolicLayer:
    """Symbolic layer after pruning: a linear map, then one operator per node.

    ``unary[k]`` acts on linear unit ``k``; ``binary[j]`` acts on units
    ``n_unary + 2j`` and ``n_unary + 2j + 1``. The layer output is the unary node
    outputs followed by the binary node outputs.
    """

    name: str
    linear: FoldedLinear
    unary: tuple[str, ...]
    binary: tuple[str, ...]

    @property
    def n_unary(self) -> int:
        return len(self.unary)

    @property
    def n_binary(self) -> int:
        return len(self.binary)

    @property
    def n_out(self) -> int:
        return self.n_unary + self.n_binary

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        z = self.linear.evaluate(x)
        columns = []
        for k, name in enumerate(self.unary):
            columns.append(operators.UNARY_OPERATORS[name].numpy_fn(z[:, k]))
        for j, name in enumerate(self.binary):
            left = z[:, self.n_unary + 2 * j]
            right = z[:, self.n_unary + 2 * j + 1]
            columns.append(operators.BINARY_OPERATORS[name].numpy_fn(left, right))
        return np.stack(columns, axis=1)


@dataclasses.dataclass(frozen=True)
class FoldedNetwork:
    """A whole SymbolNet model after pruning: input mask, symbolic layers, output map."""

    n_inputs: int
    input_mask: np.ndarray
    layers: tuple[FoldedSymbolicLayer, ...]
    output: FoldedLinear
    input_layer_name: str | None = None
    output_layer_name: str = "output"

    @property
    def n_outputs(self) -> int:
        return self.output.n_out

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """Evaluate in float64 numpy; matches the Keras model up to float32 rounding."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(
                f"Expected inputs of shape (n_samples, {self.n_inputs}). Received: shape={x.shape}"
            )
        h = x * self.input_mask
        for layer in self.layers:
            h = layer.evaluate(h)
        return self.output.evaluate(h)

    def used_inputs(self) -> np.ndarray:
        """Boolean array, True for each input that reaches at least one nonzero weight."""
        first = self.layers[0].linear if self.layers else self.output
        return first.used_inputs() & self.input_mask

    def is_fully_pruned(self) -> bool:
        """True when every output is a constant (no weight path from any input)."""
        return not bool(np.any(self.used_inputs()))


def _folded_linear(layer, row_mask: np.ndarray | None = None) -> FoldedLinear:
    from keras import ops

    masks = layer.masks()
    kernel = np.where(masks["kernel"], ops.convert_to_numpy(layer.kernel), 0.0).astype(np.float64)
    bias = np.where(masks["bias"], ops.convert_to_numpy(layer.bias), 0.0).astype(np.float64)
    if row_mask is not None:
        kernel = kernel * row_mask[:, None]
    return FoldedLinear(kernel=kernel, bias=bias)


def fold_network(model) -> FoldedNetwork:
    """Fold the pruning state of a SymbolNet Keras model into a :class:`FoldedNetwork`.

    The model must be a chain: an input, an optional :class:`InputPruning` layer, zero
    or more :class:`SymbolicLayer` layers and a final :class:`PrunedDense` layer.

    Raises:
        TypeError: if ``model`` is not a Keras model or has other layers than these.
        ValueError: if a weight or threshold is NaN or inf (a diverged training run).
    """
    import keras

    from hls4ml_symbolnet.layers import InputPruning, PrunedDense, SymbolicLayer

    if not isinstance(model, keras.Model):
        raise TypeError(f"Expected a Keras SymbolNet model. Received: {type(model).__name__}")
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if not layers or not isinstance(layers[-1], PrunedDense):
        names = [type(layer).__name__ for layer in layers]
        raise TypeError(
            f"Model {model.name!r} is not a SymbolNet model: its last layer must be PrunedDense. "
            f"Layers found: {names}. Build models with hls4ml_symbolnet.build_symbolnet()."
        )
    for layer in layers:
        for variable in layer.weights:
            if not np.all(np.isfinite(keras.ops.convert_to_numpy(variable))):
                raise ValueError(
                    f"Layer {layer.name!r} has NaN or inf in {variable.name!r}: training diverged. "
                    "Retrain with finite, scaled inputs or a lower learning rate."
                )
    n_inputs = int(model.inputs[0].shape[-1])
    input_mask = np.ones(n_inputs, dtype=bool)
    input_layer_name = None
    body = layers[:-1]
    if body and isinstance(body[0], InputPruning):
        input_mask = body[0].active_mask()
        input_layer_name = body[0].name
        body = body[1:]
    folded_layers = []
    row_mask = input_mask.astype(np.float64)
    for layer in body:
        if not isinstance(layer, SymbolicLayer):
            raise TypeError(
                f"Model {model.name!r} is not a SymbolNet model: layer {layer.name!r} is a "
                f"{type(layer).__name__}; only InputPruning, SymbolicLayer and PrunedDense are allowed."
            )
        folded_layers.append(
            FoldedSymbolicLayer(
                name=layer.name,
                linear=_folded_linear(layer, row_mask),
                unary=layer.effective_unary_operators(),
                binary=layer.effective_binary_operators(),
            )
        )
        row_mask = None
    output = _folded_linear(layers[-1], row_mask)
    return FoldedNetwork(
        n_inputs=n_inputs,
        input_mask=input_mask,
        layers=tuple(folded_layers),
        output=output,
        input_layer_name=input_layer_name,
        output_layer_name=layers[-1].name,
    )
