"""Heaviside step with a straight-through gradient."""

from __future__ import annotations

from keras import ops

__all__ = ["DEFAULT_STE_SLOPE", "step", "step_numpy"]

DEFAULT_STE_SLOPE = 5.0


def step(x, slope: float = DEFAULT_STE_SLOPE):
    """Return ``1`` where ``x > 0`` and ``0`` elsewhere, with a surrogate gradient.

    The forward pass is the exact step, so ``x == 0`` counts as pruned. The backward
    pass is the derivative of ``sigmoid(slope * x)``, ``slope * s * (1 - s)``, which is
    nonzero everywhere, so a pruned weight or operator can become active again.

    Args:
        x: tensor of any shape.
        slope: steepness ``a`` of the surrogate sigmoid; 5.0 by default.
    """
    slope = float(slope)

    @ops.custom_gradient
    def _step(value):
        forward = ops.cast(ops.greater(value, 0), value.dtype)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            s = ops.sigmoid(slope * value)
            return upstream * slope * s * (1.0 - s)

        return forward, grad

    return _step(x)


def step_numpy(x):
    """Return the forward step in numpy: 1.0 where ``x > 0``, else 0.0."""
    import numpy as np

    return (np.asarray(x) > 0).astype(np.float64)
