"""Constraint that keeps pruning thresholds inside their allowed range."""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["ThresholdClip"]


@keras.saving.register_keras_serializable(package="symbolnet")
class ThresholdClip(keras.constraints.Constraint):
    """Clip a threshold variable to ``[min_value, max_value]`` after each update.

    Args:
        min_value: lower bound, 0.0 by default.
        max_value: upper bound, or None for no upper bound.
    """

    def __init__(self, min_value: float = 0.0, max_value: float | None = None):
        if max_value is not None and max_value < min_value:
            raise ValueError(
                f"`max_value` must be >= `min_value`. Received: min_value={min_value}, max_value={max_value}"
            )
        self.min_value = float(min_value)
        self.max_value = None if max_value is None else float(max_value)

    def __call__(self, w):
        if self.max_value is None:
            return ops.maximum(w, self.min_value)
        return ops.clip(w, self.min_value, self.max_value)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value}
