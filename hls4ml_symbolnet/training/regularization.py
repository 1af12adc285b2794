"""Self-adaptive sparsity regularisation.

For each threshold kind ``k`` (weights including biases, inputs, unary and binary
operators) the penalty is ``D_k * R_k`` with

* ``R_weight = L * mean(exp(-t))`` over every weight and bias threshold of the model,
* ``R_k = L * exp(-mean(t_k))`` for the inputs, unary and binary gates,
* ``D_k = exp(1 - (s_t / (s_t - min(s_k, s_t))) ** d)``, the decay factor, where
  ``s_k`` is the fraction of kind ``k`` pruned right now and ``s_t`` its target.

``D_k`` is 1 at ``s_k = 0``, falls slowly with ``d = 0.01`` and is exactly 0 once
``s_k >= s_t``, so the pull towards sparsity switches itself off at the target.
``L`` is the base loss of the batch; gradients flow through it in ``R_k`` as well.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np
from keras import ops

from hls4ml_symbolnet.layers._pruning import THRESHOLD_KINDS, PruningTerm

__all__ = [
    "DEFAULT_DECAY_RATE",
    "SparsityTargets",
    "decay_factor",
    "decay_factor_numpy",
    "resolve_decay_rates",
    "sparsity_penalty",
]

DEFAULT_DECAY_RATE = 0.01


@dataclasses.dataclass(frozen=True)
class SparsityTargets:
    """Target pruned fraction for each threshold kind, each in ``[0, 1)``.

    The defaults are those of the public SymbolNet reference notebook. A target of 0
    turns the regulariser off for that kind.
    """

    weight: float = 0.99
    input: float = 0.95
    unary: float = 0.4
    binary: float = 0.4

    def __post_init__(self):
        for kind in THRESHOLD_KINDS:
            value = getattr(self, kind)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
                raise TypeError(f"Target sparsity `{kind}` must be a number. Received: {kind}={value!r}")
            if not (0.0 <= float(value) < 1.0) or math.isnan(float(value)):
                raise ValueError(
                    f"Target sparsity `{kind}` must be in [0, 1). Received: {kind}={value}. "
                    "Use a value below 1, for example 0.99; a target of 1 would prune everything."
                )

    @classmethod
    def from_value(cls, value) -> SparsityTargets:
        """Build from None (defaults), a SparsityTargets, or a mapping of kind to target."""
        if value is None:
            return cls()
        if isinstance(value, SparsityTargets):
            return value
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - set(THRESHOLD_KINDS))
            if unknown:
                raise ValueError(
                    f"Unknown target sparsity kind(s) {unknown}. Known kinds: {list(THRESHOLD_KINDS)}"
                )
            return cls(**{k: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                          for k, v in value.items()})
        raise TypeError(
            "`target_sparsity` must be None, a SparsityTargets or a dict such as "
            f"{{'weight': 0.99, 'input': 0.95, 'unary': 0.4, 'binary': 0.4}}. Received: {value!r}"
        )

    def as_dict(self) -> dict[str, float]:
        return {kind: float(getattr(self, kind)) for kind in THRESHOLD_KINDS}


def decay_factor(sparsity, target: float, decay_rate: float = DEFAULT_DECAY_RATE):
    """Return ``exp(1 - (s_t / (s_t - min(s, s_t))) ** d)``, exactly 0 once ``s >= s_t``.

    The gap ``s_t - min(s, s_t)`` is replaced by 1 where it is 0 before the division,
    and that branch is then discarded, so no ``inf`` or ``NaN`` appears even in the
    gradient of a ``where``.
    """
    sparsity = ops.convert_to_tensor(sparsity, dtype="float32")
    gap = target - ops.minimum(sparsity, target)
    open_gap = ops.greater(gap, 0.0)
    safe_gap = ops.where(open_gap, gap, 1.0)
    value = ops.exp(1.0 - ops.power(target / safe_gap, decay_rate))
    return ops.where(open_gap, value, 0.0)


def decay_factor_numpy(sparsity, target: float, decay_rate: float = DEFAULT_DECAY_RATE):
    """Numpy version of :func:`decay_factor` for reports and tests."""
    sparsity = np.asarray(sparsity, dtype=np.float64)
    gap = target - np.minimum(sparsity, target)
    safe_gap = np.where(gap > 0, gap, 1.0)
    return np.where(gap > 0, np.exp(1.0 - (target / safe_gap) ** decay_rate), 0.0)


def resolve_decay_rates(decay_rate) -> dict[str, float]:
    """Return one decay rate per threshold kind from a number or a mapping of kind to rate.

    A mapping may leave kinds out; they get :data:`DEFAULT_DECAY_RATE`.
    """
    if isinstance(decay_rate, Mapping):
        unknown = sorted(set(decay_rate) - set(THRESHOLD_KINDS))
        if unknown:
            raise ValueError(f"Unknown decay rate kind(s) {unknown}. Known kinds: {list(THRESHOLD_KINDS)}")
        rates = {kind: decay_rate.get(kind, DEFAULT_DECAY_RATE) for kind in THRESHOLD_KINDS}
    else:
        rates = {kind: decay_rate for kind in THRESHOLD_KINDS}
    for kind, rate in rates.items():
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
            raise ValueError(f"`decay_rate` must be a number > 0 for each kind. Received: {kind}={rate!r}")
    return {kind: float(rate) for kind, rate in rates.items()}


def _flat_sum(tensors):
    return ops.sum(ops.stack([ops.sum(t) for t in tensors]))


def sparsity_penalty(
    base_loss,
    terms: Sequence[PruningTerm],
    targets: SparsityTargets,
    decay_rate: float | Mapping[str, float] = DEFAULT_DECAY_RATE,
):
    """Compute ``sum_k D_k * R_k`` and per-kind diagnostics.

    ``decay_rate`` is the exponent ``d``, one number for every kind or a mapping of
    kind to number. A larger ``d`` lowers ``D_k`` well before the target, so the pull
    fades as the target comes near instead of stopping at once.

    Returns:
        ``(penalty, stats)`` where ``stats[kind]`` is a dict with the current
        ``sparsity``, ``mean_threshold`` and ``decay`` tensors. Kinds with no thresholds
        in the model (for example no binary nodes) are left out.
    """
    rates = resolve_decay_rates(decay_rate)
    penalty = ops.zeros((), dtype="float32")
    stats = {}
    for kind in THRESHOLD_KINDS:
        group = [term for term in terms if term.kind == kind]
        if not group:
            continue
        count = float(sum(int(np.prod(term.threshold.shape)) for term in group))
        if count == 0:
            continue
        thresholds = [ops.convert_to_tensor(term.threshold) for term in group]
        mean_threshold = _flat_sum(thresholds) / count
        sparsity = _flat_sum([1.0 - term.active for term in group]) / count
        target = float(getattr(targets, kind))
        decay = ops.stop_gradient(decay_factor(sparsity, target, rates[kind]))
        if kind == "weight":
            strength = _flat_sum([ops.exp(-t) for t in thresholds]) / count
        else:
            strength = ops.exp(-mean_threshold)
        penalty = penalty + decay * base_loss * strength
        stats[kind] = {"sparsity": sparsity, "mean_threshold": mean_threshold, "decay": decay}
    return penalty, stats
