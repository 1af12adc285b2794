"""Train one scan trial and score it: validation score up, mean expression complexity down."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from typing import Any

import numpy as np

from hls4ml_symbolnet.datasets import DatasetSplits
from hls4ml_symbolnet.scan.data import DatasetSpec
from hls4ml_symbolnet.scan.space import TrialConfig

__all__ = ["TrialResult", "score_outputs", "train_trial"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TrialResult:
    """Scores, complexity and expressions of one trained trial.

    Attributes:
        val_score, test_score: accuracy (multi-class) or ROC AUC (binary) on the validation and
            test splits. The scan optimises `val_score`; `test_score` is for reporting.
        mean_complexity: mean of `complexities`.
        complexities: node count of each output's sympy expression.
        expressions: each output's expression, constants rounded to 3 significant digits.
        sparsity: pruned fraction of each threshold kind after training.
        seconds: wall-clock training time.
    """

    val_score: float
    test_score: float
    mean_complexity: float
    complexities: list[int]
    expressions: list[str]
    sparsity: dict[str, float]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready built-in types."""
        return dataclasses.asdict(self)


def score_outputs(metric: str, outputs: np.ndarray, labels: np.ndarray) -> float:
    """Return the accuracy of `argmax(outputs)` or, for `metric="auc"`, the ROC AUC of column 0.

    Raises:
        FloatingPointError: the outputs contain NaN or infinite values.
        ValueError: an unknown metric.
    """
    from sklearn.metrics import roc_auc_score

    if not np.isfinite(outputs).all():
        raise FloatingPointError("The model outputs contain NaN or infinite values; training diverged.")
    if metric == "accuracy":
        return float(np.mean(outputs.argmax(axis=1) == labels))
    if metric == "auc":
        return float(roc_auc_score(labels, outputs[:, 0]))
    raise ValueError(f"Unknown metric {metric!r}; expected 'accuracy' or 'auc'.")


def _loss(name: str, spec: DatasetSpec, data: DatasetSplits):
    """Return the Keras loss for `name`; None selects SymbolNet's summed squared error."""
    import keras

    if name == "mse":
        return None
    if spec.n_outputs(data) == 1:
        return keras.losses.BinaryCrossentropy(from_logits=True)
    return keras.losses.CategoricalCrossentropy(from_logits=True)


def train_trial(
    config: TrialConfig,
    data: DatasetSplits,
    spec: DatasetSpec,
    seed: int = 0,
    callbacks: list | None = None,
) -> TrialResult:
    """Build, train and score one SymbolNet model with the hyperparameters in `config`.

    Raises:
        FloatingPointError: the loss or the outputs became NaN or infinite.
    """
    import keras

    import hls4ml_symbolnet as sn
    from hls4ml_symbolnet.export import complexity, to_strings, to_sympy

    keras.utils.set_random_seed(seed)
    model = sn.build_symbolnet(
        data.n_features,
        spec.n_outputs(data),
        hidden=list(config.hidden),
        unary_operators=config.unary_operators,
        binary_operators=config.binary_operators,
        target_sparsity=config.target_sparsity,
        decay_rate=config.decay_rate,
        seed=seed,
    )
    learning_rate = config.learning_rate
    if config.lr_schedule == "cosine":
        steps = config.epochs * math.ceil(len(data.y_train) / config.batch_size)
        learning_rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=_loss(config.loss, spec, data))
    start = time.perf_counter()
    history = model.fit(
        data.x_train,
        spec.targets(data, data.y_train),
        epochs=config.epochs,
        batch_size=config.batch_size,
        callbacks=[keras.callbacks.TerminateOnNaN(), *(callbacks or [])],
        verbose=0,
    )
    seconds = time.perf_counter() - start
    final_loss = history.history["loss"][-1] if history.history.get("loss") else float("nan")
    if not math.isfinite(final_loss):
        raise FloatingPointError(f"The training loss became {final_loss}; lower the learning rate.")

    val_score = score_outputs(spec.metric, model.predict(data.x_val, verbose=0), data.y_val)
    test_score = score_outputs(spec.metric, model.predict(data.x_test, verbose=0), data.y_test)
    expressions = to_sympy(model)
    complexities = [complexity(expression) for expression in expressions]
    result = TrialResult(
        val_score=val_score,
        test_score=test_score,
        mean_complexity=float(np.mean(complexities)),
        complexities=complexities,
        expressions=to_strings(expressions, digits=3),
        sparsity=model.sparsity(),
        seconds=seconds,
    )
    keras.backend.clear_session()
    return result
