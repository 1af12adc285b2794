"""Shared fixtures: the real data folder and quiet TensorFlow start-up."""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
# QKeras and TFMOT need tf_keras as `tf.keras`; TensorFlow fixes that choice when it is first
# imported, so it is set before any test module imports it. `import keras` stays Keras 3.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import pytest  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def _find_data_dir() -> pathlib.Path | None:
    candidates = []
    if os.environ.get("SYMBOLNET_DATA_DIR"):
        candidates.append(pathlib.Path(os.environ["SYMBOLNET_DATA_DIR"]))
    candidates.append(REPO_ROOT.parent / "shared" / "data")
    for candidate in candidates:
        if (candidate / "mnist").is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def data_dir() -> pathlib.Path:
    """Folder with the real data sets (mnist/, jets/, svhn_samples/)."""
    found = _find_data_dir()
    if found is None:
        pytest.skip("real data folder not found: set SYMBOLNET_DATA_DIR to the folder holding mnist/ and jets/")
    return found
