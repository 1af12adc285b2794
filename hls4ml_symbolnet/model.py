"""SymbolNet model: a functional Keras model whose loss adds the sparsity regulariser."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from hls4ml_symbolnet.layers import InputPruning, PrunedDense, SymbolicLayer
from hls4ml_symbolnet.layers._pruning import THRESHOLD_KINDS
from hls4ml_symbolnet.layers.symbolic import DEFAULT_BINARY, DEFAULT_UNARY
from hls4ml_symbolnet.step import DEFAULT_STE_SLOPE
from hls4ml_symbolnet.training.regularization import (
    DEFAULT_DECAY_RATE,
    SparsityTargets,
    resolve_decay_rates,
    sparsity_penalty,
)

__all__ = ["SymbolNetModel", "build_symbolnet", "check_array", "load_model", "summed_squared_error"]

logger = logging.getLogger(__name__)


@keras.saving.register_keras_serializable(package="symbolnet")
def summed_squared_error(y_true, y_pred):
    """Squared error summed over outputs; Keras then averages it over the batch."""
    return ops.sum(ops.square(y_true - y_pred), axis=-1)


def check_array(values, name: str, width: int | None = None) -> np.ndarray | None:
    """Validate a numpy-like 2-D array: finite values and, if given, the column count.

    Returns the array as float32, or None when ``values`` is not array-like (for
    example a ``tf.data.Dataset``, which Keras handles itself).
    """
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        values = values.to_numpy()  # pandas DataFrame or Series
    if values is None or not isinstance(values, (np.ndarray, list, tuple)):
        return None
    array = np.asarray(values)
    if not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
        raise TypeError(f"`{name}` must hold numbers. Received dtype {array.dtype}.")
    array = array.astype(np.float32, copy=False)
    if array.ndim != 2:
        hint = ""
        if name == "y" and array.ndim == 1:
            hint = " For class labels, pass one-hot targets, e.g. `np.eye(n_classes, dtype='float32')[labels]`."
        raise ValueError(f"`{name}` must be 2-D (n_samples, n_columns). Received: shape={array.shape}.{hint}")
    if width is not None and array.shape[1] != width:
        raise ValueError(
            f"`{name}` has {array.shape[1]} columns but the model expects {width}. Received: shape={array.shape}"
        )
    if array.shape[0] == 0:
        raise ValueError(f"`{name}` has no rows. Received: shape={array.shape}")
    finite = np.isfinite(array)
    if not finite.all():
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        bad_cols = np.flatnonzero(~finite.all(axis=0))
        raise ValueError(
            f"`{name}` contains NaN or inf in {bad_rows.size} row(s) (first rows: {bad_rows[:5].tolist()}; "
            f"columns: {bad_cols[:10].tolist()}). Remove or impute those rows before training."
        )
    return array


@keras.saving.register_keras_serializable(package="symbolnet")
class SymbolNetModel(keras.Model):
    """Functional SymbolNet model with the self-adaptive sparsity regulariser.

    The loss is ``L + sum_k D_k * R_k`` (see
    :mod:`hls4ml_symbolnet.training.regularization`), where ``L`` is the compiled
    loss; when ``compile`` gets no loss, ``L`` is :func:`summed_squared_error`
    against one-hot targets.
    ``fit`` logs ``base_loss`` and, for each kind in ``weight``, ``input``, ``unary``
    and ``binary``, ``sparsity_<kind>`` and ``threshold_<kind>`` (mean threshold),
    averaged over the batches of the epoch.

    Build one with :func:`build_symbolnet`.

    Args:
        target_sparsity: dict or :class:`SparsityTargets`; reference defaults if None.
        decay_rate: exponent ``d`` of the decay factor, 0.01 by default; a number for
            every kind or a dict of kind to number. Stored as a dict.
    """

    def __init__(self, *args, target_sparsity=None, decay_rate=DEFAULT_DECAY_RATE, **kwargs):
        rates = resolve_decay_rates(decay_rate)
        targets = SparsityTargets.from_value(target_sparsity)
        super().__init__(*args, **kwargs)
        self.target_sparsity = targets
        self.decay_rate = rates
        self.base_loss_tracker = keras.metrics.Mean(name="base_loss")
        self.sparsity_trackers = {kind: keras.metrics.Mean(name=f"sparsity_{kind}") for kind in THRESHOLD_KINDS}
        self.threshold_trackers = {
            kind: keras.metrics.Mean(name=f"threshold_{kind}") for kind in THRESHOLD_KINDS
        }

    @property
    def metrics(self):
        trackers = [self.base_loss_tracker]
        for kind in self._present_kinds():
            trackers += [self.sparsity_trackers[kind], self.threshold_trackers[kind]]
        return super().metrics + trackers

    def _present_kinds(self):
        kinds = {term.kind for term in self.pruning_terms()}
        return [kind for kind in THRESHOLD_KINDS if kind in kinds]

    def pruning_terms(self):
        """Collect the threshold groups of every layer, for the regulariser."""
        terms = []
        for layer in self.layers:
            if hasattr(layer, "pruning_terms"):
                terms.extend(layer.pruning_terms())
        return terms

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if self._compile_loss is None:
            per_sample = summed_squared_error(y, y_pred)
            if sample_weight is not None:
                per_sample = per_sample * ops.reshape(ops.cast(sample_weight, per_sample.dtype), (-1,))
            # Same reduction as a compiled Keras loss: the weighted sum over the batch size.
            base_loss = ops.mean(per_sample)
        else:
            base_loss = super().compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training
            )
        penalty, stats = sparsity_penalty(base_loss, self.pruning_terms(), self.target_sparsity, self.decay_rate)
        self.base_loss_tracker.update_state(base_loss)
        for kind, values in stats.items():
            self.sparsity_trackers[kind].update_state(values["sparsity"])
            self.threshold_trackers[kind].update_state(values["mean_threshold"])
        return base_loss + penalty

    def _check_xy(self, x, y):
        """Validate numpy-like ``x`` and ``y`` and return them as float32 arrays.

        With the default loss, ``y`` must have one column per output. With a loss given
        to ``compile`` (for example sparse categorical cross-entropy), ``y`` is only
        checked for NaN and inf. Inputs that are not array-like are returned unchanged.
        """
        checked_x = check_array(x, "x", int(self.inputs[0].shape[-1]))
        checked_y = None
        if y is not None:
            if self._compile_loss is None:
                checked_y = check_array(y, "y", int(self.outputs[0].shape[-1]))
            elif isinstance(y, (np.ndarray, list, tuple)) or hasattr(y, "to_numpy"):
                values = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
                if np.issubdtype(values.dtype, np.number) and not np.isfinite(values).all():
                    raise ValueError("`y` contains NaN or inf. Remove or impute those rows before training.")
        return (x if checked_x is None else checked_x), (y if checked_y is None else checked_y)

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        x, y = self._check_xy(x, y)
        if isinstance(validation_data, tuple) and len(validation_data) >= 2:
            checked = self._check_xy(validation_data[0], validation_data[1])
            validation_data = (*checked, *validation_data[2:])
        return super().fit(x, y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        x, y = self._check_xy(x, y)
        return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        x, _ = self._check_xy(x, None)
        return super().predict(x, *args, **kwargs)

    def sparsity(self) -> dict[str, float]:
        """Fraction pruned now for each threshold kind present in the model."""
        counts = {kind: [0, 0] for kind in THRESHOLD_KINDS}
        for term in self.pruning_terms():
            active = ops.convert_to_numpy(term.active)
            counts[term.kind][0] += int(active.size - active.sum())
            counts[term.kind][1] += int(active.size)
        return {kind: pruned / total for kind, (pruned, total) in counts.items() if total}

    def get_config(self):
        config = super().get_config()
        config["target_sparsity"] = self.target_sparsity.as_dict()
        config["decay_rate"] = self.decay_rate
        return config


def _check_hidden(hidden) -> list[tuple[int, int]]:
    try:
        pairs = [tuple(pair) for pair in hidden]
    except TypeError:
        raise TypeError(
            f"`hidden` must be a list of (n_unary, n_binary) pairs, e.g. [(20, 5)]. Received: hidden={hidden!r}"
        ) from None
    for pair in pairs:
        if len(pair) != 2:
            raise ValueError(f"Each `hidden` entry must be (n_unary, n_binary). Received: {pair!r}")
    return pairs


def build_symbolnet(
    n_inputs: int,
    n_outputs: int,
    hidden: Sequence[tuple[int, int]] = ((20, 5),),
    unary_operators: Sequence[str] = DEFAULT_UNARY,
    binary_operators: Sequence[str] = DEFAULT_BINARY,
    target_sparsity=None,
    decay_rate=DEFAULT_DECAY_RATE,
    ste_slope: float = DEFAULT_STE_SLOPE,
    input_pruning: bool = True,
    seed: int | None = None,
    name: str = "symbolnet",
) -> SymbolNetModel:
    """Build an uncompiled SymbolNet model.

    Args:
        n_inputs: number of input features.
        n_outputs: number of outputs; each becomes one expression.
        hidden: one ``(n_unary, n_binary)`` pair per symbolic layer; ``[(20, 5)]``
            by default. An empty list gives a pruned linear model.
        unary_operators: unary operator names, assigned cyclically to the nodes of
            every symbolic layer.
        binary_operators: binary operator names, assigned the same way.
        target_sparsity: dict with keys ``weight``, ``input``, ``unary``, ``binary``
            (each in ``[0, 1)``), or None for 0.99, 0.95, 0.4, 0.4.
        decay_rate: exponent ``d`` of the decay factor, 0.01 by default. Give a number
            for every kind, or a dict such as ``{"unary": 0.3}`` in which missing kinds
            keep 0.01.
        ste_slope: slope of the straight-through gradient of the step, 5.0.
        input_pruning: add an :class:`InputPruning` layer after the input.
        seed: seed for the weight initializers, for reproducible models.
        name: model name; it prefixes the layer names.

    Example:

    >>> model = build_symbolnet(784, 10, hidden=[(20, 5)], seed=123)
    >>> model.compile(optimizer=keras.optimizers.Adam(0.005), metrics=["categorical_accuracy"])
    >>> # no loss given: summed squared error against one-hot targets
    """
    for value, argument in ((n_inputs, "n_inputs"), (n_outputs, "n_outputs")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"`{argument}` must be an integer >= 1. Received: {argument}={value!r}")
    pairs = _check_hidden(hidden)
    targets = SparsityTargets.from_value(target_sparsity)

    def initializer(offset: int):
        return keras.initializers.RandomNormal(stddev=0.05, seed=None if seed is None else seed + offset)

    inputs = keras.Input(shape=(int(n_inputs),), name=f"{name}_input")
    h = inputs
    if input_pruning:
        h = InputPruning(ste_slope=ste_slope, name=f"{name}_input_pruning")(h)
    for index, (n_unary, n_binary) in enumerate(pairs):
        h = SymbolicLayer(
            n_unary,
            n_binary,
            unary_operators=unary_operators,
            binary_operators=binary_operators,
            ste_slope=ste_slope,
            kernel_initializer=initializer(2 * index),
            bias_initializer=initializer(2 * index + 1),
            name=f"{name}_symbolic_{index}",
        )(h)
    outputs = PrunedDense(
        int(n_outputs),
        ste_slope=ste_slope,
        kernel_initializer=initializer(1000),
        bias_initializer=initializer(1001),
        name=f"{name}_output",
    )(h)
    return SymbolNetModel(inputs, outputs, target_sparsity=targets, decay_rate=decay_rate, name=name)


def load_model(path, **kwargs) -> keras.Model:
    """Load a ``.keras`` file saved from a SymbolNet model.

    Importing this module registers the SymbolNet classes with Keras, which
    ``keras.saving.load_model`` needs; this function is that call with the
    registration guaranteed. Keyword arguments go to ``keras.saving.load_model``.
    """
    return keras.saving.load_model(path, **kwargs)
