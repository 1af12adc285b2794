"""Run the jets and SVHN examples end to end on small real subsets, without firmware."""

import importlib.util
import json
import math
import pathlib

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def _load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_jets_example_small_subset(tmp_path, data_dir, capsys):
    example = _load_example("lhc_jets")
    argv = [
        "--data-dir", str(data_dir / "jets"),
        "--output-dir", str(tmp_path),
        "--max-rows", "1500",
        "--epochs", "3",
        "--batch-size", "128",
        "--dnn-epochs", "3",
        "--hidden", "4,1",
        "--max-complexity", "0",
        "--restarts", "2",
        "--skip-firmware",
        "--verbose", "0",
    ]  # fmt: skip

    assert example.main(argv) == 0

    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["roc_auc"]) == {"g", "q", "w", "z", "t"}
    assert all(0.0 <= auc <= 1.0 for auc in metrics["roc_auc"].values())
    assert len(metrics["complexities"]) == 5
    assert metrics["accuracy_ratio"] == pytest.approx(metrics["float_accuracy"] / metrics["dnn_accuracy"])
    assert metrics["expression_max_abs_error"] < 1e-3
    assert metrics["n_test"] == 300
    assert [run["seed"] for run in metrics["runs"]] == [123, 124]
    kept = max(metrics["runs"], key=lambda run: run["val_accuracy"])
    assert metrics["kept_seed"] == kept["seed"]
    assert metrics["firmware_accuracy"] is None
    for name in ("roc_curves.png", "training_curves.png", "expressions.txt", "model.keras"):
        assert (tmp_path / name).is_file(), name
    output = capsys.readouterr().out
    assert "Reference float DNN 64-32-32: test accuracy" in output
    assert "Accuracy SymbolNet / DNN" in output


@pytest.mark.slow
def test_jets_prune_to_complexity_budget(data_dir):
    import keras
    import numpy as np

    import hls4ml_symbolnet as sn
    from hls4ml_symbolnet.datasets import load_jets
    from hls4ml_symbolnet.export import complexity, to_sympy

    example = _load_example("lhc_jets")
    data = load_jets(data_dir, seed=2, max_rows=1500)
    model = sn.build_symbolnet(16, 5, hidden=[(3, 1)], seed=2)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    model.fit(data.x_train, data.one_hot(data.y_train), epochs=2, batch_size=128, verbose=0)
    start_complexity = np.mean([complexity(e) for e in to_sympy(model)])
    start_pruned = model.sparsity()["weight"]
    budget = start_complexity / 2

    removed = example.prune_to_complexity(model, data.x_val, data.y_val, budget)

    final_complexity = np.mean([complexity(e) for e in to_sympy(model)])
    assert final_complexity <= budget
    assert removed[-1]["mean_complexity"] == pytest.approx(final_complexity)
    # Zeroed weights count as pruned, so the model stays a SymbolNet model with more pruning.
    assert model.sparsity()["weight"] > start_pruned
    outputs = model.predict(data.x_val, verbose=0)
    assert removed[-1]["val_accuracy"] == pytest.approx(np.mean(outputs.argmax(axis=1) == data.y_val))


def test_jets_example_rejects_bad_hidden(tmp_path):
    example = _load_example("lhc_jets")
    with pytest.raises(SystemExit):
        example.parse_args(["--hidden", "10"])


def test_jets_example_missing_file(tmp_path, capsys):
    example = _load_example("lhc_jets")

    code = example.main(["--data-dir", str(tmp_path / "absent.parquet"), "--output-dir", str(tmp_path)])

    assert code == 2
    assert "absent.parquet does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_svhn_example_on_17_crops(tmp_path, data_dir, capsys):
    example = _load_example("svhn")
    argv = [
        "--data", str(data_dir / "svhn_samples" / "svhn_17_samples.npz"),
        "--output-dir", str(tmp_path),
        "--epochs", "20",
        "--learning-rate", "0.05",
        "--n-unary", "2",
        "--n-binary", "1",
        "--skip-firmware",
        "--verbose", "0",
    ]  # fmt: skip

    assert example.main(argv) == 0

    output = capsys.readouterr().out
    assert "far too few to train on" in output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["too_few_to_train"] is True
    assert metrics["n_images"] == 4
    # The one test image leaves the AUC undefined, so no ROC curve is drawn.
    assert metrics["roc_auc"] is None
    assert not (tmp_path / "roc_curves.png").exists()
    assert math.isfinite(metrics["complexity"])
    assert metrics["expression_max_abs_error"] < 1e-3
    assert (tmp_path / "expressions.txt").read_text().startswith("# output: score of digit 7 against digit 1")


def test_svhn_example_missing_folder(tmp_path, capsys):
    example = _load_example("svhn")

    code = example.main(["--data", str(tmp_path), "--output-dir", str(tmp_path / "out")])

    assert code == 2
    assert "No SVHN files" in capsys.readouterr().err
