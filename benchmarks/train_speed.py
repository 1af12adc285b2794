"""Training speed of SymbolNet on real MNIST images in the reference notebook's configuration.

Configuration: 784 inputs, one symbolic layer of 20 unary nodes (sin, cos, exp, gauss)
and 5 binary nodes (mul), 10 outputs, batch 256, Adam. The script trains a few epochs.
It prints steps per second (the median over the epochs after the first, because the
first includes graph tracing), samples per second and the peak resident memory of the
process, then writes the same numbers to a JSON record.

Usage::

    python benchmarks/train_speed.py --data-dir ../shared/data --epochs 6 --out train_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import hls4ml_symbolnet as sn  # noqa: E402
from hls4ml_symbolnet.datasets import load_mnist  # noqa: E402
from hls4ml_symbolnet.training import EpochTimer  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Measure SymbolNet training speed on MNIST.")
    parser.add_argument("--data-dir", help="folder with the MNIST files (or its parent)")
    parser.add_argument("--epochs", type=int, default=6, help="epochs to time; the first is excluded")
    parser.add_argument("--batch-size", type=int, default=256, help="batch size")
    parser.add_argument("--seed", type=int, default=123, help="seed for weights and shuffling")
    parser.add_argument(
        "--jit-compile",
        choices=["auto", "true", "false"],
        default="true",
        help="Keras jit_compile setting (XLA); 'true' by default",
    )
    parser.add_argument("--steps-per-execution", type=int, default=1, help="Keras steps_per_execution")
    parser.add_argument("--out", default="train_speed.json", help="path of the JSON record")
    return parser.parse_args(argv)


def peak_memory_mib() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0 if sys.platform != "darwin" else peak / 2**20


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.epochs < 2:
        print("error: --epochs must be >= 2 because the first epoch is excluded", file=sys.stderr)
        return 2
    keras.utils.set_random_seed(args.seed)
    data = load_mnist(args.data_dir, seed=args.seed)
    x, y = data.x_train, data.one_hot(data.y_train)

    model = sn.build_symbolnet(
        784, 10, hidden=[(20, 5)], unary_operators=["sin", "cos", "exp", "gauss"], binary_operators=["mul"], seed=args.seed
    )
    jit = {"auto": "auto", "true": True, "false": False}[args.jit_compile]
    model.compile(
        optimizer=keras.optimizers.Adam(0.005),
        metrics=["categorical_accuracy"],
        jit_compile=jit,
        steps_per_execution=args.steps_per_execution,
    )
    timer = EpochTimer()
    model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size, callbacks=[timer], verbose=0)

    steps_per_epoch = int(np.ceil(len(x) / args.batch_size))
    seconds = np.array(timer.seconds[1:])
    median_seconds = float(np.median(seconds))
    record = {
        "configuration": "784 inputs, SymbolicLayer(20 unary [sin, cos, exp, gauss], 5 binary [mul]), 10 outputs",
        "data": data.source,
        "n_train": int(len(x)),
        "batch_size": args.batch_size,
        "steps_per_epoch": steps_per_epoch,
        "epochs_timed": len(seconds),
        "jit_compile": args.jit_compile,
        "steps_per_execution": args.steps_per_execution,
        "seconds_per_epoch_median": median_seconds,
        "steps_per_second": steps_per_epoch / median_seconds,
        "samples_per_second": len(x) / median_seconds,
        "peak_memory_mib": peak_memory_mib(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
    }
    print(f"{'quantity':<26}{'value':>12}")
    for key in ("steps_per_second", "samples_per_second", "seconds_per_epoch_median", "peak_memory_mib"):
        print(f"{key:<26}{record[key]:>12.2f}")
    with open(args.out, "w") as handle:
        json.dump(record, handle, indent=2)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
