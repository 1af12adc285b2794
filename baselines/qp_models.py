"""Quantized (QKeras) and float reference architectures of the QP baselines, as ``tf_keras`` models.

QP DNN (jet tagging): dense 64-32-32 with ReLU, then the output layer.
QP CNN (MNIST, SVHN): three blocks of 3x3 convolution (16, 16, 24 filters, no padding), ReLU and 2x2
max pooling, then dense 42 and 64 with ReLU, then the output layer.

The quantized models use 6-bit weights, biases and activations with 0 integer bits
(``quantized_bits(6, 0, alpha=1)``, ``quantized_relu(6, 0)``) by default. The float models have the same
layers without quantizers; they are the reference for accuracy relative to an unquantized, unpruned model.
The output activation is a separate layer named ``output_activation``: softmax for more than two classes,
one sigmoid unit for two classes. The input layer is named ``features`` or ``image``, because hls4ml
reserves the name ``input``. Pruning happens during training (see ``qp_training``).

CNN models take images (height, width, channels). ``to_images`` reshapes the flat pixel rows of the
data loaders outside the model, so the firmware input is the image stream.
"""

import logging

import numpy as np

from .legacy_keras import ensure_legacy_keras

ensure_legacy_keras()

import tf_keras  # noqa: E402
from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu  # noqa: E402

logger = logging.getLogger(__name__)

DNN_HIDDEN_UNITS = (64, 32, 32)
CNN_FILTERS = (16, 16, 24)
CNN_DENSE_UNITS = (42, 64)
OUTPUT_ACTIVATION_NAME = "output_activation"


def _check_positive(name: str, value: int) -> None:
    if int(value) != value or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {name}={value!r}")


def _check_quantization(bits: int, integer_bits: int) -> None:
    _check_positive("bits", bits)
    if int(integer_bits) != integer_bits or not 0 <= integer_bits < bits:
        raise ValueError(
            f"`integer_bits` must be an integer in [0, bits), "
            f"got integer_bits={integer_bits!r} with bits={bits}"
        )


def output_units(n_classes: int) -> int:
    """Return the number of output units: one sigmoid unit for two classes, else one per class."""
    _check_positive("n_classes", n_classes)
    if n_classes < 2:
        raise ValueError(f"`n_classes` must be at least 2, got n_classes={n_classes}")
    return 1 if n_classes == 2 else n_classes


def _output_activation(n_classes: int) -> tf_keras.layers.Activation:
    activation = "sigmoid" if n_classes == 2 else "softmax"
    return tf_keras.layers.Activation(activation, name=OUTPUT_ACTIVATION_NAME)


class _Quantizers:
    """QKeras quantizer factory for one bit width. Each call returns a new quantizer object."""

    def __init__(self, bits: int, integer_bits: int):
        _check_quantization(bits, integer_bits)
        self.bits = bits
        self.integer_bits = integer_bits

    def weights(self) -> quantized_bits:
        # alpha=1 fixes the scale to 1, so the stored values are plain fixed-point numbers that hls4ml
        # maps to ap_fixed<bits, integer_bits + 1> without a separate scale.
        return quantized_bits(self.bits, self.integer_bits, alpha=1)

    def relu(self) -> quantized_relu:
        return quantized_relu(self.bits, self.integer_bits)


def build_qp_dnn(
    n_features: int = 16, n_classes: int = 5, *, bits: int = 6, integer_bits: int = 0
) -> tf_keras.Model:
    """Build the quantized dense network (64-32-32-output) for tabular inputs such as jet features."""
    _check_positive("n_features", n_features)
    quantizers = _Quantizers(bits, integer_bits)

    inputs = tf_keras.Input(shape=(n_features,), name="features")
    x = inputs
    for index, units in enumerate(DNN_HIDDEN_UNITS, start=1):
        x = QDense(
            units,
            kernel_quantizer=quantizers.weights(),
            bias_quantizer=quantizers.weights(),
            kernel_initializer="lecun_uniform",
            name=f"dense_{index}",
        )(x)
        x = QActivation(quantizers.relu(), name=f"relu_{index}")(x)
    x = QDense(
        output_units(n_classes),
        kernel_quantizer=quantizers.weights(),
        bias_quantizer=quantizers.weights(),
        kernel_initializer="lecun_uniform",
        name="output_dense",
    )(x)
    outputs = _output_activation(n_classes)(x)
    return tf_keras.Model(inputs, outputs, name="qp_dnn")


def build_float_dnn(n_features: int = 16, n_classes: int = 5) -> tf_keras.Model:
    """Build the float dense network with the layers of ``build_qp_dnn`` and no quantizers."""
    _check_positive("n_features", n_features)

    inputs = tf_keras.Input(shape=(n_features,), name="features")
    x = inputs
    for index, units in enumerate(DNN_HIDDEN_UNITS, start=1):
        x = tf_keras.layers.Dense(units, kernel_initializer="lecun_uniform", name=f"dense_{index}")(x)
        x = tf_keras.layers.Activation("relu", name=f"relu_{index}")(x)
    x = tf_keras.layers.Dense(
        output_units(n_classes), kernel_initializer="lecun_uniform", name="output_dense"
    )(x)
    outputs = _output_activation(n_classes)(x)
    return tf_keras.Model(inputs, outputs, name="float_dnn")


def _check_image_shape(image_shape: tuple[int, int, int]) -> None:
    if len(image_shape) != 3:
        raise ValueError(f"`image_shape` must be (height, width, channels), got image_shape={image_shape!r}")
    for size in image_shape:
        _check_positive("image_shape", size)
    # Each block shrinks the side by 2 (3x3, no padding), then halves it (2x2 pooling).
    side = min(image_shape[:2])
    for _ in CNN_FILTERS:
        side = (side - 2) // 2
    if side < 1:
        raise ValueError(
            f"`image_shape` {image_shape!r} is too small for three convolution blocks. "
            "Height and width must be at least 22."
        )


def build_qp_cnn(
    image_shape: tuple[int, int, int] = (28, 28, 1),
    n_classes: int = 10,
    *,
    bits: int = 6,
    integer_bits: int = 0,
) -> tf_keras.Model:
    """Build the quantized convolutional network for images of ``image_shape`` (height, width, channels)."""
    _check_image_shape(image_shape)
    quantizers = _Quantizers(bits, integer_bits)

    inputs = tf_keras.Input(shape=tuple(image_shape), name="image")
    x = inputs
    for index, filters in enumerate(CNN_FILTERS, start=1):
        x = QConv2D(
            filters,
            (3, 3),
            kernel_quantizer=quantizers.weights(),
            bias_quantizer=quantizers.weights(),
            kernel_initializer="lecun_uniform",
            name=f"conv_{index}",
        )(x)
        x = QActivation(quantizers.relu(), name=f"conv_relu_{index}")(x)
        x = tf_keras.layers.MaxPooling2D((2, 2), name=f"pool_{index}")(x)
    x = tf_keras.layers.Flatten(name="flatten")(x)
    for index, units in enumerate(CNN_DENSE_UNITS, start=1):
        x = QDense(
            units,
            kernel_quantizer=quantizers.weights(),
            bias_quantizer=quantizers.weights(),
            kernel_initializer="lecun_uniform",
            name=f"dense_{index}",
        )(x)
        x = QActivation(quantizers.relu(), name=f"relu_{index}")(x)
    x = QDense(
        output_units(n_classes),
        kernel_quantizer=quantizers.weights(),
        bias_quantizer=quantizers.weights(),
        kernel_initializer="lecun_uniform",
        name="output_dense",
    )(x)
    outputs = _output_activation(n_classes)(x)
    return tf_keras.Model(inputs, outputs, name="qp_cnn")


def build_float_cnn(image_shape: tuple[int, int, int] = (28, 28, 1), n_classes: int = 10) -> tf_keras.Model:
    """Build the float convolutional network with the layers of ``build_qp_cnn`` and no quantizers."""
    _check_image_shape(image_shape)

    inputs = tf_keras.Input(shape=tuple(image_shape), name="image")
    x = inputs
    for index, filters in enumerate(CNN_FILTERS, start=1):
        x = tf_keras.layers.Conv2D(filters, (3, 3), kernel_initializer="lecun_uniform", name=f"conv_{index}")(
            x
        )
        x = tf_keras.layers.Activation("relu", name=f"conv_relu_{index}")(x)
        x = tf_keras.layers.MaxPooling2D((2, 2), name=f"pool_{index}")(x)
    x = tf_keras.layers.Flatten(name="flatten")(x)
    for index, units in enumerate(CNN_DENSE_UNITS, start=1):
        x = tf_keras.layers.Dense(units, kernel_initializer="lecun_uniform", name=f"dense_{index}")(x)
        x = tf_keras.layers.Activation("relu", name=f"relu_{index}")(x)
    x = tf_keras.layers.Dense(
        output_units(n_classes), kernel_initializer="lecun_uniform", name="output_dense"
    )(x)
    outputs = _output_activation(n_classes)(x)
    return tf_keras.Model(inputs, outputs, name="float_cnn")


def to_images(x: np.ndarray, image_shape: tuple[int, int, int]) -> np.ndarray:
    """Reshape flat pixel rows (N, height*width*channels) to images (N, height, width, channels).

    Rows must be in height, width, channel order (the order of MNIST files and of SVHN arrays after
    moving the sample axis first). Arrays that already have the image shape are returned unchanged.
    """
    x = np.asarray(x)
    image_shape = tuple(image_shape)
    if x.shape[1:] == image_shape:
        return x
    n_pixels = int(np.prod(image_shape))
    if x.ndim != 2 or x.shape[1] != n_pixels:
        raise ValueError(
            f"expected flat rows of {n_pixels} values or images of shape {image_shape}, got an array of "
            f"shape {x.shape}; check `image_shape`"
        )
    return x.reshape((x.shape[0],) + image_shape)
