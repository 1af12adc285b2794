"""Data set spec of a scan, stored with the study so that every worker loads the same split."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from hls4ml_symbolnet.datasets import (
    DatasetSplits,
    load_jets,
    load_mnist,
    load_svhn_binary,
    stratified_subset,
)

__all__ = ["DATASETS", "DatasetSpec"]

DATASETS = ("mnist", "jets", "svhn")
"""Data set names a scan accepts: MNIST (10 classes), LHC jets (5 classes), SVHN 1 vs 7 (binary)."""


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """A data set, its split seed and an optional training subset.

    The data folder is not part of the spec because it differs between machines that share a
    study; each worker passes its own.

    Attributes:
        name: one of `DATASETS`.
        seed: seed of the train/validation/test split.
        max_train_rows: if given, every trial trains on a stratified subset of this many training
            rows (validation and test stay whole).
        max_rows: jets only: a stratified subset of the whole file is loaded before splitting.
    """

    name: str
    seed: int = 123
    max_train_rows: int | None = None
    max_rows: int | None = None

    def __post_init__(self):
        if self.name not in DATASETS:
            raise ValueError(f"Unknown data set {self.name!r}. Choose one of {list(DATASETS)}.")
        for field in ("max_train_rows", "max_rows"):
            value = getattr(self, field)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"`{field}` must be a positive integer or None. Received: {field}={value!r}")
        if self.max_rows is not None and self.name != "jets":
            raise ValueError(
                f"`max_rows` applies to the jets data set only. Received max_rows={self.max_rows} for "
                f"{self.name!r}; use `max_train_rows` to shrink the training split."
            )

    @property
    def metric(self) -> str:
        """Score a scan maximises: `auc` for the binary SVHN task, `accuracy` otherwise."""
        return "auc" if self.name == "svhn" else "accuracy"

    def n_outputs(self, data: DatasetSplits) -> int:
        """Number of model outputs: one expression for the binary task, one per class otherwise."""
        return 1 if self.metric == "auc" else data.n_classes

    def targets(self, data: DatasetSplits, labels: np.ndarray) -> np.ndarray:
        """Training targets: the 0/1 label as one column for the binary task, one-hot otherwise."""
        if self.metric == "auc":
            return labels.astype(np.float32)[:, None]
        return data.one_hot(labels)

    def load(self, data_dir: str | os.PathLike | None) -> DatasetSplits:
        """Load the splits from `data_dir`, the folder that contains `mnist/`, `jets/` or the SVHN files.

        For SVHN, `data_dir` is a folder with `train_32x32.mat` / `test_32x32.mat` or an `.npz` file.
        """
        if self.name == "mnist":
            data = load_mnist(data_dir, seed=self.seed, allow_download=False)
        elif self.name == "jets":
            data = load_jets(data_dir, seed=self.seed, max_rows=self.max_rows)
        else:
            if data_dir is None:
                raise ValueError(
                    "SVHN needs a data path: a folder with train_32x32.mat and test_32x32.mat, "
                    "or an .npz file."
                )
            data = load_svhn_binary(data_dir, seed=self.seed)
        if self.max_train_rows is not None and self.max_train_rows < len(data.y_train):
            kept_rows = np.sort(stratified_subset(data.y_train, self.max_train_rows, self.seed))
            data = dataclasses.replace(
                data,
                x_train=data.x_train[kept_rows],
                y_train=data.y_train[kept_rows],
                split=f"{data.split}; training subset of {self.max_train_rows} rows",
            )
        return data

    def as_dict(self) -> dict[str, Any]:
        """Return the spec as JSON-ready built-in types."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> DatasetSpec:
        """Build a spec from a mapping written by `as_dict`."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown data set spec keys {unknown}. Known keys: {sorted(known)}")
        return cls(**values)
