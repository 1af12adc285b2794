"""Training with TFMOT magnitude pruning for the QP baselines, and weight sparsity measurement.

Pruning wraps every dense and convolution layer (their QKeras subclasses included) in
``prune_low_magnitude`` with a ``PolynomialDecay`` schedule: sparsity rises from 0 to the target over
the first 75% of the training steps, then stays at the target while training continues. The returned
models are stripped of the pruning wrappers, so they contain plain (Q)Dense and (Q)Conv2D layers with
zeros in the pruned kernel entries.
"""

import logging
import math

import numpy as np

from .legacy_keras import ensure_legacy_keras

ensure_legacy_keras()

import tensorflow_model_optimization as tfmot  # noqa: E402
import tf_keras  # noqa: E402

from .qp_models import build_qp_cnn, build_qp_dnn, output_units, to_images  # noqa: E402

logger = logging.getLogger(__name__)

# Fraction of the training steps over which sparsity rises to the target.
PRUNING_RAMP_FRACTION = 0.75
# Maximum number of steps between two pruning updates (TFMOT's default frequency).
MAX_PRUNING_FREQUENCY = 100


def _check_labels(name: str, y: np.ndarray, n_classes: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"`{name}` must be a 1-D array of integer class labels, got dtype {y.dtype} and shape {y.shape}"
        )
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"`{name}` has labels in [{y.min()}, {y.max()}], "
            f"outside [0, {n_classes}) for n_classes={n_classes}"
        )
    return y


def _infer_n_classes(*label_arrays: np.ndarray | None) -> int:
    present = [np.asarray(y) for y in label_arrays if y is not None and np.asarray(y).size]
    if not present:
        raise ValueError("cannot infer `n_classes` from empty label arrays. Pass `n_classes`.")
    return int(max(y.max() for y in present)) + 1


def _pruning_schedule(target_sparsity: float, total_steps: int) -> tfmot.sparsity.keras.PolynomialDecay:
    ramp_steps = int(PRUNING_RAMP_FRACTION * total_steps)
    frequency = max(1, min(MAX_PRUNING_FREQUENCY, ramp_steps // 10))
    # TFMOT prunes at begin_step + k * frequency up to end_step. An end step on that grid makes the
    # last update reach the target exactly.
    end_step = frequency * (ramp_steps // frequency)
    if end_step < 1:
        raise ValueError(
            f"pruning needs at least 2 training steps, got {total_steps}. Increase `epochs` or the number "
            "of training rows, or decrease `batch_size`."
        )
    logger.debug(
        "pruning schedule: sparsity 0 -> %.3f over steps 0-%d, update every %d steps, %d steps in all",
        target_sparsity,
        end_step,
        frequency,
        total_steps,
    )
    return tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0,
        final_sparsity=target_sparsity,
        begin_step=0,
        end_step=end_step,
        frequency=frequency,
    )


def _is_prunable(layer: tf_keras.layers.Layer) -> bool:
    return isinstance(layer, (tf_keras.layers.Dense, tf_keras.layers.Conv2D))


def _wrap_for_pruning(
    model: tf_keras.Model, schedule: tfmot.sparsity.keras.PolynomialDecay
) -> tf_keras.Model:
    def clone_layer(layer: tf_keras.layers.Layer) -> tf_keras.layers.Layer:
        if _is_prunable(layer):
            return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule)
        return layer.__class__.from_config(layer.get_config())

    return tf_keras.models.clone_model(model, clone_function=clone_layer)


def train_classifier(
    model: tf_keras.Model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray | None,
    y_val: np.ndarray | None,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    target_sparsity: float | None = None,
    learning_rate: float = 1e-3,
) -> tuple[tf_keras.Model, dict[str, list[float]]]:
    """Train a ``tf_keras`` classifier with Adam, optionally pruning it to ``target_sparsity``.

    Args:
        model: A model whose last layer is a softmax over the classes or a single sigmoid unit
            (two classes), as built by ``qp_models``.
        x_train, y_train: Training inputs and integer class labels.
        x_val, y_val: Validation inputs and labels, or ``None`` for no validation.
        epochs, batch_size: Training length and batch size.
        seed: Seed for Python, NumPy and TensorFlow, set before training.
        target_sparsity: Fraction of zero kernel entries to reach in every dense and convolution
            layer, in [0, 1); ``None`` trains without pruning.
        learning_rate: Adam learning rate.

    Returns:
        The trained model (stripped of pruning wrappers when pruned) and the Keras history dict.
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(
            f"`epochs` and `batch_size` must be positive, got epochs={epochs}, batch_size={batch_size}"
        )
    if target_sparsity is not None and not 0.0 <= target_sparsity < 1.0:
        raise ValueError(f"`target_sparsity` must be in [0, 1), got target_sparsity={target_sparsity}")
    if (x_val is None) != (y_val is None):
        raise ValueError("pass both `x_val` and `y_val`, or neither")

    n_outputs = model.output_shape[-1]
    n_classes = 2 if n_outputs == 1 else n_outputs
    y_train = _check_labels("y_train", y_train, n_classes)
    if y_val is not None:
        y_val = _check_labels("y_val", y_val, n_classes)
    if len(x_train) != len(y_train):
        raise ValueError(f"`x_train` has {len(x_train)} rows but `y_train` has {len(y_train)}")

    if n_outputs == 1:
        loss = "binary_crossentropy"
        y_train = y_train.astype("float32")
        y_val = None if y_val is None else y_val.astype("float32")
    else:
        loss = "sparse_categorical_crossentropy"

    tf_keras.utils.set_random_seed(seed)
    callbacks = []
    if target_sparsity is not None:
        total_steps = epochs * math.ceil(len(x_train) / batch_size)
        model = _wrap_for_pruning(model, _pruning_schedule(target_sparsity, total_steps))
        callbacks.append(tfmot.sparsity.keras.UpdatePruningStep())

    model.compile(
        optimizer=tf_keras.optimizers.Adam(learning_rate=learning_rate), loss=loss, metrics=["accuracy"]
    )
    validation_data = None if x_val is None else (x_val, y_val)
    history = model.fit(
        x_train,
        y_train,
        validation_data=validation_data,
        epochs=epochs,
        batch_size=batch_size,
        callbacks=callbacks,
        shuffle=True,
        verbose=0,
    )

    if target_sparsity is not None:
        model = tfmot.sparsity.keras.strip_pruning(model)
    final = {key: values[-1] for key, values in history.history.items()}
    logger.info("trained %s for %d epochs: %s", model.name, epochs, final)
    return model, history.history


def train_qp_dnn(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray | None,
    y_val: np.ndarray | None,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    target_sparsity: float = 0.9,
    n_classes: int | None = None,
    learning_rate: float = 1e-3,
) -> tuple[tf_keras.Model, dict[str, list[float]]]:
    """Build and train the pruned, quantized 64-32-32 dense network on tabular features.

    Inputs should be standardised: activations are quantized to [0, 1) and weights to [-1, 1).
    ``n_classes`` defaults to the largest label in ``y_train`` and ``y_val`` plus one.
    Returns the stripped model and the Keras history dict; ``weight_sparsity`` measures the result.
    """
    x_train = np.asarray(x_train, dtype="float32")
    if x_train.ndim != 2:
        raise ValueError(f"`x_train` must be 2-D (rows, features), got shape {x_train.shape}")
    if n_classes is None:
        n_classes = _infer_n_classes(y_train, y_val)
    tf_keras.utils.set_random_seed(seed)
    model = build_qp_dnn(x_train.shape[1], n_classes)
    return train_classifier(
        model,
        x_train,
        y_train,
        None if x_val is None else np.asarray(x_val, dtype="float32"),
        y_val,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        target_sparsity=target_sparsity,
        learning_rate=learning_rate,
    )


def train_qp_cnn(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray | None,
    y_val: np.ndarray | None,
    *,
    image_shape: tuple[int, int, int],
    epochs: int,
    batch_size: int,
    seed: int,
    target_sparsity: float = 0.92,
    n_classes: int | None = None,
    learning_rate: float = 1e-3,
) -> tuple[tf_keras.Model, dict[str, list[float]]]:
    """Build and train the pruned, quantized convolutional network.

    ``x_train`` and ``x_val`` are flat pixel rows or images. Flat rows are reshaped to ``image_shape``
    (height, width, channels). The returned model takes images (see ``qp_models.to_images``).
    Pixels should be scaled to [0, 1]. With ``n_classes=2`` the model has one sigmoid output.
    ``n_classes`` defaults to the largest label in ``y_train`` and ``y_val`` plus one.
    """
    x_train = to_images(np.asarray(x_train, dtype="float32"), image_shape)
    x_val = None if x_val is None else to_images(np.asarray(x_val, dtype="float32"), image_shape)
    if n_classes is None:
        n_classes = _infer_n_classes(y_train, y_val)
    output_units(n_classes)
    tf_keras.utils.set_random_seed(seed)
    model = build_qp_cnn(image_shape, n_classes)
    return train_classifier(
        model,
        x_train,
        y_train,
        x_val,
        y_val,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        target_sparsity=target_sparsity,
        learning_rate=learning_rate,
    )


def weight_sparsity(model: tf_keras.Model) -> float:
    """Return the fraction of zero entries over the kernels of all dense and convolution layers.

    Biases are not counted, because pruning leaves them dense.
    """
    n_zero = 0
    n_total = 0
    for layer in model.layers:
        if _is_prunable(layer):
            kernel = layer.get_weights()[0]
            n_zero += int(np.count_nonzero(kernel == 0))
            n_total += kernel.size
    if n_total == 0:
        raise ValueError(f"model {model.name!r} has no dense or convolution layers to measure")
    return n_zero / n_total
