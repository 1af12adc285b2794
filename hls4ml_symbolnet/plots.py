"""Plots for picking a model: ROC curves per output and accuracy-complexity Pareto fronts.

matplotlib is imported inside each function with the ``Agg`` backend, so importing this module
starts neither a GUI nor TensorFlow.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "load_points",
    "non_dominated",
    "plot_pareto",
    "plot_roc_curves",
    "roc_auc_per_output",
]

logger = logging.getLogger(__name__)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _check_scores(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(y_true)
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"`y_true` must be a 1-D array of integer class labels. Received shape {labels.shape}, "
            f"dtype {labels.dtype}."
        )
    if values.ndim != 2 or len(values) != len(labels):
        raise ValueError(
            f"`scores` must have shape (n_samples, n_outputs) with n_samples={len(labels)}. "
            f"Received shape {values.shape}."
        )
    if not np.isfinite(values).all():
        raise ValueError("`scores` contains NaN or infinite values; check the model outputs.")
    return labels, values


def _positive_labels(labels: np.ndarray, n_outputs: int) -> list[int]:
    """Return the class that each output column scores against the rest.

    With one output column the task is binary and the column scores label 1 against label 0.
    Otherwise column k scores label k against the rest (one-vs-rest).
    """
    if n_outputs == 1:
        outside = np.setdiff1d(np.unique(labels), [0, 1])
        if outside.size:
            raise ValueError(
                f"One score column needs binary labels 0 and 1. Received labels {outside[:10].tolist()}."
            )
        return [1]
    return list(range(n_outputs))


def roc_auc_per_output(y_true: np.ndarray, scores: np.ndarray) -> list[float]:
    """Return the ROC AUC of each output column, one-vs-rest (label 1 vs 0 for one column).

    An output whose class is absent from `y_true`, or is the only class present, has no defined
    AUC and gets NaN.
    """
    from sklearn.metrics import roc_auc_score

    labels, values = _check_scores(y_true, scores)
    aucs = []
    for column, positive in enumerate(_positive_labels(labels, values.shape[1])):
        is_positive = labels == positive
        if is_positive.all() or not is_positive.any():
            aucs.append(float("nan"))
            continue
        aucs.append(float(roc_auc_score(is_positive, values[:, column])))
    return aucs


def plot_roc_curves(
    y_true: np.ndarray,
    scores: np.ndarray,
    path: str | os.PathLike,
    class_names: Sequence[str] | None = None,
    title: str = "ROC curve per output",
    log_false_positive: bool = False,
) -> list[float]:
    """Write one ROC curve per output column to a PNG and return the AUCs.

    Column k of `scores` is the score of class k against the rest. A single column is the score of
    label 1 against label 0, as for a binary task with one expression.

    Args:
        y_true: integer class labels, shape `(n_samples,)`.
        scores: model outputs, shape `(n_samples, n_outputs)` or `(n_samples,)`.
        path: PNG file to write; its folder is created.
        class_names: legend name of each output; `class k` when None.
        title: figure title.
        log_false_positive: draw the false-positive rate on a log axis, as jet-tagging plots do.

    Returns:
        The AUC of each output, NaN where a class is absent from `y_true`.
    """
    from sklearn.metrics import roc_curve

    labels, values = _check_scores(y_true, scores)
    positives = _positive_labels(labels, values.shape[1])
    if class_names is None:
        class_names = [f"class {label}" for label in positives]
    if len(class_names) != values.shape[1]:
        raise ValueError(
            f"`class_names` has {len(class_names)} entries but `scores` has {values.shape[1]} columns."
        )
    aucs = roc_auc_per_output(labels, values)

    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5.5, 5))
    for column, (positive, name, auc) in enumerate(zip(positives, class_names, aucs)):
        if np.isnan(auc):
            logger.warning("No ROC curve for output %s: its class is absent or alone in y_true.", name)
            continue
        false_positive, true_positive, _ = roc_curve(labels == positive, values[:, column])
        axis.plot(false_positive, true_positive, label=f"{name} (AUC {auc:.3f})")
    if log_false_positive:
        axis.set_xscale("log")
        axis.set_xlim(1e-3, 1)
    else:
        axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=0.8)
    axis.set_xlabel("false positive rate")
    axis.set_ylabel("true positive rate")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="lower right")
    _save(figure, path)
    return aucs


def non_dominated(scores: Sequence[float], complexities: Sequence[float]) -> np.ndarray:
    """Return a boolean mask of the points no other point dominates.

    A point dominates another when its score is at least as high and its complexity at most as
    high, and one of the two is strictly better. Points with a NaN coordinate are never on the front.
    Equal points are all kept.
    """
    score = np.asarray(scores, dtype=np.float64)
    cost = np.asarray(complexities, dtype=np.float64)
    if score.shape != cost.shape or score.ndim != 1:
        raise ValueError(
            f"`scores` and `complexities` must be 1-D of the same length. Received shapes {score.shape} "
            f"and {cost.shape}."
        )
    valid = np.isfinite(score) & np.isfinite(cost)
    mask = valid.copy()
    for i in np.flatnonzero(valid):
        others = valid.copy()
        others[i] = False
        at_least_as_good = (score[others] >= score[i]) & (cost[others] <= cost[i])
        strictly_better = (score[others] > score[i]) | (cost[others] < cost[i])
        if np.any(at_least_as_good & strictly_better):
            mask[i] = False
    return mask


def load_points(path: str | os.PathLike, score_key: str = "accuracy") -> list[dict]:
    """Read model points for a Pareto plot from a JSON file.

    The file contains a list of objects, or an object with a `points` (or `pareto_front`) list. Each
    object needs `complexity` and `score_key` (for example `accuracy` or `auc`) as numbers; other
    keys are kept.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: the file is not JSON of that layout, or a point lacks a key.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Points file {path} does not exist.")
    try:
        content = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    if isinstance(content, Mapping):
        content = content.get("points", content.get("pareto_front"))
    if not isinstance(content, list):
        raise ValueError(
            f"{path} must contain a list of points, or an object with a 'points' or 'pareto_front' list."
        )
    for index, point in enumerate(content):
        if not isinstance(point, Mapping):
            raise ValueError(f"{path}: point {index} is {point!r}; expected an object.")
        for key in ("complexity", score_key):
            value = point.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(
                    f"{path}: point {index} has {key}={value!r}; expected a number under {key!r}."
                )
    return [dict(point) for point in content]


def plot_pareto(
    series: Mapping[str, Sequence[Mapping]],
    path: str | os.PathLike,
    score_key: str = "accuracy",
    score_label: str | None = None,
    title: str = "Score against mean complexity",
    note: str | None = None,
    log_complexity: bool = True,
) -> dict[str, list[dict]]:
    """Plot every point of each series and join its non-dominated points into a front.

    Args:
        series: legend name (for example `SymbolNet` or `EQL`) to a list of points, each a mapping
            with `complexity` and `score_key`.
        path: PNG file to write; its folder is created.
        score_key: the key of the score to plot on the vertical axis.
        score_label: axis label; `score_key` when None.
        title: figure title.
        note: text printed in the lower right corner, for example why a series is missing.
        log_complexity: draw complexity on a log axis.

    Returns:
        The front of each series, sorted by complexity.
    """
    if not series:
        raise ValueError("`series` is empty; pass at least one named list of points.")
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    fronts = {}
    for index, (name, points) in enumerate(series.items()):
        points = list(points)
        if not points:
            logger.warning("Series %s has no points; it is left out of the plot.", name)
            fronts[name] = []
            continue
        missing = [i for i, point in enumerate(points) if "complexity" not in point or score_key not in point]
        if missing:
            raise ValueError(f"Series {name!r}: points {missing[:5]} lack 'complexity' or {score_key!r}.")
        cost = np.array([float(point["complexity"]) for point in points])
        score = np.array([float(point[score_key]) for point in points])
        mask = non_dominated(score, cost)
        order = np.argsort(cost[mask], kind="stable")
        front = [points[i] for i in np.flatnonzero(mask)[order]]
        fronts[name] = front

        color = f"C{index}"
        axis.scatter(cost[~mask], score[~mask], color=color, alpha=0.35, s=18)
        axis.plot(
            cost[mask][order],
            score[mask][order],
            color=color,
            marker="o",
            drawstyle="steps-post",
            label=f"{name} ({len(front)} on the front, {len(points)} models)",
        )
    if log_complexity:
        from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

        # Label 1, 2 and 5 times each power of ten in plain numbers, and leave minor ticks unlabelled.
        axis.set_xscale("log")
        axis.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.xaxis.set_major_formatter(ScalarFormatter())
        axis.xaxis.set_minor_formatter(NullFormatter())
    axis.set_xlabel("mean complexity (expression nodes)")
    axis.set_ylabel(score_label or score_key)
    axis.set_title(title)
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8, loc="upper left")
    if note:
        figure.text(0.99, 0.01, note, ha="right", va="bottom", fontsize=7, color="dimgrey", wrap=True)
    _save(figure, path)
    return fronts


def _save(figure, path: str | os.PathLike) -> pathlib.Path:
    plt = _pyplot()
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    logger.info("Wrote %s", path)
    return path
