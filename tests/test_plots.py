"""ROC curves, Pareto fronts and the points file reader."""

import json

import numpy as np
import pytest

from hls4ml_symbolnet.plots import (
    load_points,
    non_dominated,
    plot_pareto,
    plot_roc_curves,
    roc_auc_per_output,
)


def _is_png(path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_roc_auc_matches_sklearn_on_jets(data_dir):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from hls4ml_symbolnet.datasets import load_jets

    data = load_jets(data_dir, seed=1, max_rows=2000)
    classifier = LogisticRegression(max_iter=300).fit(data.x_train, data.y_train)
    scores = classifier.decision_function(data.x_test)

    aucs = roc_auc_per_output(data.y_test, scores)

    assert len(aucs) == 5
    for label, auc in enumerate(aucs):
        assert auc == pytest.approx(roc_auc_score(data.y_test == label, scores[:, label]))
    assert min(aucs) > 0.6


def test_roc_curves_png_per_output(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=300)
    scores = rng.normal(size=(300, 3)) + 2.0 * np.eye(3)[labels]

    path = tmp_path / "plots" / "roc.png"
    aucs = plot_roc_curves(labels, scores, path, class_names=["a", "b", "c"])

    assert _is_png(path)
    assert len(aucs) == 3
    assert all(0.8 < auc <= 1.0 for auc in aucs)


def test_roc_single_column_is_binary(tmp_path):
    labels = np.array([0, 0, 1, 1, 0, 1])
    scores = np.array([0.1, 0.3, 0.35, 0.8, 0.4, 0.9])

    aucs = plot_roc_curves(labels, scores, tmp_path / "roc.png", class_names=["7 vs 1"])

    assert aucs == [pytest.approx(8 / 9)]


def test_roc_single_column_rejects_multiclass(tmp_path):
    with pytest.raises(ValueError, match="binary labels"):
        plot_roc_curves(np.array([0, 1, 2]), np.array([0.1, 0.2, 0.3]), tmp_path / "roc.png")


def test_roc_absent_class_gets_nan():
    labels = np.array([0, 0, 1, 1])
    scores = np.random.default_rng(1).normal(size=(4, 3))

    aucs = roc_auc_per_output(labels, scores)

    assert np.isnan(aucs[2])
    assert not np.isnan(aucs[0])


def test_roc_rejects_nan_scores(tmp_path):
    scores = np.array([[0.1, np.nan], [0.2, 0.3]])
    with pytest.raises(ValueError, match="NaN"):
        plot_roc_curves(np.array([0, 1]), scores, tmp_path / "roc.png")


def test_roc_rejects_wrong_class_names(tmp_path):
    with pytest.raises(ValueError, match="class_names"):
        plot_roc_curves(np.array([0, 1]), np.zeros((2, 2)), tmp_path / "roc.png", class_names=["a"])


def test_non_dominated_mask():
    scores = [0.9, 0.8, 0.85, 0.7, 0.9, float("nan")]
    complexities = [100, 20, 50, 60, 120, 1]

    mask = non_dominated(scores, complexities)

    # 0.7 at 60 is dominated by 0.85 at 50; 0.9 at 120 by 0.9 at 100; NaN is never kept.
    assert mask.tolist() == [True, True, True, False, False, False]


def test_non_dominated_keeps_ties():
    assert non_dominated([0.5, 0.5], [10, 10]).tolist() == [True, True]


def test_non_dominated_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="same length"):
        non_dominated([0.5, 0.6], [10])


def test_pareto_plot_with_reference_series(tmp_path):
    symbolnet = [
        {"complexity": 20, "accuracy": 0.6},
        {"complexity": 90, "accuracy": 0.8},
        {"complexity": 60, "accuracy": 0.55},
    ]
    eql = [{"complexity": 150, "accuracy": 0.7}]

    fronts = plot_pareto({"SymbolNet": symbolnet, "EQL": eql}, tmp_path / "pareto.png")

    assert _is_png(tmp_path / "pareto.png")
    assert [point["complexity"] for point in fronts["SymbolNet"]] == [20, 90]
    assert len(fronts["EQL"]) == 1


def test_pareto_plot_names_missing_key(tmp_path):
    with pytest.raises(ValueError, match="'auc'"):
        plot_pareto({"SymbolNet": [{"complexity": 3, "accuracy": 0.5}]}, tmp_path / "p.png", score_key="auc")


def test_load_points_layouts(tmp_path):
    points = [{"complexity": 12, "auc": 0.8, "penalty": 1e-3}]
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(points))
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"points": points}))

    assert load_points(listed, score_key="auc") == points
    assert load_points(wrapped, score_key="auc") == points


def test_load_points_rejects_bad_point(tmp_path):
    path = tmp_path / "points.json"
    path.write_text(json.dumps([{"complexity": "many", "accuracy": 0.5}]))
    with pytest.raises(ValueError, match="point 0 has complexity='many'"):
        load_points(path)


def test_load_points_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_points(tmp_path / "absent.json")
