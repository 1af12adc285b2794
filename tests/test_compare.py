"""Comparison script: table layout and sources, and quick end-to-end runs on the real data.

The end-to-end runs start ``baselines/compare.py`` in a subprocess, because the QP baselines need
``TF_USE_LEGACY_KERAS=1`` set before TensorFlow is first imported, which the test process may
already have done with Keras 3.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from hls4ml_symbolnet.baselines import compare, pareto

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "baselines" / "compare.py"


def _record(**values):
    record = compare.new_record("model", "kind")
    record.update(values)
    return record


def test_table_names_each_source():
    record = _record(lut=177, dsp=3, accuracy=0.7123, complexity=16.0)
    record["source"]["lut"] = "estimate:yosys"
    record["source"]["dsp"] = "vivado"
    table = compare.markdown_table([record])
    header, rule, row = table.splitlines()
    assert header.startswith("| model | size | precision | BRAM | DSP | FF | LUT | II | latency [ns] |")
    assert "177 (estimate:yosys)" in row
    assert "3 (vivado)" in row
    assert "0.712" in row
    assert row.count("|") == header.count("|")


def test_table_leaves_missing_figures_blank():
    row = compare.markdown_table([_record()]).splitlines()[2]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[0] == "model"
    assert all(cell == "" for cell in cells[1:])


def test_text_table_aligns_columns():
    lines = compare.text_table([_record(lut=5), _record(lut=12345)]).splitlines()
    assert len(lines) == 4
    assert lines[2].index("5") == lines[3].index("12345")


def test_class_agreement_sigmoid_and_argmax():
    assert compare.class_agreement(np.array([[0.2], [0.7]]), np.array([[0.4], [0.4]])) == 0.5
    assert compare.class_agreement(np.eye(3), np.eye(3)[[0, 2, 2]]) == pytest.approx(2 / 3)


def test_quick_settings_are_smaller():
    for task in compare.TASKS:
        quick, full = compare.settings_for(task, True), compare.settings_for(task, False)
        assert quick.max_train is not None
        assert quick.symbolnet_epochs < full.symbolnet_epochs
        assert sum(quick.eql_phases) < sum(full.eql_phases)


def test_pareto_front_mask():
    mask = pareto.non_dominated_mask([0.7, 0.6, 0.8, 0.5], [10.0, 20.0, 30.0, 5.0])
    assert mask == [True, False, True, True]


def _run(arguments, tmp_path, timeout):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}
    env.pop("TF_USE_LEGACY_KERAS", None)
    return subprocess.run(
        [sys.executable, str(SCRIPT), *arguments],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_svhn_samples_rejected_clearly(data_dir, tmp_path):
    result = _run(
        ["--task", "svhn", "--quick", "--data-dir", str(data_dir), "--output-dir", "out"], tmp_path, 300
    )
    assert result.returncode != 0
    assert "too few" in result.stderr
    assert "--svhn-path" in result.stderr


def _check_comparison(path, kinds):
    result = json.loads(path.read_text())
    records = {record["kind"]: record for record in result["models"]}
    assert set(records) == set(kinds)
    for kind, record in records.items():
        assert record["accuracy"] is not None, kind
        assert record["relative_accuracy"] is not None, kind
        if kind.startswith("float"):
            assert not record["converted"]
            continue
        assert record["converted"], kind
        assert record["firmware_agreement"] >= 0.98, (kind, record["firmware_agreement"])
    for kind in ("symbolnet", "eql", "gp"):
        if kind in records:
            assert records[kind]["complexity"] > 0
    return records


@pytest.mark.slow
def test_quick_jets_comparison(data_dir, tmp_path):
    arguments = ["--task", "jets", "--quick", "--data-dir", str(data_dir), "--output-dir", "out"]
    result = _run([*arguments, "--skip-hardware"], tmp_path, 1500)
    assert result.returncode == 0, result.stderr[-3000:]
    _check_comparison(tmp_path / "out" / "comparison.json", ["symbolnet", "qp_dnn", "eql", "gp", "float_dnn"])
    table = (tmp_path / "out" / "comparison.md").read_text()
    assert "| model | size |" in table


@pytest.mark.slow
def test_quick_mnist_comparison(data_dir, tmp_path):
    arguments = ["--task", "mnist", "--quick", "--data-dir", str(data_dir), "--output-dir", "out"]
    result = _run([*arguments, "--skip-hardware"], tmp_path, 2400)
    assert result.returncode == 0, result.stderr[-3000:]
    _check_comparison(tmp_path / "out" / "comparison.json", ["symbolnet", "qp_cnn", "eql", "float_cnn"])


@pytest.mark.slow
def test_quick_pareto_grid(data_dir, tmp_path):
    script = SCRIPT.parent / "pareto.py"
    arguments = [sys.executable, str(script), "--task", "jets", "--quick", "--data-dir", str(data_dir)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}
    result = subprocess.run(
        [*arguments, "--output-dir", "out"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    points = json.loads((tmp_path / "out" / "pareto_jets.json").read_text())["points"]
    assert len(points["SymbolNet"]) == 2
    assert len(points["EQL"]) == 2
    for point in points["SymbolNet"] + points["EQL"]:
        assert 0.2 < point["accuracy"] <= 1.0
        assert point["complexity"] > 0
    assert any(point["on_front"] for point in points["EQL"])
    assert (tmp_path / "out" / "pareto_jets.png").stat().st_size > 1000
