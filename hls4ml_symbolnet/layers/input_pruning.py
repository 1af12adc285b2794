"""Input pruning layer: one trainable gate per input feature."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from hls4ml_symbolnet.layers._pruning import PruningTerm, add_threshold, check_slope, gate_active
from hls4ml_symbolnet.step import DEFAULT_STE_SLOPE, step

__all__ = ["InputPruning"]


@keras.saving.register_keras_serializable(package="symbolnet")
class InputPruning(keras.layers.Layer):
    """Multiply each input feature by a trainable on/off gate.

    Feature ``i`` has a threshold ``t_i`` in ``[0, 1]``, initialised to 0, and is
    kept while ``1 - t_i > 0``: ``y_i = x_i * step(1 - t_i)``. The step has a
    straight-through gradient (see :func:`hls4ml_symbolnet.step.step`).

    Args:
        ste_slope: slope ``a`` of the surrogate sigmoid gradient, 5.0 by default.

    Input shape:
        ``(batch, n_features)``.

    Output shape:
        Same as the input.

    Example:

    >>> layer = InputPruning()
    >>> y = layer(np.ones((2, 3), "float32"))
    >>> layer.active_mask().tolist()
    [True, True, True]
    """

    def __init__(self, ste_slope: float = DEFAULT_STE_SLOPE, **kwargs):
        ste_slope = check_slope(ste_slope)
        super().__init__(**kwargs)
        self.ste_slope = ste_slope

    def build(self, input_shape):
        n_features = input_shape[-1]
        if n_features is None:
            raise ValueError(f"`InputPruning` needs a known feature count. Received: input_shape={input_shape}")
        self.threshold = add_threshold(self, "threshold", (n_features,), bounded=True)

    def call(self, inputs):
        return inputs * step(1.0 - self.threshold, self.ste_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "ste_slope": self.ste_slope}

    def pruning_terms(self) -> list[PruningTerm]:
        """Threshold groups for the sparsity regulariser."""
        return [PruningTerm("input", self.threshold, gate_active(self.threshold))]

    def active_mask(self) -> np.ndarray:
        """Boolean array, True for each input feature that is kept."""
        return (1.0 - ops.convert_to_numpy(self.threshold)) > 0
