"""Multi-objective Optuna scans of SymbolNet hyperparameters, with Pareto fronts as JSON and PNG.

Run from the command line with `python -m hls4ml_symbolnet.scan run ...` (see `cli`), or call
`run_scan` / `run_worker`. Needs the `scan` extra (Optuna).
"""

from hls4ml_symbolnet.scan.data import DATASETS, DatasetSpec
from hls4ml_symbolnet.scan.objective import TrialResult, score_outputs, train_trial
from hls4ml_symbolnet.scan.runner import (
    default_storage,
    open_study,
    pareto_front,
    run_scan,
    run_worker,
    write_pareto_front,
)
from hls4ml_symbolnet.scan.space import LOSSES, LR_SCHEDULES, SearchSpace, TrialConfig, default_space

__all__ = [
    "DATASETS",
    "DatasetSpec",
    "LOSSES",
    "LR_SCHEDULES",
    "SearchSpace",
    "TrialConfig",
    "TrialResult",
    "default_space",
    "default_storage",
    "open_study",
    "pareto_front",
    "run_scan",
    "run_worker",
    "score_outputs",
    "train_trial",
    "write_pareto_front",
]
