"""Helpers shared by the pruned layers: threshold variables and pruning terms."""

from __future__ import annotations

import dataclasses

from keras import ops

from hls4ml_symbolnet.layers.constraints import ThresholdClip

# The four kinds of threshold that the sparsity regulariser tracks.
THRESHOLD_KINDS = ("weight", "input", "unary", "binary")


@dataclasses.dataclass(frozen=True)
class PruningTerm:
    """One group of thresholds of a layer, as seen by the sparsity regulariser.

    ``active`` is a float tensor of the same shape as ``threshold``: 1.0 where the
    element is kept, 0.0 where it is pruned. It carries no gradient.
    """

    kind: str
    threshold: object
    active: object


def check_slope(ste_slope) -> float:
    if isinstance(ste_slope, bool) or not isinstance(ste_slope, (int, float)):
        raise TypeError(f"`ste_slope` must be a number. Received: ste_slope={ste_slope!r}")
    if not (ste_slope > 0 and ste_slope < float("inf")):
        raise ValueError(f"`ste_slope` must be a finite number > 0. Received: ste_slope={ste_slope}")
    return float(ste_slope)


def add_threshold(layer, name: str, shape, bounded: bool):
    """Create a threshold variable initialised to 0, kept in [0, 1] or [0, inf)."""
    return layer.add_weight(
        name=name,
        shape=shape,
        initializer="zeros",
        constraint=ThresholdClip(0.0, 1.0 if bounded else None),
        trainable=True,
    )


def weight_active(weight, threshold):
    """Return 1.0 where ``|weight| > threshold``, without gradient."""
    return ops.stop_gradient(ops.cast(ops.greater(ops.abs(weight), threshold), weight.dtype))


def gate_active(threshold):
    """Return 1.0 where ``1 - threshold > 0``, without gradient."""
    return ops.stop_gradient(ops.cast(ops.greater(1.0 - threshold, 0.0), threshold.dtype))
