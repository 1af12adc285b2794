"""Search space of a SymbolNet scan: layers, operator counts, target sparsities, learning rate."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from hls4ml_symbolnet import operators
from hls4ml_symbolnet.layers._pruning import THRESHOLD_KINDS

__all__ = ["LOSSES", "SearchSpace", "TrialConfig", "default_space"]

LOSSES = ("mse", "crossentropy")
LR_SCHEDULES = ("constant", "cosine")
"""Learning-rate schedules: fixed, or cosine decay to 0 over the training steps."""
"""Training losses: summed squared error against the targets, or cross-entropy on the outputs as logits."""


@dataclasses.dataclass(frozen=True)
class TrialConfig:
    """Hyperparameters of one trial, as drawn from a `SearchSpace`."""

    hidden: tuple[tuple[int, int], ...]
    unary_operators: tuple[str, ...]
    binary_operators: tuple[str, ...]
    target_sparsity: dict[str, float]
    decay_rate: dict[str, float]
    learning_rate: float
    epochs: int
    batch_size: int
    loss: str = "mse"
    lr_schedule: str = "constant"

    def as_dict(self) -> dict[str, Any]:
        """Return the config as JSON-ready built-in types."""
        return {
            "hidden": [list(pair) for pair in self.hidden],
            "unary_operators": list(self.unary_operators),
            "binary_operators": list(self.binary_operators),
            "target_sparsity": dict(self.target_sparsity),
            "decay_rate": dict(self.decay_rate),
            "learning_rate": self.learning_rate,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "loss": self.loss,
            "lr_schedule": self.lr_schedule,
        }


def _check_range(name: str, value, kind: type, lower: float, upper: float) -> tuple:
    """Validate an inclusive `(low, high)` range of `kind` inside `[lower, upper]`."""
    message = (
        f"`{name}` must be a (low, high) pair of {kind.__name__}s with {lower} <= low <= high <= {upper}. "
        f"Received: {name}={value!r}"
    )
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(message)
    low, high = value
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, (int, float) if kind is float else int):
            raise ValueError(message)
        if not math.isfinite(bound):
            raise ValueError(message)
    if not lower <= low <= high <= upper:
        raise ValueError(message)
    return (kind(low), kind(high))


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """Ranges that a scan draws each trial's hyperparameters from.

    Every range is an inclusive `(low, high)` pair; equal bounds fix the value. Each symbolic layer
    draws its own unary and binary node counts. Operators are fixed lists, assigned cyclically to
    the nodes as in `build_symbolnet`. The target sparsity of weights is drawn on a log scale of
    `1 - target`, so 0.9, 0.99 and 0.999 are equally likely to be approached.

    Attributes:
        layers: number of symbolic layers.
        n_unary: unary nodes per layer.
        n_binary: binary nodes per layer.
        unary_operators: names from `hls4ml_symbolnet.operators.UNARY_OPERATORS`.
        binary_operators: names from `hls4ml_symbolnet.operators.BINARY_OPERATORS`.
        target_weight, target_input, target_unary, target_binary: target pruned fraction of
            each threshold kind, each in [0, 1).
        decay_weight: exponent `d` of the weight regulariser's decay factor, drawn on a log scale.
            0.01 is the SymbolNet default; larger values ease the pull off earlier, so the pruned
            fraction lands below the target but training is steadier.
        decay_gate: the same exponent for the input, unary and binary gates.
        learning_rate: Adam learning rate, drawn on a log scale.
        epochs: training epochs of every trial.
        batch_size: training batch size of every trial.
        loss: `mse` (summed squared error, as in SymbolNet) or `crossentropy` (softmax
            cross-entropy, or sigmoid for one output, on the outputs as logits).
        lr_schedule: `constant`, or `cosine` decay of the learning rate to 0 over training.
    """

    layers: tuple[int, int] = (1, 2)
    n_unary: tuple[int, int] = (4, 24)
    n_binary: tuple[int, int] = (0, 6)
    unary_operators: tuple[str, ...] = ("sin", "cos", "exp", "gauss")
    binary_operators: tuple[str, ...] = ("mul",)
    target_weight: tuple[float, float] = (0.9, 0.995)
    target_input: tuple[float, float] = (0.5, 0.95)
    target_unary: tuple[float, float] = (0.1, 0.7)
    target_binary: tuple[float, float] = (0.1, 0.7)
    decay_weight: tuple[float, float] = (0.01, 0.01)
    decay_gate: tuple[float, float] = (0.01, 0.01)
    learning_rate: tuple[float, float] = (0.002, 0.01)
    epochs: int = 30
    batch_size: int = 256
    loss: str = "mse"
    lr_schedule: str = "constant"

    def __post_init__(self):
        set_field = object.__setattr__
        set_field(self, "layers", _check_range("layers", self.layers, int, 1, 8))
        set_field(self, "n_unary", _check_range("n_unary", self.n_unary, int, 0, 10_000))
        set_field(self, "n_binary", _check_range("n_binary", self.n_binary, int, 0, 10_000))
        if self.n_unary[1] + self.n_binary[1] < 1:
            raise ValueError(
                "`n_unary` and `n_binary` both allow only 0 nodes; a layer needs at least one node."
            )
        set_field(
            self,
            "unary_operators",
            operators.resolve_unary_names(self.unary_operators, argument="unary_operators"),
        )
        set_field(
            self,
            "binary_operators",
            operators.resolve_binary_names(self.binary_operators, argument="binary_operators"),
        )
        for kind in THRESHOLD_KINDS:
            name = f"target_{kind}"
            set_field(self, name, _check_range(name, getattr(self, name), float, 0.0, 0.9999))
        for name in ("decay_weight", "decay_gate"):
            set_field(self, name, _check_range(name, getattr(self, name), float, 1e-4, 10.0))
        set_field(self, "learning_rate", _check_range("learning_rate", self.learning_rate, float, 1e-6, 1.0))
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"`loss` must be one of {list(LOSSES)}. Received: loss={self.loss!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"`lr_schedule` must be one of {list(LR_SCHEDULES)}. "
                f"Received: lr_schedule={self.lr_schedule!r}"
            )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> SearchSpace:
        """Build a space from a mapping such as one written by `as_dict`; missing keys keep defaults."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown search space keys {unknown}. Known keys: {sorted(known)}")
        converted = {key: tuple(value) if isinstance(value, list) else value for key, value in values.items()}
        return cls(**converted)

    def as_dict(self) -> dict[str, Any]:
        """Return the space as JSON-ready built-in types."""
        return {
            field.name: list(value) if isinstance(value, tuple) else value
            for field in dataclasses.fields(self)
            for value in [getattr(self, field.name)]
        }

    def suggest(self, trial) -> TrialConfig:
        """Draw one trial's hyperparameters through an Optuna `trial`.

        Parameter names are stable (`layers`, `n_unary_0`, `target_weight`, ...), so a trial that
        Optuna re-queues after a crash gets its parameters back.
        """
        n_layers = _suggest_int(trial, "layers", self.layers)
        hidden = []
        for index in range(n_layers):
            n_unary = _suggest_int(trial, f"n_unary_{index}", self.n_unary)
            n_binary = _suggest_int(trial, f"n_binary_{index}", self.n_binary)
            if n_unary + n_binary == 0:
                # A layer without nodes cannot be built; one unary node is the smallest layer.
                n_unary = 1
            hidden.append((n_unary, n_binary))

        targets = {}
        low, high = self.target_weight
        if low == high:
            targets["weight"] = low
        else:
            # Draw the kept fraction 1 - target on a log scale.
            kept_fraction = trial.suggest_float("kept_weight_fraction", 1.0 - high, 1.0 - low, log=True)
            targets["weight"] = 1.0 - kept_fraction
        for kind in ("input", "unary", "binary"):
            targets[kind] = _suggest_float(trial, f"target_{kind}", getattr(self, f"target_{kind}"))

        return TrialConfig(
            hidden=tuple(hidden),
            unary_operators=self.unary_operators,
            binary_operators=self.binary_operators,
            target_sparsity=targets,
            decay_rate=_decay_rates(trial, self.decay_weight, self.decay_gate),
            learning_rate=_suggest_float(trial, "learning_rate", self.learning_rate, log=True),
            epochs=self.epochs,
            batch_size=self.batch_size,
            loss=self.loss,
            lr_schedule=self.lr_schedule,
        )


def _decay_rates(trial, weight: tuple[float, float], gate: tuple[float, float]) -> dict[str, float]:
    weight_rate = _suggest_float(trial, "decay_weight", weight, log=True)
    gate_rate = _suggest_float(trial, "decay_gate", gate, log=True)
    return {"weight": weight_rate, "input": gate_rate, "unary": gate_rate, "binary": gate_rate}


def _suggest_int(trial, name: str, bounds: tuple[int, int]) -> int:
    low, high = bounds
    return low if low == high else trial.suggest_int(name, low, high)


def _suggest_float(trial, name: str, bounds: tuple[float, float], log: bool = False) -> float:
    low, high = bounds
    return low if low == high else trial.suggest_float(name, low, high, log=log)


def default_space(dataset: str) -> SearchSpace:
    """Return the default search space for a data set name (`mnist`, `jets` or `svhn`).

    Image inputs (784 or 3,072 pixels) get one symbolic layer and high weight targets, because a
    second layer composes every first-layer expression into each output and the expressions grow
    quickly. The 16 jet features allow one or two layers and use the training settings of the jets
    example: its operators, cross-entropy, a cosine learning-rate decay and soft decay factors.
    """
    if dataset == "jets":
        return SearchSpace(
            layers=(1, 2),
            n_unary=(6, 24),
            n_binary=(0, 6),
            unary_operators=("sin", "gauss", "tanh", "square"),
            target_weight=(0.93, 0.99),
            target_input=(0.4, 0.8),
            decay_weight=(0.05, 0.3),
            decay_gate=(0.3, 0.3),
            learning_rate=(0.002, 0.005),
            epochs=150,
            batch_size=1024,
            loss="crossentropy",
            lr_schedule="cosine",
        )
    if dataset in ("mnist", "svhn"):
        return SearchSpace(
            layers=(1, 1),
            n_unary=(5, 30),
            n_binary=(0, 8),
            target_weight=(0.95, 0.998),
            target_input=(0.5, 0.95),
            learning_rate=(0.002, 0.01),
            epochs=30,
            batch_size=256,
        )
    raise ValueError(f"No default search space for data set {dataset!r}; expected mnist, jets or svhn.")
