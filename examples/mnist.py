"""Train SymbolNet on real MNIST, unroll it into expressions and run its firmware in C simulation.

Steps: load MNIST and train one symbolic layer with the self-adaptive sparsity
regulariser. Print the sparsity reached against each target, and one expression per
digit with its complexity and ROC AUC. Then convert the model with hls4ml, compile the
firmware with g++ and compare its predictions on the test images with the float model.

Data: the files shipped for this project are the 10,000 MNIST test images as idx files
plus 5,000 training images as CSV. These 15,000 images are pooled and split stratified
0.6 / 0.2 / 0.2 into train, validation and test with ``--seed``. With the full MNIST
(idx files or ``mnist.npz``), the official test set is the test split.

Outputs in ``--output-dir``: ``metrics.json``, ``expressions.txt``, ``model.keras``,
``training_curves.png``, ``roc_curves.png`` and the HLS project in ``hls_project/``.

Usage::

    python examples/mnist.py --data-dir ../shared/data --output-dir output/mnist
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

import hls4ml_symbolnet as sn  # noqa: E402
from hls4ml_symbolnet.datasets import load_mnist  # noqa: E402
from hls4ml_symbolnet.export import complexity, expression_error, to_latex, to_strings, to_sympy  # noqa: E402
from hls4ml_symbolnet.plots import plot_roc_curves  # noqa: E402
from hls4ml_symbolnet.training import EpochTimer, plot_training_history  # noqa: E402

DEFAULT_TARGETS = {"weight": 0.985, "input": 0.8, "unary": 0.5, "binary": 0.6}
DEFAULT_DECAY_RATES = {"weight": 0.01, "input": 0.01, "unary": 0.3, "binary": 0.3}


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not (value > 0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder with MNIST files (or its parent); default: see load_mnist")
    parser.add_argument("--output-dir", default="output/mnist", help="folder for all outputs")
    parser.add_argument("--epochs", type=positive_int, default=150, help="training epochs (default 150)")
    parser.add_argument("--batch-size", type=positive_int, default=128, help="training batch size (default 128)")
    parser.add_argument("--learning-rate", type=positive_float, default=0.01, help="Adam learning rate (default 0.01)")
    parser.add_argument("--seed", type=int, default=123, help="seed for the split, the weights and the shuffling")
    parser.add_argument("--n-unary", type=int, default=20, help="unary nodes in the symbolic layer")
    parser.add_argument("--n-binary", type=int, default=10, help="binary nodes in the symbolic layer")
    parser.add_argument("--unary", nargs="+", default=["sin", "cos", "exp", "gauss"], help="unary operators")
    parser.add_argument("--binary", nargs="+", default=["mul"], help="binary operators")
    for kind, value in DEFAULT_TARGETS.items():
        parser.add_argument(f"--target-{kind}", type=float, default=value, help=f"target pruned fraction of {kind}")
    for kind, value in DEFAULT_DECAY_RATES.items():
        parser.add_argument(f"--decay-{kind}", type=float, default=value, help=f"decay rate d of the {kind} regulariser")
    parser.add_argument("--precision", default=None, help="firmware default precision, e.g. 'ap_fixed<18,10>'")
    parser.add_argument("--backend", default="Vitis", choices=["Vitis", "Vivado"], help="hls4ml backend")
    parser.add_argument("--no-xla", action="store_true", help="train without XLA compilation (slower)")
    parser.add_argument("--skip-firmware", action="store_true", help="stop after the expressions")
    parser.add_argument("--verbose", type=int, default=2, help="Keras fit verbosity: 0 silent, 1 bar, 2 one line per epoch")
    return parser.parse_args(argv)


def print_table(rows: list[tuple], header: tuple, widths: tuple) -> None:
    line = "  ".join(f"{h:<{w}}" for h, w in zip(header, widths))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(f"{str(v):<{w}}" for v, w in zip(row, widths)))


def shorten(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def run_firmware(model, data, args, output_dir: pathlib.Path, float_pred: np.ndarray) -> dict:
    from hls4ml_symbolnet.converters import simulate_firmware

    run = simulate_firmware(
        model,
        data.x_test,
        output_dir / "hls_project",
        calibration_data=data.x_train,
        backend=args.backend,
        default_precision=args.precision or None,
    )
    compile_seconds = run.compile_seconds
    firmware_out = run.outputs
    firmware_class = firmware_out.argmax(axis=1)
    return {
        "firmware_accuracy": float(np.mean(firmware_class == data.y_test)),
        "firmware_agreement": float(np.mean(firmware_class == float_pred.argmax(axis=1))),
        "firmware_max_abs_error": float(np.max(np.abs(firmware_out - float_pred))),
        "firmware_compile_seconds": compile_seconds,
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    output_dir = pathlib.Path(args.output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / ".write_check").touch()
        (output_dir / ".write_check").unlink()
    except OSError as error:
        print(f"error: cannot write to --output-dir {output_dir}: {error}. Choose a writable folder.", file=sys.stderr)
        return 2

    if args.precision and not args.skip_firmware:
        from hls4ml_symbolnet.converters.precision import parse_precision

        try:
            parse_precision(args.precision, "--precision", args.backend)
        except (ValueError, NotImplementedError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2

    keras.utils.set_random_seed(args.seed)
    data = load_mnist(args.data_dir, seed=args.seed)
    print(f"Data: {data.source}")
    print(f"Split: {data.split}")
    targets = {kind: getattr(args, f"target_{kind}") for kind in DEFAULT_TARGETS}

    model = sn.build_symbolnet(
        data.n_features,
        data.n_classes,
        hidden=[(args.n_unary, args.n_binary)],
        unary_operators=args.unary,
        binary_operators=args.binary,
        target_sparsity=targets,
        decay_rate={kind: getattr(args, f"decay_{kind}") for kind in DEFAULT_DECAY_RATES},
        seed=args.seed,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        metrics=["categorical_accuracy"],
        jit_compile=not args.no_xla,
    )
    timer = EpochTimer()
    history = model.fit(
        data.x_train,
        data.one_hot(data.y_train),
        validation_data=(data.x_val, data.one_hot(data.y_val)),
        epochs=args.epochs,
        batch_size=args.batch_size,
        callbacks=[timer],
        verbose=args.verbose,
    )
    model.save(output_dir / "model.keras")
    plot_training_history(history.history, output_dir / "training_curves.png", targets)

    float_pred = model.predict(data.x_test, verbose=0)
    float_accuracy = float(np.mean(float_pred.argmax(axis=1) == data.y_test))
    sparsity = model.sparsity()
    expressions = to_sympy(model)
    complexities = [complexity(e) for e in expressions]
    max_error = expression_error(model, data.x_test, expressions)

    print(f"\nFloat test accuracy: {float_accuracy:.4f} on {len(data.y_test)} held-out images")
    print(f"Expressions vs model.predict: max abs difference {max_error:.2e}\n")
    print_table(
        [(kind, f"{sparsity.get(kind, float('nan')):.3f}", f"{targets[kind]:.3f}") for kind in DEFAULT_TARGETS],
        ("kind", "sparsity", "target"),
        (8, 9, 7),
    )
    print()
    rows, aucs = [], []
    text = to_strings(expressions, digits=2)
    for digit, (expression, value) in enumerate(zip(text, complexities)):
        auc = float(roc_auc_score(data.y_test == digit, float_pred[:, digit]))
        aucs.append(auc)
        rows.append((digit, shorten(expression), value, f"{auc:.3f}"))
    print_table(rows, ("digit", "expression (constants to 2 digits)", "complexity", "AUC"), (5, 70, 10, 5))
    mean_complexity = float(np.mean(complexities))
    print(f"\nMean complexity: {mean_complexity:.1f}")
    plot_roc_curves(
        data.y_test,
        float_pred,
        output_dir / "roc_curves.png",
        class_names=[f"digit {digit}" for digit in range(data.n_classes)],
        title="SymbolNet on MNIST: ROC curve per digit (test split)",
    )

    with open(output_dir / "expressions.txt", "w") as handle:
        for digit, (expression, latex) in enumerate(zip(to_strings(expressions, digits=None), to_latex(expressions))):
            handle.write(f"# digit {digit}, complexity {complexities[digit]}\n{expression}\n# LaTeX\n{latex}\n\n")

    seconds = timer.seconds[1:] or timer.seconds
    metrics = {
        "float_accuracy": float_accuracy,
        "mean_complexity": mean_complexity,
        "complexities": complexities,
        "roc_auc": aucs,
        "sparsity": sparsity,
        "target_sparsity": targets,
        "seconds_per_epoch": float(np.median(seconds)),
        "epochs": args.epochs,
        "expression_max_abs_error": max_error,
        "data_source": data.source,
        "split": data.split,
        "n_test": int(len(data.y_test)),
        "firmware_accuracy": None,
        "firmware_agreement": None,
    }
    if not args.skip_firmware:
        metrics.update(run_firmware(model, data, args, output_dir, float_pred))
        print(
            f"Firmware (C simulation): accuracy {metrics['firmware_accuracy']:.4f}, class agreement with the "
            f"float model {metrics['firmware_agreement']:.4f}, max abs output difference "
            f"{metrics['firmware_max_abs_error']:.3g}"
        )
    with open(output_dir / "metrics.json", "w") as handle:
        json.dump(metrics, handle, indent=2)
    print(f"\nWrote {output_dir / 'metrics.json'}, expressions.txt, model.keras, training_curves.png, roc_curves.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
