"""Dense layer whose weights and biases are pruned by trainable thresholds."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from hls4ml_symbolnet.layers._pruning import PruningTerm, add_threshold, check_slope, weight_active
from hls4ml_symbolnet.step import DEFAULT_STE_SLOPE, step

__all__ = ["PrunedDense", "masked_linear"]


def masked_linear(layer, inputs):
    """Return ``x @ (W * step(|W| - T_W)) + b * step(|b| - t_b)`` for ``layer``."""
    kernel_mask = step(ops.abs(layer.kernel) - layer.kernel_threshold, layer.ste_slope)
    bias_mask = step(ops.abs(layer.bias) - layer.bias_threshold, layer.ste_slope)
    return ops.matmul(inputs, layer.kernel * kernel_mask) + layer.bias * bias_mask


def linear_pruning_terms(layer) -> list[PruningTerm]:
    return [
        PruningTerm("weight", layer.kernel_threshold, weight_active(layer.kernel, layer.kernel_threshold)),
        PruningTerm("weight", layer.bias_threshold, weight_active(layer.bias, layer.bias_threshold)),
    ]


def linear_masks(layer) -> dict[str, np.ndarray]:
    kernel = ops.convert_to_numpy(layer.kernel)
    bias = ops.convert_to_numpy(layer.bias)
    return {
        "kernel": np.abs(kernel) > ops.convert_to_numpy(layer.kernel_threshold),
        "bias": np.abs(bias) > ops.convert_to_numpy(layer.bias_threshold),
    }


def build_linear(layer, n_in: int, n_out: int):
    layer.kernel = layer.add_weight(name="kernel", shape=(n_in, n_out), initializer=layer.kernel_initializer)
    layer.bias = layer.add_weight(name="bias", shape=(n_out,), initializer=layer.bias_initializer)
    layer.kernel_threshold = add_threshold(layer, "kernel_threshold", (n_in, n_out), bounded=False)
    layer.bias_threshold = add_threshold(layer, "bias_threshold", (n_out,), bounded=False)


@keras.saving.register_keras_serializable(package="symbolnet")
class PrunedDense(keras.layers.Layer):
    """Linear layer with one trainable pruning threshold per weight and bias.

    ``y = x @ (W * step(|W| - T_W)) + b * step(|b| - t_b)``. Thresholds start at 0
    and are kept >= 0; a weight whose magnitude is at or below its threshold is
    pruned. SymbolNet uses it as the output layer, one unit per expression.

    Args:
        units: number of outputs, >= 1.
        ste_slope: slope of the surrogate gradient of the step, 5.0 by default.
        kernel_initializer: initializer of ``W``, ``"random_normal"`` by default.
        bias_initializer: initializer of ``b``, ``"random_normal"`` by default. A bias
            initialised to exactly 0 would start pruned and never receive a gradient.

    Input shape:
        ``(batch, n_in)``.

    Output shape:
        ``(batch, units)``.

    Example:

    >>> layer = PrunedDense(2)
    >>> layer(np.ones((4, 3), "float32")).shape
    (4, 2)
    """

    def __init__(
        self,
        units: int,
        ste_slope: float = DEFAULT_STE_SLOPE,
        kernel_initializer="random_normal",
        bias_initializer="random_normal",
        **kwargs,
    ):
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)):
            raise TypeError(f"`units` must be an integer. Received: units={units!r}")
        if units < 1:
            raise ValueError(f"`units` must be >= 1. Received: units={units}")
        ste_slope = check_slope(ste_slope)
        super().__init__(**kwargs)
        self.units = int(units)
        self.ste_slope = ste_slope
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        n_in = input_shape[-1]
        if n_in is None:
            raise ValueError(f"`PrunedDense` needs a known input width. Received: input_shape={input_shape}")
        build_linear(self, n_in, self.units)

    def call(self, inputs):
        return masked_linear(self, inputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "ste_slope": self.ste_slope,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }

    def pruning_terms(self) -> list[PruningTerm]:
        """Threshold groups for the sparsity regulariser."""
        return linear_pruning_terms(self)

    def masks(self) -> dict[str, np.ndarray]:
        """Boolean masks of kept elements: ``{"kernel": (n_in, units), "bias": (units,)}``."""
        return linear_masks(self)
