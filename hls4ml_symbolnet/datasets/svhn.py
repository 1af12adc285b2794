"""SVHN loaders: all 32x32 RGB digit crops, and the binary '1' versus '7' task."""

from __future__ import annotations

import logging
import os
import pathlib
import zlib
from dataclasses import dataclass

import numpy as np

from ._common import (
    DatasetSplits,
    format_fractions,
    split_counts,
    stratified_partition,
    stratified_split,
    validate_fractions,
    warn_if_too_small,
)

logger = logging.getLogger(__name__)

IMAGE_SHAPE = (32, 32, 3)
CHANNEL_NAMES = ("r", "g", "b")
# Flattening (32, 32, 3) in C order gives feature index (row * 32 + col) * 3 + channel.
FEATURE_NAMES = tuple(
    f"pixel_{row:02d}_{col:02d}_{channel}"
    for row in range(IMAGE_SHAPE[0])
    for col in range(IMAGE_SHAPE[1])
    for channel in CHANNEL_NAMES
)
BINARY_DIGITS = (1, 7)
BINARY_CLASS_NAMES = tuple(str(digit) for digit in BINARY_DIGITS)
MAT_FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat"}


@dataclass(frozen=True, repr=False)
class SvhnImages:
    """SVHN crops as stored, before any filtering or scaling.

    Attributes:
        images: uint8 RGB crops, shape `(n, 32, 32, 3)` (height, width, channel).
        digits: int64 digit labels 0..9, shape `(n,)`.
        source: the files that were read.
    """

    images: np.ndarray
    digits: np.ndarray
    source: str

    def __repr__(self) -> str:
        return f"SvhnImages(n={len(self.digits)}, source={self.source!r})"


def load_svhn_images(path: str | os.PathLike) -> SvhnImages:
    """Load every SVHN crop and digit label from `path`, unfiltered.

    Args:
        path: a folder containing the official `train_32x32.mat` and/or `test_32x32.mat` (format 2),
            read in that order and concatenated, or an `.npz` file with `x` of shape (n, 32, 32, 3)
            and `y` of shape (n,) containing digits 0..9.

    Raises:
        FileNotFoundError: `path` does not exist, or the folder contains neither official file.
        ValueError: images of the wrong shape or dtype, or labels outside the digits.
    """
    parts = _read_parts(path)
    images = np.concatenate([part.images for part in parts.values()])
    digits = np.concatenate([part.digits for part in parts.values()])
    source = " + ".join(part.source for part in parts.values())
    logger.info("Loaded %d SVHN images from %s", len(digits), source)
    return SvhnImages(images=images, digits=digits, source=source)


def load_svhn_binary(
    path: str | os.PathLike,
    *,
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
) -> DatasetSplits:
    """Load SVHN digits 1 and 7 as a binary task with 3,072 float32 inputs in [0, 1].

    Each image is flattened in height, width, channel order, so feature
    `(row * 32 + col) * 3 + channel` is pixel (row, col) of channel r, g or b.
    Digit 1 becomes label 0 and digit 7 label 1 (`class_names == ('1', '7')`).

    With the official `.mat` files, the official test set is the test split and the training set is
    split stratified into train and validation by the ratio of the first two `fractions`. With an
    `.npz` file every 1 and 7 is pooled and split stratified by `fractions`. A set too small to train
    on still gets at least one sample per split where there are enough, and a warning.

    Args:
        path: see `load_svhn_images`.
        seed: seed of the stratified split.
        fractions: train, validation and test fractions, summing to 1.

    Raises:
        FileNotFoundError: `path` does not exist, or the folder contains neither official file.
        ValueError: malformed files, or no image of digit 1 or 7.
    """
    fractions = validate_fractions(fractions)
    parts = {role: _select_binary(part) for role, part in _read_parts(path).items()}

    if set(parts) == {"train", "test"}:
        train_part, test_part = parts["train"], parts["test"]
        ratio = (fractions[0] / (fractions[0] + fractions[1]), fractions[1] / (fractions[0] + fractions[1]))
        train_idx, val_idx = stratified_partition(
            train_part.digits, split_counts(len(train_part.digits), ratio), seed
        )
        test_idx = np.arange(len(test_part.digits))
        train_images, train_labels = train_part.images, train_part.digits
        val_images, val_labels = train_part.images, train_part.digits
        test_images, test_labels = test_part.images, test_part.digits
        split = (
            f"official SVHN split, digits 1 and 7 only: test = official test set ({len(test_idx)} images); "
            f"official training set ({len(train_part.digits)} images) split stratified "
            f"{format_fractions(ratio)} into train/val ({len(train_idx)}/{len(val_idx)}), seed {seed}"
        )
    else:
        (pooled,) = parts.values()
        train_idx, val_idx, test_idx = stratified_split(pooled.digits, fractions, seed)
        train_images = val_images = test_images = pooled.images
        train_labels = val_labels = test_labels = pooled.digits
        split = (
            f"pooled {len(pooled.digits)} images of digits 1 and 7, stratified {format_fractions(fractions)} "
            f"into train/val/test ({len(train_idx)}/{len(val_idx)}/{len(test_idx)}), seed {seed}"
        )

    splits = DatasetSplits(
        x_train=_flatten(train_images[train_idx]),
        y_train=train_labels[train_idx],
        x_val=_flatten(val_images[val_idx]),
        y_val=val_labels[val_idx],
        x_test=_flatten(test_images[test_idx]),
        y_test=test_labels[test_idx],
        class_names=BINARY_CLASS_NAMES,
        feature_names=FEATURE_NAMES,
        source=" + ".join(part.source for part in parts.values()),
        split=split,
    )
    logger.info("Loaded SVHN 1 vs 7 from %s; %s", splits.source, splits.split)
    warn_if_too_small(len(train_idx) + len(val_idx) + len(test_idx), "SVHN 1 vs 7")
    return splits


def _select_binary(part: SvhnImages) -> SvhnImages:
    """Keep the images of digits 1 and 7, with `digits` relabelled 0 (digit 1) and 1 (digit 7)."""
    keep = np.isin(part.digits, BINARY_DIGITS)
    if not keep.any():
        raise ValueError(f"{part.source} contains no image of digit 1 or 7.")
    labels = (part.digits[keep] == BINARY_DIGITS[1]).astype(np.int64)
    return SvhnImages(
        images=part.images[keep],
        digits=labels,
        source=f"{part.source}, {int(keep.sum())} of them digits 1 or 7",
    )


def _flatten(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0)


def _read_parts(path: str | os.PathLike) -> dict[str, SvhnImages]:
    path = pathlib.Path(path).expanduser()
    if path.is_dir():
        parts = {role: _read_mat(path / name) for role, name in MAT_FILES.items() if (path / name).is_file()}
        if not parts:
            raise FileNotFoundError(
                f"No SVHN files in {path}: expected {' and/or '.join(MAT_FILES.values())} (format 2), "
                "or pass an .npz file with arrays x and y."
            )
        return parts
    if not path.is_file():
        raise FileNotFoundError(f"SVHN path {path} does not exist.")
    if path.suffix == ".npz":
        return {"pool": _read_npz(path)}
    if path.suffix == ".mat":
        return {"pool": _read_mat(path)}
    raise ValueError(f"{path} has an unsupported file type; expected a folder, an .npz or a .mat file.")


def _read_npz(path: pathlib.Path) -> SvhnImages:
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in ("x", "y") if key not in archive.files]
            if missing:
                raise ValueError(f"{path} lacks the arrays {missing}; found {archive.files}.")
            images, digits = archive["x"], archive["y"]
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path} is not a readable .npz file: {error}") from error

    _check_images(images, path, "(n, 32, 32, 3)")
    digits = np.asarray(digits).reshape(-1) if np.ndim(digits) == 2 and np.shape(digits)[1] == 1 else digits
    _check_digits(digits, len(images), path, valid=range(10))
    return SvhnImages(
        images=images, digits=digits.astype(np.int64), source=f"npz {path} ({len(images)} images)"
    )


def _read_mat(path: pathlib.Path) -> SvhnImages:
    """Read an official format-2 file: `X` is (32, 32, 3, n) uint8, `y` is (n, 1) with 10 for digit 0."""
    from scipy.io import loadmat

    try:
        content = loadmat(path, variable_names=["X", "y"])
    except (NotImplementedError, ValueError, OSError, TypeError) as error:
        raise ValueError(f"{path} could not be read by scipy.io.loadmat: {error}") from error
    missing = [key for key in ("X", "y") if key not in content]
    if missing:
        raise ValueError(f"{path} lacks the variables {missing}; expected SVHN format 2 with X and y.")

    raw = content["X"]
    if raw.ndim != 4 or raw.shape[:3] != IMAGE_SHAPE:
        raise ValueError(f"{path}: X has shape {raw.shape}; expected (32, 32, 3, n) (SVHN format 2).")
    images = np.ascontiguousarray(np.moveaxis(raw, 3, 0))
    _check_images(images, path, "(32, 32, 3, n)")

    digits = np.asarray(content["y"]).reshape(-1)
    # NOTE: format 2 stores digit 0 as 10. A 0 label, found in some converted copies, is also read as 0.
    _check_digits(digits, len(images), path, valid=range(11))
    digits = np.where(digits == 10, 0, digits).astype(np.int64)
    return SvhnImages(images=images, digits=digits, source=f"{path} ({len(images)} images)")


def _check_images(images: np.ndarray, path: pathlib.Path, expected: str) -> None:
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{path}: images have shape {images.shape}; expected {expected}.")
    if images.dtype != np.uint8:
        raise ValueError(f"{path}: images have dtype {images.dtype}; expected uint8 pixel values 0..255.")


def _check_digits(digits: np.ndarray, n_images: int, path: pathlib.Path, valid: range) -> None:
    if digits.ndim != 1 or not np.issubdtype(digits.dtype, np.integer):
        raise ValueError(
            f"{path}: labels have shape {digits.shape} and dtype {digits.dtype}; expected (n,) integers."
        )
    if len(digits) != n_images:
        raise ValueError(f"{path}: {n_images} images but {len(digits)} labels.")
    outside = digits[(digits < valid.start) | (digits >= valid.stop)]
    if len(outside):
        raise ValueError(
            f"{path}: labels outside {valid.start}..{valid.stop - 1}: {np.unique(outside)[:10].tolist()}."
        )
