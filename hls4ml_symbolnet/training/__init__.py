"""Training: the sparsity regulariser and callbacks."""

from hls4ml_symbolnet.training.callbacks import EpochTimer
from hls4ml_symbolnet.training.history import plot_training_history
from hls4ml_symbolnet.training.regularization import (
    DEFAULT_DECAY_RATE,
    SparsityTargets,
    decay_factor,
    decay_factor_numpy,
    sparsity_penalty,
)

__all__ = [
    "DEFAULT_DECAY_RATE",
    "EpochTimer",
    "SparsityTargets",
    "decay_factor",
    "decay_factor_numpy",
    "plot_training_history",
    "sparsity_penalty",
]
