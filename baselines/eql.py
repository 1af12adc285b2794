"""EQL baseline: an equation learner trained in three phases with a smoothed L0.5 penalty.

The network (Martius and Lampert, "Extrapolation and learning equations", 2016) stacks layers
of a linear transform followed by unary and binary operator units, then a linear output layer.
It uses the operator registry of SymbolNet, with operators assigned cyclically to units, so
the two methods search the same function space. Unlike SymbolNet it has no trainable
thresholds: sparsity comes from a penalty on the weights and a hard threshold.

Training follows the three phases of Kim et al., "Integration of neural network-based
symbolic regression in deep learning for scientific discovery" (IEEE TNNLS, 2021):

1. fit without a penalty;
2. fit with ``penalty_strength * sum(L05(w))`` added to the loss, over every weight and bias;
3. set every weight and bias with ``|w| < threshold`` to zero, freeze those zeros with a
   mask, and fine-tune the remaining weights without the penalty.

``L05`` is the smoothed L0.5 norm: ``|w| ** 0.5`` for ``|w| >= a`` and
``(-w**4 / (8 a**3) + 3 w**2 / (4 a) + 3 a / 8) ** 0.5`` below the smoothing width ``a``.
The two pieces meet with equal value and slope at ``|w| = a``, and the inner polynomial is
at least ``3 a / 8`` so the gradient stays finite at 0.

A trained model unrolls to one sympy expression per output through :func:`fold_eql` and
:func:`hls4ml_symbolnet.export.to_sympy`, and becomes a SymbolNet model with every pruning
threshold at 0 through :func:`to_symbolnet`, which the SymbolNet firmware converter accepts.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from hls4ml_symbolnet import operators
from hls4ml_symbolnet.layers.symbolic import DEFAULT_BINARY, DEFAULT_UNARY
from hls4ml_symbolnet.model import check_array, summed_squared_error
from hls4ml_symbolnet.network import FoldedLinear, FoldedNetwork, FoldedSymbolicLayer

__all__ = [
    "DEFAULT_SMOOTHING",
    "EQLHistory",
    "EQLLayer",
    "EQLModel",
    "MaskedDense",
    "apply_threshold",
    "build_eql",
    "eql_to_sympy",
    "fold_eql",
    "smoothed_l05",
    "smoothed_l05_numpy",
    "to_symbolnet",
    "train_eql",
]

logger = logging.getLogger(__name__)

DEFAULT_SMOOTHING = 0.01
"""Default smoothing width ``a`` of the L0.5 penalty."""


def _check_positive_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"`{name}` must be a number. Received: {name}={value!r}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be a finite number > 0. Received: {name}={value!r}")
    return float(value)


def _check_non_negative_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"`{name}` must be a number. Received: {name}={value!r}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"`{name}` must be a finite number >= 0. Received: {name}={value!r}")
    return float(value)


def smoothed_l05(values, smoothing: float = DEFAULT_SMOOTHING):
    """Return the smoothed L0.5 norm of a tensor, summed over its elements (Keras ops)."""
    a = smoothing
    magnitude = ops.abs(values)
    # Each branch of the `where` gets an argument clipped to its own domain, because the gradient
    # of the unused branch is still computed: unclipped, the polynomial is negative for large |w|
    # (NaN after the square root) and sqrt(|w|) has an infinite slope at 0.
    small = ops.clip(values, -a, a)
    inner = -(small**4) / (8.0 * a**3) + 3.0 * small**2 / (4.0 * a) + 3.0 * a / 8.0
    outer = ops.sqrt(ops.maximum(magnitude, a))
    return ops.sum(ops.where(magnitude < a, ops.sqrt(inner), outer))


def smoothed_l05_numpy(values: np.ndarray, smoothing: float = DEFAULT_SMOOTHING) -> np.ndarray:
    """Return the element-wise smoothed L0.5 norm in float64 numpy (not summed)."""
    a = float(smoothing)
    w = np.asarray(values, dtype=np.float64)
    small = np.clip(w, -a, a)
    inner = -(small**4) / (8.0 * a**3) + 3.0 * small**2 / (4.0 * a) + 3.0 * a / 8.0
    return np.where(np.abs(w) < a, np.sqrt(inner), np.sqrt(np.abs(w)))


def _group_nodes(names: Sequence[str]) -> tuple[list[tuple[str, np.ndarray]], np.ndarray]:
    """Return ``[(operator, node indices)]`` and the permutation that restores node order."""
    groups = [
        (name, np.array([i for i, other in enumerate(names) if other == name], dtype="int32"))
        for name in dict.fromkeys(names)
    ]
    order = np.concatenate([indices for _, indices in groups]) if groups else np.zeros(0, "int32")
    return groups, np.argsort(order).astype("int32")


class _MaskedLinearMixin:
    """Kernel and bias with non-trainable 0/1 masks; a masked entry is frozen at zero."""

    def _build_linear(self, n_in: int, n_out: int) -> None:
        self.kernel = self.add_weight(name="kernel", shape=(n_in, n_out), initializer=self.kernel_initializer)
        self.bias = self.add_weight(name="bias", shape=(n_out,), initializer="zeros")
        self.kernel_mask = self.add_weight(
            name="kernel_mask", shape=(n_in, n_out), initializer="ones", trainable=False
        )
        self.bias_mask = self.add_weight(
            name="bias_mask", shape=(n_out,), initializer="ones", trainable=False
        )

    def _linear(self, inputs):
        return ops.matmul(inputs, self.kernel * self.kernel_mask) + self.bias * self.bias_mask

    def penalized_weights(self) -> list:
        """Return the masked kernel and bias, the tensors the L0.5 penalty acts on."""
        return [self.kernel * self.kernel_mask, self.bias * self.bias_mask]

    def apply_threshold(self, threshold: float) -> tuple[int, int]:
        """Mask and zero every kernel and bias entry with ``|w| < threshold``.

        Returns:
            ``(pruned, total)``: entries masked after this call, and all entries.
        """
        pruned = total = 0
        for weight, mask in ((self.kernel, self.kernel_mask), (self.bias, self.bias_mask)):
            values = ops.convert_to_numpy(weight)
            keep = ops.convert_to_numpy(mask) * (np.abs(values) >= threshold)
            mask.assign(keep.astype("float32"))
            weight.assign((values * keep).astype("float32"))
            pruned += int(keep.size - keep.sum())
            total += int(keep.size)
        return pruned, total

    def folded_linear(self) -> FoldedLinear:
        """Return the masked kernel and bias in float64, masked entries exactly zero."""
        kernel = ops.convert_to_numpy(self.kernel) * ops.convert_to_numpy(self.kernel_mask)
        bias = ops.convert_to_numpy(self.bias) * ops.convert_to_numpy(self.bias_mask)
        return FoldedLinear(kernel=kernel.astype(np.float64), bias=bias.astype(np.float64))


@keras.saving.register_keras_serializable(package="symbolnet_eql")
class EQLLayer(_MaskedLinearMixin, keras.layers.Layer):
    """Equation-learner layer: ``z = x @ (W * M) + b * m``, then operator units.

    Unary unit ``k`` computes ``f_k(z_k)``; binary unit ``j`` computes
    ``g_j(z[n_unary + 2j], z[n_unary + 2j + 1])``, with operators from
    :mod:`hls4ml_symbolnet.operators` assigned cyclically, as in SymbolNet's
    ``SymbolicLayer``. ``M`` and ``m`` are non-trainable 0/1 masks set by
    :meth:`apply_threshold`; they are all ones until then.

    Args:
        n_unary: number of unary units, >= 0.
        n_binary: number of binary units, >= 0; ``n_unary + n_binary`` must be >= 1.
        unary_operators: unary operator names, ``("sin", "cos", "exp", "gauss")`` by default.
        binary_operators: binary operator names, ``("mul",)`` by default.
        kernel_initializer: initializer of ``W``, Glorot normal by default. Biases start at 0.

    Input shape:
        ``(batch, n_in)``.

    Output shape:
        ``(batch, n_unary + n_binary)``.
    """

    def __init__(
        self,
        n_unary: int,
        n_binary: int,
        unary_operators: Sequence[str] = DEFAULT_UNARY,
        binary_operators: Sequence[str] = DEFAULT_BINARY,
        kernel_initializer="glorot_normal",
        **kwargs,
    ):
        for value, name in ((n_unary, "n_unary"), (n_binary, "n_binary")):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"`{name}` must be an integer >= 0. Received: {name}={value!r}")
        if n_unary + n_binary == 0:
            raise ValueError("An EQL layer needs at least one unit. Received: n_unary=0, n_binary=0")
        super().__init__(**kwargs)
        self.n_unary = int(n_unary)
        self.n_binary = int(n_binary)
        self.unary_operators = operators.resolve_unary_names(unary_operators) if n_unary else ()
        self.binary_operators = operators.resolve_binary_names(binary_operators) if n_binary else ()
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.unary_node_operators = tuple(
            self.unary_operators[k % len(self.unary_operators)] for k in range(self.n_unary)
        )
        self.binary_node_operators = tuple(
            self.binary_operators[j % len(self.binary_operators)] for j in range(self.n_binary)
        )
        self._unary_groups, self._unary_order = _group_nodes(self.unary_node_operators)
        self._binary_groups, self._binary_order = _group_nodes(self.binary_node_operators)

    @property
    def n_linear(self) -> int:
        """Width of the linear transform, ``n_unary + 2 * n_binary``."""
        return self.n_unary + 2 * self.n_binary

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"`EQLLayer` needs a known input width. Received: input_shape={input_shape}")
        self._build_linear(int(input_shape[-1]), self.n_linear)

    def call(self, inputs):
        z = self._linear(inputs)
        outputs = []
        if self.n_unary:
            pieces = [
                operators.UNARY_OPERATORS[name].keras_fn(ops.take(z, indices, axis=1))
                for name, indices in self._unary_groups
            ]
            outputs.append(ops.take(ops.concatenate(pieces, axis=1), self._unary_order, axis=1))
        if self.n_binary:
            left = z[:, self.n_unary :: 2]
            right = z[:, self.n_unary + 1 :: 2]
            pieces = [
                operators.BINARY_OPERATORS[name].keras_fn(
                    ops.take(left, indices, axis=1), ops.take(right, indices, axis=1)
                )
                for name, indices in self._binary_groups
            ]
            outputs.append(ops.take(ops.concatenate(pieces, axis=1), self._binary_order, axis=1))
        return outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, axis=1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.n_unary + self.n_binary)

    def get_config(self):
        return {
            **super().get_config(),
            "n_unary": self.n_unary,
            "n_binary": self.n_binary,
            "unary_operators": list(self.unary_operators),
            "binary_operators": list(self.binary_operators),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package="symbolnet_eql")
class MaskedDense(_MaskedLinearMixin, keras.layers.Layer):
    """Linear output layer ``x @ (W * M) + b * m`` with the masks of :class:`EQLLayer`.

    Args:
        units: number of outputs, >= 1.
        kernel_initializer: initializer of ``W``, Glorot normal by default. Biases start at 0.
    """

    def __init__(self, units: int, kernel_initializer="glorot_normal", **kwargs):
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"`units` must be an integer >= 1. Received: units={units!r}")
        super().__init__(**kwargs)
        self.units = int(units)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"`MaskedDense` needs a known input width. Received: input_shape={input_shape}")
        self._build_linear(int(input_shape[-1]), self.units)

    def call(self, inputs):
        return self._linear(inputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package="symbolnet_eql")
class EQLModel(keras.Model):
    """Functional EQL model whose loss adds ``penalty_strength * sum(L05(w))``.

    The base loss is the compiled loss, or :func:`hls4ml_symbolnet.model.summed_squared_error`
    against one-hot targets when ``compile`` gets none (the loss SymbolNet uses).
    ``penalty_strength`` is a non-trainable variable, so :func:`train_eql` switches the
    penalty on and off between phases without rebuilding the model. ``fit`` logs
    ``base_loss`` and ``l05`` (the unweighted penalty), averaged over the epoch.

    Args:
        smoothing: smoothing width ``a`` of the L0.5 penalty, :data:`DEFAULT_SMOOTHING`.
    """

    def __init__(self, *args, smoothing: float = DEFAULT_SMOOTHING, **kwargs):
        smoothing = _check_positive_number(smoothing, "smoothing")
        super().__init__(*args, **kwargs)
        self.smoothing = smoothing
        self.penalty_strength = keras.Variable(0.0, trainable=False, name="penalty_strength")
        self.base_loss_tracker = keras.metrics.Mean(name="base_loss")
        self.l05_tracker = keras.metrics.Mean(name="l05")

    @property
    def metrics(self):
        return super().metrics + [self.base_loss_tracker, self.l05_tracker]

    def masked_layers(self) -> list:
        """Return the :class:`EQLLayer` and :class:`MaskedDense` layers, input to output."""
        return [layer for layer in self.layers if isinstance(layer, _MaskedLinearMixin)]

    def l05_penalty(self):
        """Return the smoothed L0.5 norm summed over every masked weight and bias."""
        total = 0.0
        for layer in self.masked_layers():
            for tensor in layer.penalized_weights():
                total = total + smoothed_l05(tensor, self.smoothing)
        return total

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if self._compile_loss is None:
            base_loss = ops.mean(summed_squared_error(y, y_pred))
        else:
            base_loss = super().compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training
            )
        penalty = self.l05_penalty()
        self.base_loss_tracker.update_state(base_loss)
        self.l05_tracker.update_state(penalty)
        return base_loss + self.penalty_strength * penalty

    def weight_sparsity(self) -> float:
        """Fraction of kernel and bias entries that are masked or exactly zero."""
        zero = total = 0
        for layer in self.masked_layers():
            folded = layer.folded_linear()
            zero += int((folded.kernel == 0).sum() + (folded.bias == 0).sum())
            total += int(folded.kernel.size + folded.bias.size)
        return zero / total if total else 0.0

    def get_config(self):
        config = super().get_config()
        config["smoothing"] = self.smoothing
        return config


def build_eql(
    n_inputs: int,
    n_outputs: int,
    hidden: Sequence[tuple[int, int]] = ((20, 5),),
    unary_operators: Sequence[str] = DEFAULT_UNARY,
    binary_operators: Sequence[str] = DEFAULT_BINARY,
    smoothing: float = DEFAULT_SMOOTHING,
    seed: int | None = None,
    name: str = "eql",
) -> EQLModel:
    """Build an uncompiled EQL model: input, one :class:`EQLLayer` per ``hidden`` pair, output.

    Args:
        n_inputs: number of input features.
        n_outputs: number of outputs; each becomes one expression.
        hidden: one ``(n_unary, n_binary)`` pair per EQL layer, ``[(20, 5)]`` by default.
        unary_operators: unary operator names, assigned cyclically to the units of every layer.
        binary_operators: binary operator names, assigned the same way.
        smoothing: smoothing width ``a`` of the L0.5 penalty.
        seed: seed of the weight initializers.
        name: model name; it prefixes the layer names.
    """
    for value, argument in ((n_inputs, "n_inputs"), (n_outputs, "n_outputs")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"`{argument}` must be an integer >= 1. Received: {argument}={value!r}")
    try:
        pairs = [tuple(pair) for pair in hidden]
    except TypeError:
        raise TypeError(
            "`hidden` must be a list of (n_unary, n_binary) pairs, e.g. [(20, 5)]. "
            f"Received: hidden={hidden!r}"
        ) from None
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"Each `hidden` entry must be (n_unary, n_binary). Received: hidden={hidden!r}")

    def initializer(offset: int):
        return keras.initializers.GlorotNormal(seed=None if seed is None else seed + offset)

    inputs = keras.Input(shape=(int(n_inputs),), name=f"{name}_input")
    h = inputs
    for index, (n_unary, n_binary) in enumerate(pairs):
        h = EQLLayer(
            n_unary,
            n_binary,
            unary_operators=unary_operators,
            binary_operators=binary_operators,
            kernel_initializer=initializer(index),
            name=f"{name}_layer_{index}",
        )(h)
    outputs = MaskedDense(int(n_outputs), kernel_initializer=initializer(1000), name=f"{name}_output")(h)
    return EQLModel(inputs, outputs, smoothing=smoothing, name=name)


@dataclasses.dataclass
class EQLHistory:
    """Keras history of each training phase, and the pruning done by the hard threshold.

    Attributes:
        phases: ``{"no_penalty": ..., "penalty": ..., "fine_tune": ...}``, each the Keras
            ``History.history`` dict of that phase (empty for a phase run for 0 epochs).
        pruned: kernel and bias entries masked by the threshold in phase 3.
        total: all kernel and bias entries.
    """

    phases: dict[str, dict[str, list[float]]]
    pruned: int
    total: int


def apply_threshold(model: EQLModel, threshold: float) -> tuple[int, int]:
    """Mask and zero every weight and bias with ``|w| < threshold`` in every layer of ``model``.

    Returns:
        ``(pruned, total)`` over all layers; masks set earlier stay set.
    """
    threshold = _check_non_negative_number(threshold, "threshold")
    pruned = total = 0
    for layer in model.masked_layers():
        layer_pruned, layer_total = layer.apply_threshold(threshold)
        pruned += layer_pruned
        total += layer_total
    return pruned, total


def train_eql(
    model: EQLModel,
    x: np.ndarray,
    y: np.ndarray,
    *,
    penalty_strength: float,
    threshold: float,
    phase_epochs: tuple[int, int, int] = (10, 30, 10),
    batch_size: int = 256,
    learning_rate: float = 0.005,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    verbose: int = 0,
) -> EQLHistory:
    """Train an EQL model in the three phases: no penalty, L0.5 penalty, threshold and fine-tune.

    Each phase compiles the model with a new Adam optimizer and, unless the model was compiled
    with a loss before, the summed squared error against ``y``.

    Args:
        model: a model from :func:`build_eql`.
        x: inputs, shape ``(n_samples, n_inputs)``.
        y: targets, shape ``(n_samples, n_outputs)`` (one-hot rows for classification).
        penalty_strength: weight ``lambda`` of the L0.5 penalty in phase 2, >= 0.
        threshold: magnitude below which weights and biases are set to zero and frozen
            before phase 3, >= 0.
        phase_epochs: epochs of phases 1, 2 and 3; each may be 0.
        batch_size: training batch size.
        learning_rate: Adam learning rate of every phase.
        validation_data: optional ``(x_val, y_val)``.
        verbose: Keras ``fit`` verbosity.

    Returns:
        An :class:`EQLHistory`.
    """
    if not isinstance(model, EQLModel):
        raise TypeError(f"`model` must be an EQLModel from build_eql(). Received: {type(model).__name__}")
    penalty_strength = _check_non_negative_number(penalty_strength, "penalty_strength")
    threshold = _check_non_negative_number(threshold, "threshold")
    learning_rate = _check_positive_number(learning_rate, "learning_rate")
    phase_epochs = tuple(phase_epochs)
    if len(phase_epochs) != 3 or any(
        isinstance(e, bool) or not isinstance(e, (int, np.integer)) or e < 0 for e in phase_epochs
    ):
        raise ValueError(
            "`phase_epochs` must be three integers >= 0 (no penalty, penalty, fine-tune). "
            f"Received: phase_epochs={phase_epochs!r}"
        )
    width_in = int(model.inputs[0].shape[-1])
    width_out = int(model.outputs[0].shape[-1])
    x = check_array(x, "x", width_in)
    y = check_array(y, "y", width_out)
    if len(x) != len(y):
        raise ValueError(f"`x` has {len(x)} rows but `y` has {len(y)}.")
    if validation_data is not None:
        validation_data = (
            check_array(validation_data[0], "validation x", width_in),
            check_array(validation_data[1], "validation y", width_out),
        )
    loss = getattr(model, "loss", None) if model.compiled else None

    def run_phase(name: str, epochs: int, strength: float) -> dict[str, list[float]]:
        if epochs == 0:
            return {}
        model.penalty_strength.assign(strength)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
        history = model.fit(
            x,
            y,
            validation_data=validation_data,
            epochs=int(epochs),
            batch_size=batch_size,
            verbose=verbose,
        )
        logger.info(
            "EQL phase %s: %d epochs, final base loss %.4g, L0.5 %.4g",
            name,
            epochs,
            history.history["base_loss"][-1],
            history.history["l05"][-1],
        )
        return history.history

    phases = {"no_penalty": run_phase("no_penalty", phase_epochs[0], 0.0)}
    phases["penalty"] = run_phase("penalty", phase_epochs[1], penalty_strength)
    pruned, total = apply_threshold(model, threshold)
    logger.info("EQL hard threshold %.3g: %d of %d weights and biases set to zero", threshold, pruned, total)
    # A masked entry gets a zero gradient, and each phase starts a new Adam optimizer with zero
    # moments, so fine-tuning leaves the masked entries at exactly zero.
    phases["fine_tune"] = run_phase("fine_tune", phase_epochs[2], 0.0)
    return EQLHistory(phases=phases, pruned=pruned, total=total)


def fold_eql(model: EQLModel) -> FoldedNetwork:
    """Return the trained EQL model as a :class:`FoldedNetwork`, masked entries exactly zero.

    The result feeds :func:`hls4ml_symbolnet.export.to_sympy` and the numpy reference
    :meth:`FoldedNetwork.evaluate`. Every input is kept (EQL has no input pruning) and every
    unit keeps its operator.
    """
    if not isinstance(model, EQLModel):
        raise TypeError(f"`model` must be an EQLModel from build_eql(). Received: {type(model).__name__}")
    layers = model.masked_layers()
    hidden = [
        FoldedSymbolicLayer(
            name=layer.name,
            linear=layer.folded_linear(),
            unary=layer.unary_node_operators,
            binary=layer.binary_node_operators,
        )
        for layer in layers[:-1]
    ]
    n_inputs = int(model.inputs[0].shape[-1])
    return FoldedNetwork(
        n_inputs=n_inputs,
        input_mask=np.ones(n_inputs, dtype=bool),
        layers=tuple(hidden),
        output=layers[-1].folded_linear(),
        input_layer_name=None,
        output_layer_name=layers[-1].name,
    )


def eql_to_sympy(model: EQLModel) -> list:
    """Unroll a trained EQL model into one sympy expression per output, in ``x0 ... x{n-1}``."""
    from hls4ml_symbolnet.export import to_sympy

    return to_sympy(fold_eql(model))


def to_symbolnet(model: EQLModel, name: str | None = None):
    """Copy a trained EQL model into a SymbolNet model that computes the same function.

    The SymbolNet model has the same layer sizes and operator assignment, no input pruning,
    and every pruning threshold at 0. A SymbolNet weight is pruned when ``|w| <= threshold``,
    so exactly the zero (masked) EQL weights are pruned and every operator stays active.
    Its purpose is firmware: :func:`hls4ml_symbolnet.converters.convert_from_symbolnet` and
    the hardware flow accept it. Do not train it further, because its thresholds would move.
    """
    from hls4ml_symbolnet.model import build_symbolnet

    folded = fold_eql(model)
    eql_layers = model.masked_layers()
    hidden = [(layer.n_unary, layer.n_binary) for layer in eql_layers[:-1]]
    unary = next((layer.unary_operators for layer in eql_layers[:-1] if layer.n_unary), DEFAULT_UNARY)
    binary = next((layer.binary_operators for layer in eql_layers[:-1] if layer.n_binary), DEFAULT_BINARY)
    for layer in eql_layers[:-1]:
        if (layer.n_unary and layer.unary_operators != unary) or (
            layer.n_binary and layer.binary_operators != binary
        ):
            raise NotImplementedError(
                f"EQL layer {layer.name!r} uses operators {layer.unary_operators + layer.binary_operators}, "
                f"unlike the first layer ({unary + binary}); SymbolNet models use one operator list for "
                "every layer."
            )
    symbolnet = build_symbolnet(
        folded.n_inputs,
        folded.n_outputs,
        hidden=hidden,
        unary_operators=unary,
        binary_operators=binary,
        input_pruning=False,
        name=name or f"{model.name}_as_symbolnet",
    )
    targets = [layer for layer in symbolnet.layers if hasattr(layer, "kernel_threshold")]
    sources = list(folded.layers) + [None]
    for target, source in zip(targets, sources):
        linear = folded.output if source is None else source.linear
        target.kernel.assign(linear.kernel.astype("float32"))
        target.bias.assign(linear.bias.astype("float32"))
    return symbolnet
