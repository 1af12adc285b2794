"""Shared pieces of the dataset loaders: the returned splits and the stratified split."""

from __future__ import annotations

import logging
import math
import os
import pathlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

DATA_DIR_ENV = "SYMBOLNET_DATA_DIR"
"""Environment variable naming the folder that contains the data sets (mnist/, jets/, svhn_samples/)."""

MIN_SAMPLES_TO_TRAIN = 100
"""Below this many samples in total a loader warns that the set only suits shape checks."""

_SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True, repr=False)
class DatasetSplits:
    """Train, validation and test arrays of one classification data set.

    Attributes:
        x_train, x_val, x_test: float32 features, shape `(n, n_features)`.
        y_train, y_val, y_test: int64 class labels in `0 .. n_classes - 1`, shape `(n,)`.
        class_names: name of each label, in label order.
        feature_names: name of each feature column, in column order.
        source: the files or loader that were read.
        split: how the samples were divided into train, validation and test.
        feature_mean, feature_std: float64 per-feature statistics that were used to standardise
            the features (`(x_raw - feature_mean) / feature_std`), or None when the features are
            not standardised.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    source: str
    split: str
    feature_mean: np.ndarray | None = None
    feature_std: np.ndarray | None = None

    def __post_init__(self) -> None:
        n_features = len(self.feature_names)
        n_classes = len(self.class_names)
        for name in _SPLIT_NAMES:
            x = getattr(self, f"x_{name}")
            y = getattr(self, f"y_{name}")
            if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.ndim != 2:
                raise TypeError(
                    f"`x_{name}` must be a 2-D float32 numpy array. Received: {_describe_array(x)}"
                )
            if not isinstance(y, np.ndarray) or y.dtype != np.int64 or y.ndim != 1:
                raise TypeError(f"`y_{name}` must be a 1-D int64 numpy array. Received: {_describe_array(y)}")
            if x.shape[1] != n_features:
                raise ValueError(
                    f"`x_{name}` has {x.shape[1]} columns but there are {n_features} feature names."
                )
            if len(x) != len(y):
                raise ValueError(f"`x_{name}` has {len(x)} rows but `y_{name}` has {len(y)} labels.")
            if len(y) and (y.min() < 0 or y.max() >= n_classes):
                raise ValueError(
                    f"`y_{name}` contains labels outside 0..{n_classes - 1} "
                    f"(min {y.min()}, max {y.max()}) for {n_classes} class names."
                )
        for name in ("feature_mean", "feature_std"):
            value = getattr(self, name)
            if value is not None and np.shape(value) != (n_features,):
                raise ValueError(
                    f"`{name}` must have shape ({n_features},). Received shape {np.shape(value)}."
                )

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return len(self.feature_names)

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    def one_hot(self, y: np.ndarray) -> np.ndarray:
        """Encode integer labels as float32 one-hot rows of width `n_classes`."""
        labels = np.asarray(y)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"`y` must be a 1-D array of integer labels. Received: {_describe_array(labels)}"
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= self.n_classes):
            raise ValueError(
                f"`y` contains labels outside 0..{self.n_classes - 1} "
                f"(min {labels.min()}, max {labels.max()})."
            )
        return np.eye(self.n_classes, dtype=np.float32)[labels]

    def standardize(self, x_raw: np.ndarray) -> np.ndarray:
        """Apply the stored training-split standardisation to raw features, returning float32."""
        if self.feature_mean is None or self.feature_std is None:
            raise ValueError("These splits were not standardised: `feature_mean` and `feature_std` are None.")
        x = np.asarray(x_raw, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"`x_raw` must have shape (n, {self.n_features}). Received shape {x.shape}.")
        return ((x - self.feature_mean) / self.feature_std).astype(np.float32)

    def __repr__(self) -> str:
        sizes = "/".join(str(len(getattr(self, f"y_{name}"))) for name in _SPLIT_NAMES)
        return (
            f"DatasetSplits(train/val/test={sizes}, n_features={self.n_features}, "
            f"classes={self.class_names}, source={self.source!r}, split={self.split!r})"
        )


def _describe_array(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    return f"object of type {type(value).__name__}"


def validate_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    """Check `fractions` and return them as a (train, val, test) tuple of floats.

    Validation and test fractions may be 0, but the training fraction must be positive.
    """
    values = tuple(fractions) if isinstance(fractions, (tuple, list)) else None
    message = (
        "`fractions` must be three non-negative numbers (train, val, test) that sum to 1, "
        f"with a positive train fraction. Received: fractions={fractions!r}"
    )
    if values is None or len(values) != 3:
        raise ValueError(message)
    try:
        floats = tuple(float(value) for value in values)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if not all(math.isfinite(value) and value >= 0 for value in floats) or floats[0] == 0:
        raise ValueError(message)
    if abs(sum(floats) - 1.0) > 1e-6:
        raise ValueError(message)
    return floats


def format_fractions(fractions: Sequence[float]) -> str:
    """Format fractions as `0.6/0.2/0.2`."""
    return "/".join(f"{value:g}" for value in fractions)


def split_counts(n_samples: int, fractions: Sequence[float]) -> list[int]:
    """Divide `n_samples` into integer counts proportional to `fractions`.

    Uses largest remainders, then moves single samples from the largest part so that every part with
    a positive fraction gets at least one sample, as far as `n_samples` allows.
    """
    ideal = [n_samples * fraction for fraction in fractions]
    counts = [math.floor(value) for value in ideal]
    by_remainder = sorted(range(len(ideal)), key=lambda k: (ideal[k] - counts[k], -k), reverse=True)
    for k in by_remainder[: n_samples - sum(counts)]:
        counts[k] += 1

    for k, fraction in enumerate(fractions):
        if fraction > 0 and counts[k] == 0:
            largest = max(range(len(counts)), key=lambda j: counts[j])
            if counts[largest] > 1:
                counts[largest] -= 1
                counts[k] += 1
    return counts


def stratified_partition(labels: np.ndarray, counts: Sequence[int], seed: int | None) -> list[np.ndarray]:
    """Partition sample indices into parts of the exact sizes `counts`, stratified by label.

    The samples are grouped by label and shuffled within each label. They are then dealt to the
    parts in an evenly interleaved sequence, which spreads each label over the parts in proportion
    to the part sizes, within about one sample per part and label. Each returned index array is
    shuffled, so no part is ordered by label. The result depends only on `labels`, `counts` and `seed`.
    """
    labels = np.asarray(labels)
    if sum(counts) != len(labels) or min(counts) < 0:
        raise ValueError(f"`counts` {list(counts)} must be non-negative and sum to {len(labels)} samples.")
    rng = np.random.default_rng(seed)

    grouped = [rng.permutation(np.flatnonzero(labels == label)) for label in np.unique(labels)]
    order = np.concatenate(grouped) if grouped else np.empty(0, dtype=np.int64)

    # Part k takes the positions (j + 0.5) / counts[k] on [0, 1]. Sorting all positions
    # interleaves the parts evenly along the label-grouped order.
    positions = np.concatenate([(np.arange(count) + 0.5) / count for count in counts if count > 0])
    part_ids = np.concatenate([np.full(count, k) for k, count in enumerate(counts) if count > 0])
    sequence = part_ids[np.lexsort((part_ids, positions))] if len(positions) else part_ids

    return [rng.permutation(order[sequence == k]).astype(np.int64) for k in range(len(counts))]


def stratified_split(
    labels: np.ndarray, fractions: Sequence[float], seed: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split sample indices into train, validation and test, stratified by label."""
    counts = split_counts(len(labels), validate_fractions(fractions))
    train, val, test = stratified_partition(labels, counts, seed)
    return train, val, test


def stratified_subset(labels: np.ndarray, n_samples: int, seed: int | None) -> np.ndarray:
    """Return the indices of a stratified random subset of `n_samples` samples."""
    kept, _ = stratified_partition(labels, [n_samples, len(labels) - n_samples], seed)
    return kept


def warn_if_too_small(n_samples: int, dataset: str) -> None:
    """Warn when a data set is too small to train a model on."""
    if n_samples < MIN_SAMPLES_TO_TRAIN:
        warnings.warn(
            f"{dataset} has only {n_samples} samples: enough to check shapes and a pipeline, "
            f"too small to train on (fewer than {MIN_SAMPLES_TO_TRAIN}).",
            UserWarning,
            stacklevel=3,
        )


def find_data_folder(root: str | os.PathLike, subfolder: str, has_data) -> pathlib.Path | None:
    """Return `root` or `root/subfolder`, whichever `has_data` accepts first, or None."""
    root = pathlib.Path(root).expanduser()
    for candidate in (root, root / subfolder):
        if candidate.is_dir() and has_data(candidate):
            return candidate
    return None


def env_data_dir() -> pathlib.Path | None:
    """Return the folder named by the SYMBOLNET_DATA_DIR environment variable, if it is set."""
    value = os.environ.get(DATA_DIR_ENV)
    return pathlib.Path(value).expanduser() if value else None
