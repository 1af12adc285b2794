"""Read a QKeras dense network (``tf_keras``) into a :class:`QuantizedDenseNetwork`.

Supported layers: ``QDense`` (weights and biases through their QKeras quantizers),
``QActivation`` with ``quantized_relu`` or ``quantized_bits``, TFMOT pruning wrappers around
them, and ``InputLayer``, ``Dropout`` and a final ``Activation`` (softmax, sigmoid or linear),
which the hardware leaves out. Activation types follow hls4ml 1.3.0's mapping of QKeras
quantizers: ``quantized_relu(b, i)`` -> ``ap_ufixed<b, i, AP_RND_CONV, AP_SAT>`` and
``quantized_bits(b, i)`` -> ``ap_fixed<b, i + 1, AP_RND_CONV, AP_SAT>``. Ties round to even, as
QKeras itself rounds with ``tf.round``.
"""

from __future__ import annotations

import logging

import numpy as np

from hls4ml_symbolnet.hardware.dense import QuantizedDenseLayer, QuantizedDenseNetwork
from hls4ml_symbolnet.hardware.fixed import FixedType, as_fixed_type

logger = logging.getLogger(__name__)

__all__ = ["dense_network_from_qkeras"]

_SKIPPED = ("InputLayer", "Dropout")
_OUTPUT_ACTIVATIONS = ("softmax", "sigmoid", "linear")


def _numpy(value) -> np.ndarray:
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)


def _activation_type(quantizer, layer_name: str) -> tuple[FixedType, bool]:
    """Return the output type of a QKeras activation quantizer and whether it applies a ReLU."""
    kind = type(quantizer).__name__
    config = quantizer.get_config() if hasattr(quantizer, "get_config") else {}
    if kind == "quantized_relu":
        unsupported = {
            "negative_slope": config.get("negative_slope", 0.0) != 0.0,
            "use_sigmoid": bool(config.get("use_sigmoid", 0)),
            "use_stochastic_rounding": bool(config.get("use_stochastic_rounding", False)),
            "relu_upper_bound": config.get("relu_upper_bound") is not None,
        }
        bad = [key for key, flag in unsupported.items() if flag]
        if bad:
            raise NotImplementedError(
                f"Layer {layer_name!r}: quantized_relu with {', '.join(bad)} is not supported."
            )
        return FixedType(int(quantizer.bits), int(quantizer.integer), False, "RND_CONV", "SAT"), True
    if kind == "quantized_bits":
        alpha = config.get("alpha")
        if alpha not in (None, 1, 1.0, "1"):
            raise NotImplementedError(
                f"Layer {layer_name!r}: quantized_bits with alpha={alpha!r} is not supported."
            )
        if not config.get("keep_negative", True) or config.get("symmetric", False):
            raise NotImplementedError(
                f"Layer {layer_name!r}: quantized_bits needs keep_negative=True and symmetric=False here."
            )
        return FixedType(int(quantizer.bits), int(quantizer.integer) + 1, True, "RND_CONV", "SAT"), False
    raise NotImplementedError(
        f"Layer {layer_name!r}: activation {kind!r} is not supported; use quantized_relu or quantized_bits."
    )


def _quantized_weights(layer, attribute: str) -> np.ndarray:
    values = getattr(layer, attribute)
    quantizer = getattr(layer, f"{attribute}_quantizer_internal", None)
    if quantizer is not None:
        values = quantizer(values)
    return _numpy(values)


def _unwrap(layer):
    # TFMOT's pruning wrapper keeps the masked weights in the wrapped layer.
    if type(layer).__name__ == "PruneLowMagnitude":
        return layer.layer
    return layer


def dense_network_from_qkeras(
    model, input_type: FixedType | str = "ap_fixed<16,6>", output_type: FixedType | str | None = None
) -> QuantizedDenseNetwork:
    """Read the dense layers and activation quantizers of a QKeras model.

    Args:
        model: a ``tf_keras`` model built from QKeras layers (see the module docstring).
        input_type: fixed-point type of the inputs; QKeras models do not store one.
        output_type: type of the last layer's output, or None to keep its exact sum.

    Raises:
        NotImplementedError: for layers other than the supported ones, including convolutions,
            which the open-source hardware path does not implement.
    """
    layers: list[QuantizedDenseLayer] = []
    notes = []
    pending = None
    model_layers = [_unwrap(layer) for layer in model.layers]
    for position, layer in enumerate(model_layers):
        kind = type(layer).__name__
        is_last = position == len(model_layers) - 1
        if kind in _SKIPPED:
            continue
        if kind == "QDense":
            if pending is not None:
                layers.append(pending)
            pending = _read_dense(layer)
        elif kind == "QActivation":
            if pending is None or pending.activation is not None:
                raise NotImplementedError(
                    f"Layer {layer.name!r}: a QActivation must follow a QDense layer directly."
                )
            activation, relu = _activation_type(layer.quantizer, layer.name)
            pending = QuantizedDenseLayer(pending.kernel, pending.bias, activation, relu, pending.name)
        elif kind == "Activation" and is_last and layer.get_config()["activation"] in _OUTPUT_ACTIVATIONS:
            name = layer.get_config()["activation"]
            if name != "linear":
                notes.append(
                    f"output activation {name} of layer {layer.name!r} is not implemented; outputs are logits"
                )
        elif "Conv" in kind or "Pool" in kind:
            raise NotImplementedError(
                f"Layer {layer.name!r} ({kind}): the open-source hardware path supports dense networks only; "
                "convolutional networks cannot go through it."
            )
        else:
            raise NotImplementedError(f"Layer {layer.name!r} ({kind}) is not supported by the hardware path.")
    if pending is None:
        raise ValueError(f"Model {model.name!r} has no QDense layer.")
    if output_type is not None:
        if pending.activation is not None:
            raise ValueError(
                f"`output_type` is set, but the last layer {pending.name!r} already has an activation."
            )
        pending = QuantizedDenseLayer(
            pending.kernel, pending.bias, as_fixed_type(output_type), False, pending.name
        )
    layers.append(pending)
    return QuantizedDenseNetwork(
        as_fixed_type(input_type, "input_type"), tuple(layers), model.name, tuple(notes)
    )


def _read_dense(layer) -> QuantizedDenseLayer:
    activation = getattr(layer, "activation", None)
    activation_name = getattr(activation, "__name__", type(activation).__name__)
    kernel = _quantized_weights(layer, "kernel")
    if getattr(layer, "use_bias", True) and getattr(layer, "bias", None) is not None:
        bias = _quantized_weights(layer, "bias")
    else:
        bias = np.zeros(kernel.shape[1])
    dense = QuantizedDenseLayer(kernel, bias, None, False, layer.name)
    if activation is None or activation_name == "linear":
        return dense
    output_type, relu = _activation_type(activation, layer.name)
    return QuantizedDenseLayer(kernel, bias, output_type, relu, layer.name)
