"""Command line of the scan runner: `python -m hls4ml_symbolnet.scan {run,worker,front} ...`.

Examples::

    # 8 trials on MNIST, two worker processes sharing output/scan_mnist/scan.db
    python -m hls4ml_symbolnet.scan run --dataset mnist --data-dir ../shared/data \\
        --n-trials 8 --workers 2 --output-dir output/scan_mnist

    # one more worker on another machine, joining a PostgreSQL study created by `run`
    python -m hls4ml_symbolnet.scan worker --storage postgresql://user@host/scans \\
        --study-name symbolnet-mnist --n-trials 64 --data-dir /data

    # EQL reference points on the same split: a grid of penalty strengths and thresholds
    python -m hls4ml_symbolnet.scan eql --dataset mnist --data-dir ../shared/data \\
        --penalty 1e-4 1e-3 --threshold 0.01 0.05 --output output/scan_mnist/eql_points.json

    # Pareto front of a study, with EQL points from a JSON file
    python -m hls4ml_symbolnet.scan front --storage sqlite:///output/scan_mnist/scan.db \\
        --study-name symbolnet-mnist --reference EQL=eql_points.json --output-dir output/scan_mnist
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pathlib
import sys

from hls4ml_symbolnet.scan.data import DATASETS, DatasetSpec
from hls4ml_symbolnet.scan.space import SearchSpace, default_space

__all__ = ["main"]


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study-name", help="Optuna study name; default symbolnet-<dataset> for `run`")
    parser.add_argument(
        "--storage",
        help="Optuna RDB storage URL, e.g. sqlite:///scan.db or postgresql://user@host/db; "
        "default for `run`: sqlite:///<output-dir>/scan.db",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level: DEBUG, INFO, WARNING")


def _add_worker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n-trials", type=int, required=True, help="complete trials the study should reach")
    parser.add_argument(
        "--data-dir",
        help="folder with mnist/ or jets/ (or the SVHN .mat folder or .npz file); "
        "default: the SYMBOLNET_DATA_DIR environment variable",
    )
    parser.add_argument("--seed", type=int, default=0, help="sampler seed; worker k uses seed + k")
    parser.add_argument("--sampler", default="tpe", choices=["tpe", "nsga2", "random"], help="Optuna sampler")
    parser.add_argument("--threads", type=int, help="TensorFlow CPU threads per worker; default: all cores")


def _parse_reference(values: list[str] | None, metric: str) -> dict[str, list[dict]]:
    from hls4ml_symbolnet.plots import load_points

    series = {}
    for value in values or []:
        name, separator, path = value.partition("=")
        if not separator or not name or not path:
            raise ValueError(
                f"--reference must be NAME=FILE.json, e.g. EQL=eql_points.json. Received: {value!r}"
            )
        series[name] = load_points(path, score_key=metric)
    return series


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m hls4ml_symbolnet.scan",
        description="Multi-objective Optuna scan of SymbolNet: validation score up, mean complexity down.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("Examples::", 1)[1],
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="create or resume a study, run workers, write the Pareto front")
    _add_common(run)
    _add_worker_options(run)
    run.add_argument("--dataset", required=True, choices=DATASETS, help="data set to train on")
    run.add_argument("--output-dir", default="output/scan", help="folder for scan.db and the Pareto front")
    run.add_argument("--workers", type=int, default=1, help="worker processes on this machine")
    run.add_argument("--split-seed", type=int, default=123, help="seed of the train/validation/test split")
    run.add_argument(
        "--max-train-rows", type=int, help="train every trial on a stratified subset of this size"
    )
    run.add_argument("--max-rows", type=int, help="jets only: load a stratified subset of this many rows")
    run.add_argument(
        "--space",
        help="JSON file with search space ranges (keys of SearchSpace) replacing the data set's defaults",
    )
    run.add_argument("--epochs", type=int, help="epochs per trial (overrides the space file)")
    run.add_argument("--batch-size", type=int, help="batch size per trial (overrides the space file)")
    run.add_argument(
        "--reference", action="append", help="NAME=FILE.json with points to compare, e.g. EQL=eql.json"
    )

    worker = commands.add_parser("worker", help="join an existing study and run trials")
    _add_common(worker)
    _add_worker_options(worker)
    worker.add_argument(
        "--worker-index", type=int, default=0, help="index of this worker, for seeds and logs"
    )

    front = commands.add_parser("front", help="write pareto_front.json and .png of an existing study")
    _add_common(front)
    front.add_argument("--output-dir", default="output/scan", help="folder for the Pareto front")
    front.add_argument(
        "--reference", action="append", help="NAME=FILE.json with points to compare, e.g. EQL=eql.json"
    )
    eql = commands.add_parser("eql", help="train EQL over a penalty/threshold grid and write its points")
    eql.add_argument("--dataset", required=True, choices=DATASETS, help="data set to train on")
    eql.add_argument("--data-dir", help="as for `run`")
    eql.add_argument("--split-seed", type=int, default=123, help="seed of the train/validation/test split")
    eql.add_argument("--max-train-rows", type=int, help="train on a stratified subset of this size")
    eql.add_argument("--max-rows", type=int, help="jets only: load a stratified subset of this many rows")
    eql.add_argument("--penalty", type=float, nargs="+", required=True, help="L0.5 penalty strengths")
    eql.add_argument(
        "--threshold", type=float, nargs="+", required=True, help="hard thresholds before fine-tuning"
    )
    eql.add_argument(
        "--hidden", nargs="+", default=["20,5"], help="EQL layers as n_unary,n_binary pairs, e.g. 20,5"
    )
    eql.add_argument("--unary", nargs="+", default=["sin", "cos", "exp", "gauss"], help="unary operators")
    eql.add_argument("--binary", nargs="+", default=["mul"], help="binary operators")
    eql.add_argument(
        "--phase-epochs",
        type=int,
        nargs=3,
        default=[10, 30, 10],
        help="epochs without penalty, with it, fine-tune",
    )
    eql.add_argument("--batch-size", type=int, default=256, help="training batch size")
    eql.add_argument("--learning-rate", type=float, default=0.005, help="Adam learning rate")
    eql.add_argument("--seed", type=int, default=0, help="seed of the weights")
    eql.add_argument("--output", required=True, help="JSON file for the points")
    eql.add_argument("--log-level", default="INFO", help="logging level: DEBUG, INFO, WARNING")
    return parser.parse_args(argv)


def _parse_pairs(values: list[str]) -> list[tuple[int, int]]:
    pairs = []
    for value in values:
        try:
            n_unary, n_binary = (int(part) for part in value.split(","))
        except ValueError:
            raise ValueError(
                f"--hidden takes n_unary,n_binary pairs such as 20,5. Received: {value!r}"
            ) from None
        pairs.append((n_unary, n_binary))
    return pairs


def _run_eql(args: argparse.Namespace) -> None:
    from hls4ml_symbolnet.scan.eql import eql_points

    spec = DatasetSpec(
        args.dataset, seed=args.split_seed, max_train_rows=args.max_train_rows, max_rows=args.max_rows
    )
    data = spec.load(args.data_dir)
    points = eql_points(
        spec,
        data,
        args.penalty,
        args.threshold,
        hidden=_parse_pairs(args.hidden),
        unary_operators=args.unary,
        binary_operators=args.binary,
        phase_epochs=tuple(args.phase_epochs),
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
    )
    output = pathlib.Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"method": "EQL", "dataset": spec.as_dict(), "points": points}, indent=2))
    print(
        f"{'penalty':>9}  {'threshold':>9}  {'val ' + spec.metric:>13}  {'test':>7}  {'mean complexity':>15}"
    )
    for point in points:
        print(
            f"{point['penalty_strength']:>9.3g}  {point['threshold']:>9.3g}  {point[spec.metric]:>13.4f}  "
            f"{point['test_score']:>7.4f}  {point['complexity']:>15.1f}"
        )
    print(f"\nWrote {len(points)} points to {output}")


def _space_from_args(args: argparse.Namespace) -> SearchSpace:
    """Start from the data set's default space, then apply the --space file and the overrides."""
    values = default_space(args.dataset).as_dict()
    if args.space:
        try:
            values.update(json.loads(pathlib.Path(args.space).read_text()))
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"--space {args.space} could not be read as JSON: {error}") from error
    if args.epochs is not None:
        values["epochs"] = args.epochs
    if args.batch_size is not None:
        values["batch_size"] = args.batch_size
    return SearchSpace.from_dict(values)


def _limit_threads(threads: int | None) -> None:
    if threads is None:
        return
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    args = parse_args(argv)
    worker_prefix = f"[worker {args.worker_index}] " if args.command == "worker" else ""
    logging.basicConfig(
        level=args.log_level.upper(), format=f"%(asctime)s {worker_prefix}%(levelname)s %(message)s"
    )

    from hls4ml_symbolnet.scan import runner

    try:
        if args.command == "run":
            dataset = DatasetSpec(
                args.dataset, seed=args.split_seed, max_train_rows=args.max_train_rows, max_rows=args.max_rows
            )
            summary = runner.run_scan(
                dataset,
                args.output_dir,
                args.n_trials,
                data_dir=args.data_dir,
                n_workers=args.workers,
                storage=args.storage,
                study_name=args.study_name,
                space=_space_from_args(args),
                sampler=args.sampler,
                seed=args.seed,
                threads_per_worker=args.threads,
                reference_points=_parse_reference(args.reference, dataset.metric),
            )
            _print_summary(summary, args.output_dir)
        elif args.command == "eql":
            _run_eql(args)
        elif args.command == "worker":
            if not args.storage or not args.study_name:
                raise ValueError("`worker` needs --storage and --study-name of a study created by `run`.")
            _limit_threads(args.threads)
            completed = runner.run_worker(
                args.storage,
                args.study_name,
                args.n_trials,
                args.data_dir,
                worker_index=args.worker_index,
                seed=args.seed,
                sampler=args.sampler,
            )
            print(f"worker {args.worker_index} completed trials {completed}")
        else:
            if not args.storage or not args.study_name:
                raise ValueError("`front` needs --storage and --study-name.")
            study, dataset, _ = runner.open_study(args.storage, args.study_name)
            summary = runner.write_pareto_front(
                study, args.output_dir, reference_points=_parse_reference(args.reference, dataset.metric)
            )
            _print_summary(summary, args.output_dir)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _print_summary(summary: dict, output_dir) -> None:
    counts = ", ".join(f"{count} {state}" for state, count in summary["trial_counts"].items() if count)
    print(f"\nStudy {summary['study_name']}: {counts}")
    print(f"Pareto front ({len(summary['pareto_front'])} models, validation {summary['metric']}):")
    header = f"{'trial':>5}  {'val':>7}  {'test':>7}  {'mean complexity':>15}  hidden"
    print(header)
    print("-" * len(header))
    for record in summary["pareto_front"]:
        hidden = record["config"]["hidden"] if record.get("config") else "?"
        test = record["test_score"] if record["test_score"] is not None else float("nan")
        print(
            f"{record['trial']:>5}  {record['val_score']:>7.4f}  {test:>7.4f}  "
            f"{record['mean_complexity']:>15.1f}  {hidden}"
        )
    print(f"\nWrote {pathlib.Path(output_dir) / 'pareto_front.json'} and pareto_front.png")
