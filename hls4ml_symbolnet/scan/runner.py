"""Run a multi-objective Optuna scan over SymbolNet hyperparameters with one or many workers.

A study lives in an Optuna RDB storage: an SQLite file by default, or any SQLAlchemy URL such as
`postgresql://user@host/db`, which lets worker processes on several machines share it. The data set
spec and the search space are stored in the study's user attributes when it is created, so every
worker that joins later trains on the same split and draws from the same space.

NOTE: the tests run SQLite only. Server URLs (PostgreSQL, MySQL) take the same Optuna
`RDBStorage` path but need their database driver installed, such as psycopg2.

Each worker stops once the study contains `n_trials` complete trials, so running a worker again
on an interrupted study resumes it instead of starting over. Workers send heartbeats; a trial whose
worker died is marked failed after the grace period and queued again with the same parameters.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Mapping, Sequence

from hls4ml_symbolnet.scan.data import DatasetSpec
from hls4ml_symbolnet.scan.space import SearchSpace, default_space

__all__ = [
    "default_storage",
    "open_study",
    "pareto_front",
    "run_scan",
    "run_worker",
    "write_pareto_front",
]

logger = logging.getLogger(__name__)

DIRECTIONS = ("maximize", "minimize")
"""Objective directions: validation score up, mean complexity down."""

HEARTBEAT_SECONDS = 30
GRACE_SECONDS = 120
MAX_RETRIES = 2
SQLITE_TIMEOUT_SECONDS = 60


def _optuna():
    try:
        import optuna
    except ImportError as error:
        raise ImportError(
            "Scans need Optuna. Install it with `pip install hls4ml-symbolnet[scan]`."
        ) from error
    return optuna


def default_storage(output_dir: str | os.PathLike) -> str:
    """Return the SQLite URL of `scan.db` in `output_dir`, the storage used when none is given."""
    path = pathlib.Path(output_dir).resolve() / "scan.db"
    return f"sqlite:///{path}"


def _make_storage(url: str, heartbeat_seconds: int, grace_seconds: int):
    optuna = _optuna()
    if "://" not in url:
        raise ValueError(
            f"`storage` must be an SQLAlchemy database URL such as sqlite:///scan.db or "
            f"postgresql://user@host/db. Received: {url!r}"
        )
    engine_kwargs = {}
    if url.startswith("sqlite"):
        pathlib.Path(url.split(":///", 1)[-1]).parent.mkdir(parents=True, exist_ok=True)
        # Several worker processes write to one SQLite file; wait for the lock instead of failing.
        engine_kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_SECONDS}}
    with warnings.catch_warnings():
        # Heartbeats are marked experimental in Optuna 5.1.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=heartbeat_seconds,
            grace_period=grace_seconds,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(MAX_RETRIES),
        )


def _make_sampler(name: str, seed: int | None):
    optuna = _optuna()
    samplers = {
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed, n_startup_trials=6),
        "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
    }
    if name not in samplers:
        raise ValueError(f"Unknown sampler {name!r}. Choose one of {sorted(samplers)}.")
    return samplers[name]()


def open_study(
    storage: str,
    study_name: str,
    dataset: DatasetSpec | None = None,
    space: SearchSpace | None = None,
    sampler: str = "tpe",
    seed: int | None = None,
    heartbeat_seconds: int = HEARTBEAT_SECONDS,
    grace_seconds: int = GRACE_SECONDS,
):
    """Create a study, or load it if `study_name` exists in `storage`.

    A new study stores `dataset` (required then) and `space` (`default_space` of the data set when
    None). Loading an existing study
    checks that a given `dataset` or `space` matches the stored one.

    Returns:
        `(study, dataset, space)` with the spec and space stored in the study.

    Raises:
        ValueError: a new study without `dataset`, or a given spec or space that differs from the
            stored one.
    """
    optuna = _optuna()
    rdb = _make_storage(storage, heartbeat_seconds, grace_seconds)
    existing = {summary.study_name for summary in optuna.get_all_study_summaries(rdb)}
    if study_name not in existing and dataset is None:
        raise ValueError(
            f"Study {study_name!r} does not exist in {storage}; give `dataset` to create it. "
            f"Studies there: {sorted(existing) or 'none'}."
        )
    study = optuna.create_study(
        storage=rdb,
        study_name=study_name,
        directions=list(DIRECTIONS),
        sampler=_make_sampler(sampler, seed),
        load_if_exists=True,
    )
    stored_dataset = study.user_attrs.get("dataset")
    stored_space = study.user_attrs.get("search_space")
    if stored_dataset is None:
        space = space or default_space(dataset.name)
        # NOTE: two coordinators that create the same study at the same moment may both write
        # these attributes. Start one coordinator and let other workers join afterwards.
        study.set_user_attr("dataset", dataset.as_dict())
        study.set_user_attr("search_space", space.as_dict())
        study.set_user_attr("metric", dataset.metric)
        logger.info("Created study %s in %s for %s", study_name, storage, dataset)
        return study, dataset, space

    _check_matches("data set", dataset.as_dict() if dataset else None, stored_dataset, study_name)
    _check_matches("search space", space.as_dict() if space else None, stored_space, study_name)
    n_complete = len(_complete_trials(study))
    logger.info("Loaded study %s from %s with %d complete trials", study_name, storage, n_complete)
    return study, DatasetSpec.from_dict(stored_dataset), SearchSpace.from_dict(stored_space)


def _check_matches(setting: str, given: Mapping | None, stored: Mapping, study_name: str) -> None:
    if given is None or dict(given) == dict(stored):
        return
    differing = sorted(key for key in set(given) | set(stored) if given.get(key) != stored.get(key))
    details = ", ".join(f"{key}: stored {stored.get(key)!r}, given {given.get(key)!r}" for key in differing)
    raise ValueError(
        f"Study {study_name!r} was created with another {setting} ({details}). "
        "Use a new --study-name, or leave the option out to reuse the stored setting."
    )


def _complete_trials(study) -> list:
    optuna = _optuna()
    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))


class _StopWhenDone:
    """Stop a worker once the study has `n_trials` complete trials, or after too many failures."""

    def __init__(self, n_trials: int, max_failures: int, worker: str):
        self.n_trials = n_trials
        self.max_failures = max_failures
        self.worker = worker
        self.failures = 0

    def __call__(self, study, trial) -> None:
        optuna = _optuna()
        n_complete = len(_complete_trials(study))
        if trial.state == optuna.trial.TrialState.COMPLETE:
            attrs = trial.user_attrs
            logger.info(
                "%s: trial %d complete: %s %.4f (test %.4f), mean complexity %.1f, %.0f s; study has %d/%d",
                self.worker,
                trial.number,
                study.user_attrs.get("metric", "score"),
                trial.values[0],
                attrs.get("test_score", float("nan")),
                trial.values[1],
                attrs.get("seconds", float("nan")),
                n_complete,
                self.n_trials,
            )
        elif trial.state == optuna.trial.TrialState.FAIL:
            self.failures += 1
            logger.warning(
                "%s: trial %d failed (%d failures so far): %s",
                self.worker,
                trial.number,
                self.failures,
                trial.user_attrs.get("error", "see the traceback above"),
            )
        if n_complete >= self.n_trials or self.failures >= self.max_failures:
            study.stop()


def run_worker(
    storage: str,
    study_name: str,
    n_trials: int,
    data_dir: str | os.PathLike | None,
    worker_index: int = 0,
    seed: int = 0,
    sampler: str = "tpe",
    max_failures: int | None = None,
    heartbeat_seconds: int = HEARTBEAT_SECONDS,
    grace_seconds: int = GRACE_SECONDS,
) -> list[int]:
    """Run trials of an existing study until it contains `n_trials` complete trials.

    The sampler is seeded with `seed + worker_index`, so workers that share a study draw different
    parameters. Trials whose training diverges are marked failed; the worker gives up after
    `max_failures` failures (default: `n_trials`).

    Returns:
        The numbers of the trials this worker completed.
    """
    optuna = _optuna()
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"`n_trials` must be a positive integer. Received: n_trials={n_trials!r}")
    study, dataset, space = open_study(
        storage,
        study_name,
        sampler=sampler,
        seed=seed + worker_index,
        heartbeat_seconds=heartbeat_seconds,
        grace_seconds=grace_seconds,
    )
    worker = f"worker {worker_index} ({socket.gethostname()}, pid {os.getpid()})"
    if len(_complete_trials(study)) >= n_trials:
        logger.info(
            "%s: study %s already has %d complete trials; nothing to do", worker, study_name, n_trials
        )
        return []

    data = dataset.load(data_dir)
    logger.info("%s: data from %s; %s", worker, data.source, data.split)
    completed: list[int] = []

    def objective(trial):
        from hls4ml_symbolnet.scan.objective import train_trial

        config = space.suggest(trial)
        trial.set_user_attr("worker", worker)
        trial.set_user_attr("config", config.as_dict())
        logger.info("%s: trial %d starts: %s", worker, trial.number, config.as_dict())
        try:
            result = train_trial(config, data, dataset, seed=seed + trial.number)
        except FloatingPointError as error:
            trial.set_user_attr("error", str(error))
            raise
        for key, value in result.as_dict().items():
            trial.set_user_attr(key, value)
        completed.append(trial.number)
        return result.val_score, result.mean_complexity

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(
        objective,
        catch=(FloatingPointError,),
        callbacks=[_StopWhenDone(n_trials, max_failures or n_trials, worker)],
        gc_after_trial=True,
    )
    return completed


def _worker_command(
    storage: str,
    study_name: str,
    n_trials: int,
    data_dir,
    worker_index: int,
    seed: int,
    sampler: str,
    threads,
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "hls4ml_symbolnet.scan",
        "worker",
        "--storage",
        storage,
        "--study-name",
        study_name,
        "--n-trials",
        str(n_trials),
        "--worker-index",
        str(worker_index),
        "--seed",
        str(seed),
        "--sampler",
        sampler,
    ]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    if threads is not None:
        command += ["--threads", str(threads)]
    return command


def run_scan(
    dataset: DatasetSpec,
    output_dir: str | os.PathLike,
    n_trials: int,
    data_dir: str | os.PathLike | None = None,
    n_workers: int = 1,
    storage: str | None = None,
    study_name: str | None = None,
    space: SearchSpace | None = None,
    sampler: str = "tpe",
    seed: int = 0,
    threads_per_worker: int | None = None,
    reference_points: Mapping[str, Sequence[Mapping]] | None = None,
) -> dict:
    """Create or resume a study, run `n_workers` worker processes on it, and write its Pareto front.

    With `n_workers == 1` the trials run in this process. Otherwise each worker is a separate
    `python -m hls4ml_symbolnet.scan worker` process. More workers can join from other machines
    with the same `storage` and `study_name`.

    Returns:
        The summary written to `pareto_front.json` (see `write_pareto_front`).

    Raises:
        RuntimeError: a worker process exited with an error.
    """
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"`n_workers` must be a positive integer. Received: n_workers={n_workers!r}")
    output_dir = pathlib.Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    storage = storage or default_storage(output_dir)
    study_name = study_name or f"symbolnet-{dataset.name}"
    study, dataset, space = open_study(storage, study_name, dataset, space, sampler=sampler, seed=seed)
    start = time.perf_counter()

    if n_workers == 1:
        run_worker(storage, study_name, n_trials, data_dir, worker_index=0, seed=seed, sampler=sampler)
    else:
        processes = []
        for index in range(n_workers):
            command = _worker_command(
                storage, study_name, n_trials, data_dir, index, seed, sampler, threads_per_worker
            )
            logger.info("Starting worker %d: %s", index, " ".join(command))
            processes.append(subprocess.Popen(command))
        failed = []
        for index, process in enumerate(processes):
            return_code = process.wait()
            if return_code != 0:
                failed.append((index, return_code))
        if failed:
            raise RuntimeError(
                f"Worker processes exited with errors (index, exit code): {failed}. Their log is above; "
                "rerun the same command to resume the study."
            )
    logger.info("Scan finished in %.0f s", time.perf_counter() - start)
    return write_pareto_front(study, output_dir, reference_points=reference_points)


def pareto_front(study) -> list[dict]:
    """Return the non-dominated complete trials of `study`, sorted by mean complexity."""
    front = []
    for trial in study.best_trials:
        front.append(_trial_record(trial, study.user_attrs.get("metric", "score")))
    return sorted(front, key=lambda record: (record["mean_complexity"], -record["val_score"]))


def _trial_record(trial, metric: str) -> dict:
    attrs = trial.user_attrs
    return {
        "trial": trial.number,
        "metric": metric,
        "val_score": trial.values[0],
        "test_score": attrs.get("test_score"),
        "mean_complexity": trial.values[1],
        "complexities": attrs.get("complexities"),
        "sparsity": attrs.get("sparsity"),
        "config": attrs.get("config"),
        "expressions": attrs.get("expressions"),
        "worker": attrs.get("worker"),
        "seconds": attrs.get("seconds"),
    }


def write_pareto_front(
    study,
    output_dir: str | os.PathLike,
    reference_points: Mapping[str, Sequence[Mapping]] | None = None,
) -> dict:
    """Write `pareto_front.json` and `pareto_front.png` for `study` into `output_dir`.

    The JSON contains the study's name and trial counts per state, every complete trial's scores, and
    the front with each model's configuration and expressions. The PNG plots validation score
    against mean complexity for SymbolNet and for each series of `reference_points` (for example
    EQL models, each a mapping with `complexity` and the metric as key).

    Returns:
        The JSON content.
    """
    from hls4ml_symbolnet.plots import plot_pareto

    optuna = _optuna()
    output_dir = pathlib.Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    metric = study.user_attrs.get("metric", "score")
    trials = study.get_trials(deepcopy=False)
    counts = {state.name.lower(): 0 for state in optuna.trial.TrialState}
    for trial in trials:
        counts[trial.state.name.lower()] += 1
    complete = [
        _trial_record(trial, metric) for trial in trials if trial.state == optuna.trial.TrialState.COMPLETE
    ]
    front = pareto_front(study) if complete else []
    summary = {
        "study_name": study.study_name,
        "metric": metric,
        "objectives": {"val_score": DIRECTIONS[0], "mean_complexity": DIRECTIONS[1]},
        "dataset": study.user_attrs.get("dataset"),
        "search_space": study.user_attrs.get("search_space"),
        "trial_counts": counts,
        "trials": [
            {key: record[key] for key in ("trial", "val_score", "test_score", "mean_complexity", "worker")}
            for record in complete
        ],
        "pareto_front": front,
    }
    json_path = output_dir / "pareto_front.json"
    json_path.write_text(json.dumps(summary, indent=2))

    series = {"SymbolNet": [{"complexity": r["mean_complexity"], metric: r["val_score"]} for r in complete]}
    note = None
    for name, points in (reference_points or {}).items():
        series[name] = list(points)
    if not reference_points:
        note = "SymbolNet only: no reference (EQL) points were given."
    if complete:
        plot_pareto(
            series,
            output_dir / "pareto_front.png",
            score_key=metric,
            score_label=f"validation {metric}",
            title=f"Study {study.study_name}: {len(complete)} complete trials",
            note=note,
        )
    else:
        logger.warning("Study %s has no complete trial; no Pareto plot written.", study.study_name)
    logger.info("Wrote %s: %d of %d complete trials on the front", json_path, len(front), len(complete))
    return summary
