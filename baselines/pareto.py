"""Accuracy against mean expression complexity for SymbolNet and EQL over a small grid.

SymbolNet points vary the target weight sparsity; EQL points vary the L0.5 penalty strength
and the hard threshold. Every point is trained on the same split, and its float test
accuracy and mean expression complexity (nodes of ``sympy.preorder_traversal``, averaged over
the outputs) are recorded.

Outputs in ``--output-dir``: ``pareto_<task>.json`` (every point and each method's
non-dominated front) and ``pareto_<task>.png``.

Usage::

    python baselines/pareto.py --task jets --data-dir ../shared/data --output-dir output/pareto
    python baselines/pareto.py --task mnist --quick --output-dir /tmp/pareto

``--quick`` trains two points per method on small subsets for a few epochs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

logger = logging.getLogger("hls4ml_symbolnet.baselines.pareto")

TASKS = ("jets", "mnist")

# Per task: layer sizes and operators (shared by both methods), SymbolNet's weight-sparsity
# targets, EQL's (penalty strength, threshold) pairs, and training lengths for full and quick runs.
GRIDS = {
    "jets": {
        "hidden": [(10, 2)],
        "unary": ["sin", "gauss", "tanh", "square"],
        "binary": ["mul"],
        "targets": {"input": 0.5, "unary": 0.3, "binary": 0.3},
        "weight_targets": (0.8, 0.9, 0.95, 0.98),
        "eql_grid": tuple(itertools.product((1e-4, 1e-3, 1e-2), (0.02, 0.1))),
        "learning_rate": 0.005,
        "full": {"max_train": None, "epochs": 100, "batch": 1024, "eql_phases": (20, 60, 20)},
        "quick": {"max_train": 3000, "epochs": 15, "batch": 256, "eql_phases": (3, 8, 3)},
    },
    "mnist": {
        "hidden": [(20, 5)],
        "unary": ["sin", "cos", "exp", "gauss"],
        "binary": ["mul"],
        "targets": {"input": 0.9, "unary": 0.4, "binary": 0.4},
        "weight_targets": (0.95, 0.98, 0.99, 0.995),
        "eql_grid": tuple(itertools.product((1e-4, 1e-3, 1e-2), (0.02, 0.1))),
        "learning_rate": 0.005,
        "full": {"max_train": None, "epochs": 100, "batch": 256, "eql_phases": (20, 60, 20)},
        "quick": {"max_train": 1500, "epochs": 10, "batch": 128, "eql_phases": (2, 6, 2)},
    },
}


def load_data(task: str, data_dir, seed: int, max_train: int | None):
    """Load the task's splits and cut the training split to ``max_train`` rows (stratified)."""
    import dataclasses

    from hls4ml_symbolnet import datasets

    if task == "jets":
        splits = datasets.load_jets(data_dir, seed=seed)
    else:
        splits = datasets.load_mnist(data_dir, seed=seed, allow_download=False)
    if max_train is not None and max_train < len(splits.y_train):
        kept = datasets.stratified_subset(splits.y_train, max_train, seed)
        test_kept = datasets.stratified_subset(splits.y_test, min(len(splits.y_test), max_train // 2), seed)
        splits = dataclasses.replace(
            splits,
            x_train=splits.x_train[kept],
            y_train=splits.y_train[kept],
            x_test=splits.x_test[test_kept],
            y_test=splits.y_test[test_kept],
            split=f"{splits.split}; subsets of {len(kept)} train and {len(test_kept)} test rows",
        )
    return splits


def _point(model, expressions, accuracy: float, seconds: float, **settings) -> dict:
    from hls4ml_symbolnet.export import complexity

    complexities = [complexity(expression) for expression in expressions]
    return {
        **settings,
        "accuracy": accuracy,
        "complexity": float(np.mean(complexities)),
        "complexities": complexities,
        "seconds": seconds,
    }


def symbolnet_point(splits, grid: dict, lengths: dict, weight_target: float, seed: int) -> dict:
    """Train one SymbolNet model with the given weight-sparsity target and return its point."""
    import keras

    from hls4ml_symbolnet import build_symbolnet
    from hls4ml_symbolnet.export import to_sympy

    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    model = build_symbolnet(
        splits.n_features,
        splits.n_classes,
        hidden=grid["hidden"],
        unary_operators=grid["unary"],
        binary_operators=grid["binary"],
        target_sparsity={**grid["targets"], "weight": weight_target},
        seed=seed,
    )
    model.compile(optimizer=keras.optimizers.Adam(grid["learning_rate"]))
    model.fit(
        splits.x_train,
        splits.one_hot(splits.y_train),
        epochs=lengths["epochs"],
        batch_size=lengths["batch"],
        verbose=0,
    )
    accuracy = float(np.mean(model.predict(splits.x_test, verbose=0).argmax(axis=1) == splits.y_test))
    return _point(
        model, to_sympy(model), accuracy, time.perf_counter() - start, target_weight_sparsity=weight_target
    )


def eql_point(splits, grid: dict, lengths: dict, strength: float, threshold: float, seed: int) -> dict:
    """Train one EQL model with the given penalty strength and threshold and return its point."""
    import keras
    from hls4ml_symbolnet.baselines.eql import build_eql, eql_to_sympy, train_eql

    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    model = build_eql(
        splits.n_features,
        splits.n_classes,
        hidden=grid["hidden"],
        unary_operators=grid["unary"],
        binary_operators=grid["binary"],
        seed=seed,
    )
    train_eql(
        model,
        splits.x_train,
        splits.one_hot(splits.y_train),
        penalty_strength=strength,
        threshold=threshold,
        phase_epochs=lengths["eql_phases"],
        batch_size=lengths["batch"],
        learning_rate=grid["learning_rate"],
    )
    accuracy = float(np.mean(model.predict(splits.x_test, verbose=0).argmax(axis=1) == splits.y_test))
    return _point(
        model,
        eql_to_sympy(model),
        accuracy,
        time.perf_counter() - start,
        penalty_strength=strength,
        threshold=threshold,
    )


def run_grid(task: str, splits, quick: bool, seed: int) -> dict[str, list[dict]]:
    """Train every grid point of both methods; ``quick`` keeps the lowest and highest setting."""
    grid = GRIDS[task]
    lengths = grid["quick" if quick else "full"]
    weight_targets = grid["weight_targets"]
    eql_grid = grid["eql_grid"]
    if quick:
        weight_targets = (weight_targets[0], weight_targets[-1])
        eql_grid = (eql_grid[0], eql_grid[-1])
    points = {"SymbolNet": [], "EQL": []}
    for target in weight_targets:
        points["SymbolNet"].append(symbolnet_point(splits, grid, lengths, target, seed))
        logger.info("SymbolNet point: %s", points["SymbolNet"][-1])
    for strength, threshold in eql_grid:
        points["EQL"].append(eql_point(splits, grid, lengths, strength, threshold, seed))
        logger.info("EQL point: %s", points["EQL"][-1])
    return points


def non_dominated_mask(accuracy: list[float], complexity: list[float]) -> list[bool]:
    """Return, for each point, whether no other point has higher accuracy at lower complexity."""
    keep = []
    for i, (score, cost) in enumerate(zip(accuracy, complexity)):
        dominated = any(
            other_score >= score and other_cost <= cost and (other_score > score or other_cost < cost)
            for j, (other_score, other_cost) in enumerate(zip(accuracy, complexity))
            if j != i
        )
        keep.append(not dominated)
    return keep


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=TASKS, required=True, help="benchmark task")
    parser.add_argument("--quick", action="store_true", help="two points per method on small subsets")
    parser.add_argument("--data-dir", help="folder with jets/ and mnist/ (default: SYMBOLNET_DATA_DIR)")
    parser.add_argument("--output-dir", default="output/pareto", help="folder for the JSON and PNG files")
    parser.add_argument(
        "--seed", type=int, default=123, help="seed of the split, the subsets and the training"
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    data_dir = args.data_dir or os.environ.get("SYMBOLNET_DATA_DIR")
    output_dir = pathlib.Path(args.output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"error: cannot create --output-dir {output_dir}: {error}", file=sys.stderr)
        return 2

    lengths = GRIDS[args.task]["quick" if args.quick else "full"]
    splits = load_data(args.task, data_dir, args.seed, lengths["max_train"])
    print(f"Data: {splits.source}; {splits.split}")
    points = run_grid(args.task, splits, args.quick, args.seed)
    fronts = {}
    for method, method_points in points.items():
        mask = non_dominated_mask(
            [p["accuracy"] for p in method_points], [p["complexity"] for p in method_points]
        )
        for point, on_front in zip(method_points, mask):
            point["on_front"] = on_front
        fronts[method] = sorted((p for p in method_points if p["on_front"]), key=lambda p: p["complexity"])

    json_path = output_dir / f"pareto_{args.task}.json"
    png_path = output_dir / f"pareto_{args.task}.png"
    result = {
        "task": args.task,
        "quick": args.quick,
        "seed": args.seed,
        "data": splits.split,
        "points": points,
        "fronts": fronts,
    }
    json_path.write_text(json.dumps(result, indent=2) + "\n")

    try:
        from hls4ml_symbolnet.plots import plot_pareto
    except ImportError as error:
        print(
            f"warning: no PNG written, because hls4ml_symbolnet.plots failed to import: {error}",
            file=sys.stderr,
        )
        png_path = None
    else:
        plot_pareto(
            points,
            png_path,
            score_key="accuracy",
            score_label="test accuracy (float model)",
            title=f"{args.task}: accuracy against mean complexity",
        )
    print(f"{'method':<10} {'setting':<34} {'accuracy':>8} {'complexity':>10} front")
    for method, method_points in points.items():
        for point in method_points:
            setting = {
                k: point[k] for k in ("target_weight_sparsity", "penalty_strength", "threshold") if k in point
            }
            front = "yes" if point["on_front"] else ""
            print(
                f"{method:<10} {json.dumps(setting):<34} {point['accuracy']:>8.3f} "
                f"{point['complexity']:>10.1f} {front}"
            )
    print(f"\nWrote {json_path}" + (f" and {png_path}" if png_path else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
