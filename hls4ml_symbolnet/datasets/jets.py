"""LHC jet tagging loader: 16 high-level jet substructure features, 5 classes (g, q, w, z, t)."""

from __future__ import annotations

import logging
import os
import pathlib

import numpy as np
import pandas as pd

from ._common import (
    DATA_DIR_ENV,
    DatasetSplits,
    env_data_dir,
    find_data_folder,
    format_fractions,
    stratified_split,
    stratified_subset,
    validate_fractions,
    warn_if_too_small,
)

logger = logging.getLogger(__name__)

FEATURE_NAMES = (
    "zlogz",
    "c1_b0_mmdt",
    "c1_b1_mmdt",
    "c1_b2_mmdt",
    "c2_b1_mmdt",
    "c2_b2_mmdt",
    "d2_b1_mmdt",
    "d2_b2_mmdt",
    "d2_a1_b1_mmdt",
    "d2_a1_b2_mmdt",
    "m2_b1_mmdt",
    "m2_b2_mmdt",
    "n2_b1_mmdt",
    "n2_b2_mmdt",
    "mass_mmdt",
    "multiplicity",
)
CLASS_NAMES = ("g", "q", "w", "z", "t")
CLASS_COLUMN = "class"
ONE_HOT_COLUMNS = tuple(f"j_{name}" for name in CLASS_NAMES)
JETS_FILE = "jets_hlf.parquet"
OPENML_NAME = "hls4ml_lhc_jets_hlf"


def load_jets(
    path: str | os.PathLike | None = None,
    *,
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
    source: str = "file",
    max_rows: int | None = None,
    drop_nonfinite: bool = False,
    data_home: str | os.PathLike | None = None,
) -> DatasetSplits:
    """Load the jet tagging features, split stratified and standardised with training statistics.

    The table needs the 16 feature columns in `FEATURE_NAMES` (the names of the OpenML data set
    `hls4ml_lhc_jets_hlf`) and the class either as a `class` column of strings g, q, w, z, t or as
    one-hot columns `j_g, j_q, j_w, j_z, j_t`. Labels are 0..4 in that order. Features are
    standardised with the mean and standard deviation of the training split only; both are kept as
    `feature_mean` and `feature_std` on the result.

    Args:
        path: a parquet or CSV file, or a folder (or its `jets/` subfolder) containing
            `jets_hlf.parquet`. With `source="file"` and no path, the folder named by the
            `SYMBOLNET_DATA_DIR` environment variable is searched.
        seed: seed of the subset and of the stratified split.
        fractions: train, validation and test fractions, summing to 1.
        source: `"file"` reads `path`; `"openml"` fetches `hls4ml_lhc_jets_hlf` through
            `sklearn.datasets.fetch_openml`, which downloads it once into sklearn's data home.
        max_rows: if given, a stratified random subset of this many rows is used.
        drop_nonfinite: drop rows with NaN or infinite features (and log how many) instead of
            raising ValueError.
        data_home: sklearn's data home for `source="openml"`; None uses sklearn's default.

    Raises:
        FileNotFoundError: no file at `path`, or no path and no data folder.
        ValueError: a missing or non-numeric feature column, non-finite features (unless
            `drop_nonfinite`), labels outside g, q, w, z, t, or an invalid argument.
    """
    fractions = validate_fractions(fractions)
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1):
        raise ValueError(f"`max_rows` must be a positive integer or None. Received: max_rows={max_rows!r}")

    if source == "file":
        frame, description = _read_file(path)
    elif source == "openml":
        if path is not None:
            raise ValueError(
                f"`path` is only read with source='file'. Received: path={str(path)!r} with source='openml'; "
                "use `data_home` to choose where OpenML files are cached."
            )
        frame, description = _fetch_openml(data_home)
    else:
        raise ValueError(f"`source` must be 'file' or 'openml'. Received: source={source!r}")

    features = _feature_matrix(frame, description, drop_nonfinite)
    labels = _labels(frame, description)
    if drop_nonfinite:
        finite_rows = np.isfinite(features).all(axis=1)
        features, labels = features[finite_rows], labels[finite_rows]
    n_rows = len(labels)
    if n_rows == 0:
        raise ValueError(f"{description} has no rows to load.")

    subset_note = ""
    if max_rows is not None and max_rows < n_rows:
        kept = stratified_subset(labels, max_rows, seed)
        features, labels = features[kept], labels[kept]
        subset_note = f"stratified subset of {max_rows} of {n_rows} rows, "
    train_idx, val_idx, test_idx = stratified_split(labels, fractions, seed)

    mean, std = _training_statistics(features[train_idx])
    split = (
        f"{subset_note}stratified {format_fractions(fractions)} into train/val/test "
        f"({len(train_idx)}/{len(val_idx)}/{len(test_idx)}), seed {seed}; "
        "features standardised with the training split's mean and standard deviation"
    )

    def standardised(indices: np.ndarray) -> np.ndarray:
        return ((features[indices] - mean) / std).astype(np.float32)

    splits = DatasetSplits(
        x_train=standardised(train_idx),
        y_train=labels[train_idx],
        x_val=standardised(val_idx),
        y_val=labels[val_idx],
        x_test=standardised(test_idx),
        y_test=labels[test_idx],
        class_names=CLASS_NAMES,
        feature_names=FEATURE_NAMES,
        source=description,
        split=split,
        feature_mean=mean,
        feature_std=std,
    )
    logger.info("Loaded jets from %s; %s", splits.source, splits.split)
    warn_if_too_small(len(labels), "The jet data")
    return splits


def _read_file(path: str | os.PathLike | None) -> tuple[pd.DataFrame, str]:
    if path is None:
        env_dir = env_data_dir()
        if env_dir is None:
            raise FileNotFoundError(
                "No jets file given: pass `path` (a parquet or CSV file, or a folder containing "
                f"{JETS_FILE}), set {DATA_DIR_ENV}, or use source='openml'."
            )
        path = env_dir

    path = pathlib.Path(path).expanduser()
    if path.is_dir():
        folder = find_data_folder(path, "jets", lambda candidate: (candidate / JETS_FILE).is_file())
        if folder is None:
            raise FileNotFoundError(f"No {JETS_FILE} in {path} or {path / 'jets'}.")
        path = folder / JETS_FILE
    elif not path.is_file():
        raise FileNotFoundError(f"Jets file {path} does not exist.")

    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        frame = pd.read_parquet(path)
        kind = "parquet"
    elif name.endswith((".csv", ".csv.gz")):
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise ValueError(f"{path} could not be parsed as CSV: {error}") from error
        kind = "CSV"
    else:
        raise ValueError(f"{path} has an unsupported file type; expected .parquet, .pq, .csv or .csv.gz.")
    return frame, f"{kind} file {path} ({len(frame)} rows)"


def _fetch_openml(data_home: str | os.PathLike | None) -> tuple[pd.DataFrame, str]:
    from sklearn.datasets import fetch_openml

    logger.info("Fetching %s through sklearn.datasets.fetch_openml (downloads on first use).", OPENML_NAME)
    bunch = fetch_openml(name=OPENML_NAME, as_frame=True, data_home=data_home)
    # NOTE: the tests replace fetch_openml, so this layout handling has not met the real download.
    # A target Series becomes the `class` column, and a target frame is expected to contain j_g .. j_t.
    frame = bunch.data.copy()
    if isinstance(bunch.target, pd.DataFrame):
        frame = pd.concat([frame, bunch.target], axis=1)
    else:
        frame[CLASS_COLUMN] = bunch.target
    return frame, f"OpenML data set {OPENML_NAME} via sklearn fetch_openml ({len(frame)} rows)"


def _feature_matrix(frame: pd.DataFrame, description: str, drop_nonfinite: bool) -> np.ndarray:
    missing = [name for name in FEATURE_NAMES if name not in frame.columns]
    if missing:
        raise ValueError(
            f"{description} lacks the feature columns {missing}. Found columns: {list(frame.columns)}."
        )
    for name in FEATURE_NAMES:
        dtype = frame[name].dtype
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            raise ValueError(
                f"Feature column {name!r} in {description} has dtype {dtype}; expected a numeric column. "
                "Check it for text values."
            )

    features = frame[list(FEATURE_NAMES)].to_numpy(dtype=np.float64)
    nonfinite = ~np.isfinite(features)
    n_bad_rows = int(nonfinite.any(axis=1).sum())
    if n_bad_rows:
        per_column = {name: int(count) for name, count in zip(FEATURE_NAMES, nonfinite.sum(axis=0)) if count}
        if not drop_nonfinite:
            raise ValueError(
                f"{description} has {_count_rows(n_bad_rows)} with NaN or infinite features. "
                f"Counts per column: {per_column}. "
                "Clean the file or pass drop_nonfinite=True to drop those rows."
            )
        logger.info(
            "Dropping %d rows with NaN or infinite features (per column: %s).", n_bad_rows, per_column
        )
    return features


def _labels(frame: pd.DataFrame, description: str) -> np.ndarray:
    if CLASS_COLUMN in frame.columns:
        return _labels_from_strings(frame[CLASS_COLUMN], description)

    present = [name for name in ONE_HOT_COLUMNS if name in frame.columns]
    if not present:
        raise ValueError(
            f"{description} has no class column: expected {CLASS_COLUMN!r} (strings "
            f"{', '.join(CLASS_NAMES)}) or one-hot columns {list(ONE_HOT_COLUMNS)}. "
            f"Found columns: {list(frame.columns)}."
        )
    missing = [name for name in ONE_HOT_COLUMNS if name not in frame.columns]
    if missing:
        raise ValueError(f"{description} has one-hot class columns {present} but lacks {missing}.")
    return _labels_from_one_hot(frame[list(ONE_HOT_COLUMNS)], description)


def _labels_from_strings(column: pd.Series, description: str) -> np.ndarray:
    names = column.astype(str).str.strip()
    codes = names.map({name: label for label, name in enumerate(CLASS_NAMES)})
    unknown = codes.isna()
    if unknown.any():
        counts = names[unknown].value_counts()
        listed = ", ".join(f"{value!r} ({_count_rows(count)})" for value, count in counts.head(5).items())
        raise ValueError(
            f"Column {CLASS_COLUMN!r} in {description} has labels outside {list(CLASS_NAMES)}: {listed}"
            + (f" and {len(counts) - 5} more values." if len(counts) > 5 else ".")
        )
    return codes.to_numpy(dtype=np.int64)


def _labels_from_one_hot(columns: pd.DataFrame, description: str) -> np.ndarray:
    try:
        values = columns.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"One-hot class columns {list(ONE_HOT_COLUMNS)} in {description} are not numeric."
        ) from error
    valid_rows = np.isin(values, (0.0, 1.0)).all(axis=1) & (values.sum(axis=1) == 1)
    if not valid_rows.all():
        n_bad = int((~valid_rows).sum())
        raise ValueError(
            f"{_count_rows(n_bad)} of the one-hot class columns {list(ONE_HOT_COLUMNS)} in {description} "
            f"are not a single 1 among 0s (first at row {int(np.flatnonzero(~valid_rows)[0])})."
        )
    return values.argmax(axis=1).astype(np.int64)


def _training_statistics(x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(x_train) == 0:
        raise ValueError("The training split is empty, so the features cannot be standardised.")
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    constant = std == 0
    if constant.any():
        names = [name for name, flag in zip(FEATURE_NAMES, constant) if flag]
        logger.warning(
            "Features %s are constant in the training split; they are centred but not scaled.", names
        )
        std = np.where(constant, 1.0, std)
    return mean, std


def _count_rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"
