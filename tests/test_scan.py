"""Scan runner: search space, study storage, resuming, stale trials and two worker processes."""

import json
import time

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from hls4ml_symbolnet.scan import (  # noqa: E402
    DatasetSpec,
    SearchSpace,
    default_space,
    open_study,
    run_scan,
    run_worker,
    score_outputs,
    write_pareto_front,
)

# Small enough that a trial on 300 jets trains in a second or two.
TINY_SPACE = SearchSpace(
    layers=(1, 1),
    n_unary=(2, 6),
    n_binary=(0, 2),
    unary_operators=("sin", "gauss"),
    target_weight=(0.8, 0.95),
    epochs=2,
    batch_size=64,
)
TINY_JETS = DatasetSpec("jets", seed=5, max_rows=500)


def _sqlite(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'scan.db'}"


def _states(study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def test_space_suggest_fixed_trial():
    params = {
        "layers": 2,
        "n_unary_0": 5,
        "n_binary_0": 0,
        "n_unary_1": 0,
        "n_binary_1": 0,
        "kept_weight_fraction": 0.01,
        "target_input": 0.6,
        "target_unary": 0.3,
        "target_binary": 0.2,
        "learning_rate": 0.004,
    }

    config = SearchSpace(n_unary=(0, 24)).suggest(optuna.trial.FixedTrial(params))

    # A layer drawn with no nodes gets one unary node.
    assert config.hidden == ((5, 0), (1, 0))
    assert config.target_sparsity["weight"] == pytest.approx(0.99)
    assert config.target_sparsity["input"] == 0.6
    assert config.learning_rate == 0.004
    assert config.unary_operators == ("sin", "cos", "exp", "gauss")


def test_space_equal_bounds_fix_values():
    space = SearchSpace(layers=(1, 1), target_weight=(0.95, 0.95), learning_rate=(0.005, 0.005))
    params = {"n_unary_0": 5, "n_binary_0": 1, "target_input": 0.5, "target_unary": 0.2, "target_binary": 0.2}

    config = space.suggest(optuna.trial.FixedTrial(params))

    assert config.hidden == ((5, 1),)
    assert config.target_sparsity["weight"] == 0.95
    assert config.learning_rate == 0.005


def test_space_dict_round_trip():
    space = SearchSpace(n_unary=(3, 9), binary_operators=("*", "div"), epochs=7)

    restored = SearchSpace.from_dict(json.loads(json.dumps(space.as_dict())))

    assert restored == space
    assert restored.binary_operators == ("mul", "div")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"layers": (2, 1)}, "`layers` must be a \\(low, high\\) pair"),
        ({"target_weight": (0.9, 1.0)}, "`target_weight`"),
        ({"n_unary": (0, 0), "n_binary": (0, 0)}, "at least one node"),
        ({"unary_operators": ("sine",)}, "Unknown unary operator 'sine'"),
        ({"epochs": 0}, "`epochs` must be a positive integer"),
        ({"learning_rate": (0.01, float("nan"))}, "`learning_rate`"),
    ],
    ids=["layers-reversed", "target-one", "no-nodes", "unknown-operator", "zero-epochs", "nan-rate"],
)
def test_space_rejects_invalid(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SearchSpace(**kwargs)


def test_space_rejects_unknown_loss():
    with pytest.raises(ValueError, match="`loss` must be one of \\['mse', 'crossentropy'\\]"):
        SearchSpace(loss="hinge")


def test_default_spaces_per_dataset():
    assert default_space("mnist").layers == (1, 1)
    assert default_space("svhn").layers == (1, 1)
    assert default_space("jets").loss == "crossentropy"
    with pytest.raises(ValueError, match="No default search space for data set 'cifar'"):
        default_space("cifar")


def test_space_from_dict_rejects_unknown_key():
    with pytest.raises(ValueError, match="Unknown search space keys \\['depth'\\]"):
        SearchSpace.from_dict({"depth": 3})


def test_dataset_spec_rejects_invalid():
    with pytest.raises(ValueError, match="Unknown data set 'cifar'"):
        DatasetSpec("cifar")
    with pytest.raises(ValueError, match="jets data set only"):
        DatasetSpec("mnist", max_rows=100)
    with pytest.raises(ValueError, match="`max_train_rows` must be a positive integer"):
        DatasetSpec("jets", max_train_rows=0)


def test_dataset_spec_training_subset(data_dir):
    spec = DatasetSpec("jets", seed=3, max_rows=1000, max_train_rows=100)

    data = spec.load(data_dir)

    assert len(data.y_train) == 100
    assert len(data.y_val) == 200
    assert np.bincount(data.y_train).tolist() == [20] * 5
    assert "training subset of 100 rows" in data.split
    assert spec.n_outputs(data) == 5


def test_dataset_spec_svhn_binary_targets(data_dir):
    spec = DatasetSpec("svhn")
    with pytest.warns(UserWarning, match="too small to train"):
        data = spec.load(data_dir / "svhn_samples" / "svhn_17_samples.npz")

    targets = spec.targets(data, data.y_train)

    assert spec.metric == "auc"
    assert spec.n_outputs(data) == 1
    assert targets.shape == (len(data.y_train), 1)
    assert set(np.unique(targets)) <= {0.0, 1.0}


def test_score_outputs_metrics():
    outputs = np.array([[0.9, 0.1], [0.2, 0.7], [0.6, 0.5]])
    labels = np.array([0, 1, 1])

    assert score_outputs("accuracy", outputs, labels) == pytest.approx(2 / 3)
    assert score_outputs("auc", outputs[:, :1], labels) == pytest.approx(0.0)
    with pytest.raises(FloatingPointError, match="NaN"):
        score_outputs("accuracy", np.array([[np.nan, 0.0]]), np.array([0]))


def test_study_stores_spec_and_rejects_mismatch(tmp_path):
    storage = _sqlite(tmp_path)
    study, dataset, space = open_study(storage, "jets-tiny", TINY_JETS, TINY_SPACE)

    _, loaded_dataset, loaded_space = open_study(storage, "jets-tiny")

    assert loaded_dataset == TINY_JETS
    assert loaded_space == TINY_SPACE
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    with pytest.raises(ValueError, match="max_rows: stored 500, given 600"):
        open_study(storage, "jets-tiny", DatasetSpec("jets", seed=5, max_rows=600))


def test_open_unknown_study_needs_dataset(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        open_study(_sqlite(tmp_path), "absent")


def test_storage_must_be_url(tmp_path):
    with pytest.raises(ValueError, match="SQLAlchemy database URL"):
        open_study(str(tmp_path / "scan.db"), "s", TINY_JETS)


@pytest.mark.slow
def test_worker_resumes_to_total(tmp_path, data_dir):
    storage = _sqlite(tmp_path)
    study, _, _ = open_study(storage, "resume", TINY_JETS, TINY_SPACE)

    first = run_worker(storage, "resume", 2, data_dir)
    second = run_worker(storage, "resume", 3, data_dir)
    third = run_worker(storage, "resume", 3, data_dir)

    assert first == [0, 1]
    assert second == [2]
    assert third == []
    assert _states(study) == {"COMPLETE": 3}
    record = study.trials[0].user_attrs
    assert 0.0 <= record["val_score"] <= 1.0
    assert len(record["complexities"]) == 5
    assert record["mean_complexity"] == pytest.approx(np.mean(record["complexities"]))


@pytest.mark.slow
# The test creates the stale trial with study.ask() and reads the retry record, both of which
# Optuna 5.1 flags with a warning.
@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used")
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_stale_trial_is_retried(tmp_path, data_dir):
    storage = _sqlite(tmp_path)
    study, _, space = open_study(
        storage, "stale", TINY_JETS, TINY_SPACE, heartbeat_seconds=1, grace_seconds=1
    )
    # A trial whose worker died: it is RUNNING with parameters and an old heartbeat.
    stale = study.ask()
    space.suggest(stale)
    study._storage.record_heartbeat(stale._trial_id)
    time.sleep(2.5)

    completed = run_worker(storage, "stale", 1, data_dir, heartbeat_seconds=1, grace_seconds=1)

    trials = study.get_trials()
    assert trials[0].state == optuna.trial.TrialState.FAIL
    assert completed == [1]
    assert trials[1].state == optuna.trial.TrialState.COMPLETE
    assert trials[1].params == trials[0].params
    assert optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(trials[1]) == 0


@pytest.mark.slow
def test_two_worker_processes_share_study(tmp_path, data_dir):
    n_trials = 6
    summary = run_scan(
        TINY_JETS,
        tmp_path,
        n_trials,
        data_dir=data_dir,
        n_workers=2,
        study_name="two-workers",
        space=TINY_SPACE,
        seed=11,
    )

    study, _, _ = open_study(_sqlite(tmp_path), "two-workers")
    trials = study.get_trials()
    states = _states(study)
    workers = [trial.user_attrs["worker"] for trial in trials]
    # Each worker stops once 6 are complete, so the other's last trial may make one more.
    assert states.get("COMPLETE", 0) in (n_trials, n_trials + 1)
    assert set(states) == {"COMPLETE"}
    assert sorted(trial.number for trial in trials) == list(range(len(trials)))
    assert {worker.split(" (")[0] for worker in workers} == {"worker 0", "worker 1"}

    assert summary["trial_counts"]["complete"] == len(trials)
    assert sorted(record["trial"] for record in summary["trials"]) == list(range(len(trials)))
    assert 1 <= len(summary["pareto_front"]) <= len(trials)
    on_disk = json.loads((tmp_path / "pareto_front.json").read_text())
    assert on_disk["pareto_front"] == summary["pareto_front"]
    assert (tmp_path / "pareto_front.png").read_bytes()[:4] == b"\x89PNG"


def test_front_of_empty_study(tmp_path):
    study, _, _ = open_study(_sqlite(tmp_path), "empty", TINY_JETS, TINY_SPACE)

    summary = write_pareto_front(study, tmp_path)

    assert summary["pareto_front"] == []
    assert summary["trial_counts"]["complete"] == 0
    assert not (tmp_path / "pareto_front.png").exists()


@pytest.mark.slow
def test_eql_points_cli_feeds_front(tmp_path, data_dir):
    from hls4ml_symbolnet.plots import load_points
    from hls4ml_symbolnet.scan.cli import main

    output = tmp_path / "eql.json"
    argv = [
        "eql",
        "--dataset", "jets",
        "--data-dir", str(data_dir),
        "--max-rows", "500",
        "--split-seed", "5",
        "--penalty", "0.001",
        "--threshold", "0.01", "0.3",
        "--hidden", "4,1",
        "--phase-epochs", "1", "1", "1",
        "--output", str(output),
    ]  # fmt: skip

    assert main(argv) == 0

    points = load_points(output, score_key="accuracy")
    assert [point["threshold"] for point in points] == [0.01, 0.3]
    assert all(0.0 <= point["accuracy"] <= 1.0 for point in points)
    # A higher hard threshold prunes at least as much and so never raises the complexity.
    assert points[1]["pruned_fraction"] >= points[0]["pruned_fraction"]
    assert points[1]["complexity"] <= points[0]["complexity"]
