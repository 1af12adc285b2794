"""Plot training curves: losses, sparsities against their targets, and mean thresholds."""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Mapping

from hls4ml_symbolnet.layers._pruning import THRESHOLD_KINDS

__all__ = ["plot_training_history"]

logger = logging.getLogger(__name__)


def plot_training_history(
    history: Mapping[str, list[float]],
    path: str | pathlib.Path,
    target_sparsity: Mapping[str, float] | None = None,
) -> pathlib.Path:
    """Write a three-panel PNG of a Keras ``History.history`` dict.

    Panels: total and base loss (training and validation where logged), the pruned
    fraction of each threshold kind with its target as a dashed line, and the mean
    threshold of each kind, all against epoch.

    Returns:
        The path of the written PNG.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not history or not history.get("loss"):
        raise ValueError("`history` has no 'loss' entries; pass `model.fit(...).history` after training.")
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    epochs = range(1, len(history["loss"]) + 1)
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))

    for key in ("loss", "base_loss", "val_loss", "val_base_loss"):
        if key in history:
            axes[0].plot(epochs, history[key], label=key, linestyle="--" if key.startswith("val_") else "-")
    axes[0].set_yscale("log")
    axes[0].set_title("Loss")

    for index, kind in enumerate(THRESHOLD_KINDS):
        color = f"C{index}"
        if f"sparsity_{kind}" in history:
            axes[1].plot(epochs, history[f"sparsity_{kind}"], color=color, label=kind)
            if target_sparsity and kind in target_sparsity:
                axes[1].axhline(target_sparsity[kind], color=color, linestyle="--", linewidth=0.8)
        if f"threshold_{kind}" in history:
            axes[2].plot(epochs, history[f"threshold_{kind}"], color=color, label=kind)
    axes[1].set_title("Pruned fraction (dashed: target)")
    axes[1].set_ylim(-0.02, 1.02)
    axes[2].set_title("Mean threshold")

    for axis in axes:
        axis.set_xlabel("epoch")
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    logger.info("Wrote training curves to %s", path)
    return path
