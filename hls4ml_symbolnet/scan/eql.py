"""EQL reference points for the Pareto plot: a grid over penalty strength and hard threshold.

Each grid point trains the EQL baseline (`hls4ml_symbolnet.baselines.eql`) in its three phases on
the same split as the SymbolNet scan, and records the same score and complexity, so both methods
land on one plot through `--reference EQL=<file>`.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Sequence

import numpy as np

from hls4ml_symbolnet.datasets import DatasetSplits
from hls4ml_symbolnet.scan.data import DatasetSpec
from hls4ml_symbolnet.scan.objective import score_outputs

__all__ = ["eql_points"]

logger = logging.getLogger(__name__)


def eql_points(
    spec: DatasetSpec,
    data: DatasetSplits,
    penalties: Sequence[float],
    thresholds: Sequence[float],
    hidden: Sequence[tuple[int, int]] = ((20, 5),),
    unary_operators: Sequence[str] = ("sin", "cos", "exp", "gauss"),
    binary_operators: Sequence[str] = ("mul",),
    phase_epochs: tuple[int, int, int] = (10, 30, 10),
    batch_size: int = 256,
    learning_rate: float = 0.005,
    seed: int = 0,
) -> list[dict]:
    """Train EQL for every (penalty strength, threshold) pair and return one point per model.

    Returns:
        Points with `complexity` (mean over outputs), the spec's metric (`accuracy` or `auc`) on
        the validation split, `test_score`, the complexities per output and the grid values.
    """
    import keras

    from hls4ml_symbolnet.baselines.eql import build_eql, eql_to_sympy, train_eql
    from hls4ml_symbolnet.export import complexity

    if not penalties or not thresholds:
        raise ValueError(
            "`penalties` and `thresholds` need at least one value each. "
            f"Received: penalties={penalties!r}, thresholds={thresholds!r}"
        )
    points = []
    for penalty, threshold in itertools.product(penalties, thresholds):
        keras.utils.set_random_seed(seed)
        model = build_eql(
            data.n_features,
            spec.n_outputs(data),
            hidden=hidden,
            unary_operators=unary_operators,
            binary_operators=binary_operators,
            seed=seed,
        )
        start = time.perf_counter()
        history = train_eql(
            model,
            data.x_train,
            spec.targets(data, data.y_train),
            penalty_strength=penalty,
            threshold=threshold,
            phase_epochs=phase_epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
        )
        seconds = time.perf_counter() - start
        try:
            val_score = score_outputs(spec.metric, np.asarray(model(data.x_val)), data.y_val)
            test_score = score_outputs(spec.metric, np.asarray(model(data.x_test)), data.y_test)
        except FloatingPointError as error:
            logger.warning("EQL penalty %g, threshold %g skipped: %s", penalty, threshold, error)
            continue
        complexities = [complexity(expression) for expression in eql_to_sympy(model)]
        point = {
            "complexity": float(np.mean(complexities)),
            spec.metric: val_score,
            "test_score": test_score,
            "complexities": complexities,
            "penalty_strength": penalty,
            "threshold": threshold,
            "pruned_fraction": history.pruned / history.total if history.total else 0.0,
            "seconds": seconds,
        }
        logger.info(
            "EQL penalty %g, threshold %g: validation %s %.4f, mean complexity %.1f",
            penalty,
            threshold,
            spec.metric,
            val_score,
            point["complexity"],
        )
        points.append(point)
        keras.backend.clear_session()
    return points
