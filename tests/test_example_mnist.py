"""The MNIST example end to end on real images: training, expressions, firmware, outputs."""

import importlib.util
import json
import pathlib

import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "mnist.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("mnist_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_mnist_example_writes_every_output(data_dir, tmp_path, capsys):
    example = _load_example()
    status = example.main(
        [
            "--data-dir", str(data_dir),
            "--output-dir", str(tmp_path),
            "--epochs", "3",
            "--n-unary", "6",
            "--n-binary", "2",
            "--verbose", "0",
        ]
    )
    assert status == 0

    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for key in (
        "float_accuracy",
        "firmware_accuracy",
        "firmware_agreement",
        "mean_complexity",
        "complexities",
        "sparsity",
        "target_sparsity",
        "seconds_per_epoch",
    ):
        assert key in metrics, key
    assert len(metrics["complexities"]) == 10
    assert metrics["float_accuracy"] > 0.3
    assert metrics["firmware_agreement"] >= 0.9
    assert metrics["expression_max_abs_error"] < 1e-3

    for name in ("expressions.txt", "model.keras", "training_curves.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert any((tmp_path / "hls_project").rglob("*.cpp"))

    printed = capsys.readouterr().out
    assert "Mean complexity" in printed
    assert "Firmware (C simulation)" in printed


def test_mnist_example_rejects_unwritable_output(tmp_path):
    example = _load_example()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert example.main(["--output-dir", str(blocker / "sub"), "--epochs", "1"]) == 2


def test_mnist_example_rejects_bad_precision_before_training(tmp_path, capsys):
    example = _load_example()
    assert example.main(["--output-dir", str(tmp_path), "--precision", "garbage"]) == 2
    assert "garbage" in capsys.readouterr().err
    assert not (tmp_path / "model.keras").exists()
