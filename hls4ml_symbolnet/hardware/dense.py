"""Quantized dense networks (such as the QKeras baseline) and the backend interface of the arithmetic.

A :class:`QuantizedDenseNetwork` is a chain of dense layers with weights on a fixed-point grid
and an optional quantized ReLU. :func:`run_dense` spells out its arithmetic:

1. ``z = h @ W + b``, exact (every product and sum keeps all its bits);
2. with ``relu=True``: ``z = max(z, 0)``;
3. with an activation type: ``z = quantize(z, activation)``; without one the exact sum is
   passed on (used for the logits of the last layer).

The arithmetic is written against :class:`Backend`, the operations that the numpy backend
(``_reference.py``, integer codes) and the da4ml backend (``_tracing.py``, logic) both provide.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from hls4ml_symbolnet.hardware.fixed import FixedType, as_fixed_type

__all__ = ["Backend", "QuantizedDenseLayer", "QuantizedDenseNetwork", "run_dense"]


class Backend(Protocol):
    """Operations of the firmware arithmetic; each backend decides what a value is."""

    def linear(self, inputs: Sequence[Any], kernel: np.ndarray, bias: np.ndarray) -> list[Any]:
        """Exact ``inputs @ kernel + bias`` with constant, dyadic ``kernel`` and ``bias``."""

    def quantize(self, value: Any, fixed_type: FixedType) -> Any:
        """Assign to ``fixed_type`` with its rounding and saturation modes."""

    def constant(self, value: float) -> Any: ...

    def scale(self, value: Any, constant: float) -> Any:
        """Exact product with a dyadic constant."""

    def multiply(self, left: Any, right: Any) -> Any:
        """Exact product."""

    def add(self, left: Any, right: Any) -> Any:
        """Exact sum."""

    def absolute(self, value: Any) -> Any: ...

    def relu(self, value: Any) -> Any: ...

    def sample_table(self, value: Any, table) -> Any:
        """Entry of a converter ``LookupTable`` for a value of its input type."""


@dataclasses.dataclass(frozen=True, eq=False)
class QuantizedDenseLayer:
    """Dense layer ``x @ kernel + bias`` with weights on a fixed-point grid.

    ``activation`` is the type of the layer's output: with ``relu=True`` the output is
    ``quantize(max(z, 0), activation)``, otherwise ``quantize(z, activation)``; ``None`` keeps
    the exact sum (allowed with ``relu=False`` only).
    """

    kernel: np.ndarray
    bias: np.ndarray
    activation: FixedType | None = None
    relu: bool = False
    name: str = "dense"

    def __post_init__(self):
        kernel = np.asarray(self.kernel, dtype=np.float64)
        bias = np.asarray(self.bias, dtype=np.float64)
        if kernel.ndim != 2 or bias.shape != (kernel.shape[1],):
            raise ValueError(
                f"Layer {self.name!r}: expected kernel (n_in, n_out) and bias (n_out,). "
                f"Received: kernel {kernel.shape}, bias {bias.shape}"
            )
        for label, values in (("kernel", kernel), ("bias", bias)):
            if not np.all(np.isfinite(values)):
                raise ValueError(f"Layer {self.name!r}: the {label} has NaN or infinite values.")
            # Weights must be dyadic (k * 2**-f); 2**-40 is far below any hardware weight step.
            scaled = values * 2.0**40
            if not np.array_equal(scaled, np.round(scaled)):
                raise ValueError(
                    f"Layer {self.name!r}: the {label} is not on a fixed-point grid (some value is not a "
                    "multiple of 2**-40). Quantize the weights first, e.g. with the QKeras quantizer."
                )
        if self.relu and self.activation is None:
            raise ValueError(f"Layer {self.name!r}: relu=True needs an activation type for its output.")
        object.__setattr__(self, "kernel", kernel)
        object.__setattr__(self, "bias", bias)
        if self.activation is not None:
            object.__setattr__(self, "activation", as_fixed_type(self.activation, "activation"))


@dataclasses.dataclass(frozen=True, eq=False)
class QuantizedDenseNetwork:
    """A chain of :class:`QuantizedDenseLayer` with a fixed-point input type.

    ``notes`` are remarks for the hardware report, e.g. an output activation left out.
    """

    input_type: FixedType
    layers: tuple[QuantizedDenseLayer, ...]
    name: str = "dense_network"
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "input_type", as_fixed_type(self.input_type, "input_type"))
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "notes", tuple(self.notes))
        if not self.layers:
            raise ValueError(f"Network {self.name!r} has no layers.")
        for previous, layer in zip(self.layers, self.layers[1:]):
            if previous.kernel.shape[1] != layer.kernel.shape[0]:
                raise ValueError(
                    f"Network {self.name!r}: layer {layer.name!r} expects {layer.kernel.shape[0]} inputs but "
                    f"layer {previous.name!r} has {previous.kernel.shape[1]} outputs."
                )

    @property
    def n_inputs(self) -> int:
        return self.layers[0].kernel.shape[0]

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].kernel.shape[1]

    def weight_sparsity(self) -> float:
        """Fraction of kernel entries that are exactly zero."""
        total = sum(layer.kernel.size for layer in self.layers)
        zeros = sum(int(np.sum(layer.kernel == 0)) for layer in self.layers)
        return zeros / total

    def describe(self) -> dict[str, str | float]:
        """Return the input type, each layer's output type and the weight sparsity."""
        record: dict[str, str | float] = {"input": str(self.input_type)}
        for layer in self.layers:
            output = "exact" if layer.activation is None else str(layer.activation)
            record[layer.name] = f"relu, {output}" if layer.relu else output
        record["weight_sparsity"] = round(self.weight_sparsity(), 4)
        return record


def run_dense(network: QuantizedDenseNetwork, backend: Backend, inputs: Sequence[Any]) -> list[Any]:
    """Run a quantized dense network on ``backend``; ``inputs`` already have ``network.input_type``."""
    h = list(inputs)
    for layer in network.layers:
        z = backend.linear(h, layer.kernel, layer.bias)
        if layer.relu:
            z = [backend.relu(value) for value in z]
        if layer.activation is not None:
            z = [backend.quantize(value, layer.activation) for value in z]
        h = z
    return h
