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
    threshold of each kind, all against epoch. The pruned fraction is the state at the
    end of each epoch when ``val_sparsity_*`` was logged, else the epoch average.

    Returns:
        The path of the written PNG.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if not history or not history.get("loss"):
        raise ValueError("`history` has no 'loss' entries; pass `model.fit(...).history` after training.")
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    epochs = range(1, len(history["loss"]) + 1)
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))

    for color, key in (("C0", "loss"), ("C1", "base_loss"), ("C0", "val_loss"), ("C1", "val_base_loss")):
        if key in history:
            style = "--" if key.startswith("val_") else "-"
            axes[0].plot(epochs, history[key], color=color, linestyle=style, label=key)
    axes[0].set_yscale("log")
    axes[0].set_title("Loss")

    # Validation runs after the last batch of an epoch, so val_sparsity_* is the state at
    # the end of each epoch. sparsity_* is the average over the epoch's batches.
    sparsity_prefix = "val_sparsity_" if any(key.startswith("val_sparsity_") for key in history) else "sparsity_"
    for index, kind in enumerate(THRESHOLD_KINDS):
        color = f"C{index}"
        if f"{sparsity_prefix}{kind}" in history:
            axes[1].plot(epochs, history[f"{sparsity_prefix}{kind}"], color=color, label=kind)
            if target_sparsity and kind in target_sparsity:
                axes[1].axhline(target_sparsity[kind], color=color, linestyle="--", linewidth=0.8)
        if f"threshold_{kind}" in history:
            axes[2].plot(epochs, history[f"threshold_{kind}"], color=color, label=kind)
    when = "end of epoch" if sparsity_prefix == "val_sparsity_" else "epoch average"
    axes[1].set_title(f"Pruned fraction, {when} (dashed: target)")
    axes[1].set_ylim(-0.02, 1.02)
    axes[2].set_title("Mean threshold")

    for axis in axes:
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_xlabel("epoch")
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    logger.info("Wrote training curves to %s", path)
    return path
