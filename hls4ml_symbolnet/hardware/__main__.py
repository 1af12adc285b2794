"""Command line for the open-source hardware flow.

Examples::

    python -m hls4ml_symbolnet.hardware output/mnist/model.keras --data mnist --seed 123 \\
        --output-dir output/mnist/hardware
    python -m hls4ml_symbolnet.hardware qp_dnn.h5 --qkeras --input-type 'ap_fixed<16,6>' \\
        --data jets --output-dir output/qp_dnn_hardware

SymbolNet types come from the converter's precision plan, sized on ``--calibration-split``
(the training split by default, as the MNIST example's conversion does). Writes the Verilog,
``hardware.json`` and ``summary.md`` into ``--output-dir``, prints the figures and exits with 1
when the simulated design is not bit-exact.
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
import sys

import numpy as np

DATASETS = ("jets", "mnist")
SPLITS = ("train", "val", "test")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m hls4ml_symbolnet.hardware",
        description="Verilog, Verilator latency and bit-exact check, and Yosys resources for one model.",
    )
    parser.add_argument("model", help="SymbolNet .keras file, or a QKeras model file with --qkeras")

    data = parser.add_argument_group("data")
    data.add_argument(
        "--data", required=True, help="'jets', 'mnist', or a .npy/.npz file of inputs (npz key 'x')"
    )
    data.add_argument(
        "--data-dir", default=None, help="folder with the data sets; default: SYMBOLNET_DATA_DIR"
    )
    data.add_argument("--seed", type=int, default=0, help="split seed of the data set; use the training seed")
    data.add_argument("--split", choices=SPLITS, default="test", help="split to simulate")
    data.add_argument(
        "--calibration-split",
        choices=SPLITS,
        default="train",
        help="SymbolNet: split that sizes the converter's types, as calibration_data does in conversion",
    )
    data.add_argument(
        "--max-rows", type=int, default=None, help="jets: stratified subset size, as in training"
    )
    data.add_argument("--samples", type=int, default=1000, help="number of samples to simulate")

    outputs = parser.add_argument_group("outputs")
    outputs.add_argument(
        "--output-dir", required=True, help="folder for the Verilog, hardware.json, summary.md"
    )
    outputs.add_argument("--name", default="model", help="Verilog module name")

    types = parser.add_argument_group("fixed-point types")
    types.add_argument(
        "--precision",
        default=None,
        help="SymbolNet: default precision of the converter's plan, e.g. 'ap_fixed<18,10>' (its default)",
    )
    types.add_argument("--qkeras", action="store_true", help="the model is a QKeras (tf_keras) dense network")
    types.add_argument(
        "--input-type", default="ap_fixed<16,6>", help="QKeras: fixed-point type of the inputs"
    )
    types.add_argument(
        "--output-type", default=None, help="QKeras: type of the last layer's output (default: exact)"
    )

    design = parser.add_argument_group("design and tools")
    design.add_argument(
        "--latency-cutoff", type=float, default=5.0, help="delay budget per stage (da4ml units)"
    )
    design.add_argument("--register-layers", type=int, default=1, help="registers per pipeline stage")
    design.add_argument("--clock-period", type=float, default=5.0, help="clock period in ns, for latency_ns")
    design.add_argument("--no-synthesis", action="store_true", help="skip Yosys")
    design.add_argument(
        "--jobs", type=int, default=None, help="parallel jobs of the Verilator C++ build (default: all cores)"
    )
    return parser.parse_args(argv)


def load_inputs(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    """Return the inputs to simulate and the calibration inputs that size the SymbolNet types.

    With a data set name they are the ``--split`` and ``--calibration-split`` splits; with a
    .npy/.npz file both are its array.
    """
    if args.data in DATASETS:
        from hls4ml_symbolnet import datasets

        if args.data == "jets":
            splits = datasets.load_jets(args.data_dir, seed=args.seed, max_rows=args.max_rows)
        else:
            splits = datasets.load_mnist(args.data_dir, seed=args.seed)
        return getattr(splits, f"x_{args.split}"), getattr(splits, f"x_{args.calibration_split}")
    path = pathlib.Path(args.data)
    if not path.is_file():
        raise FileNotFoundError(
            f"--data {args.data!r} is neither {' nor '.join(DATASETS)} nor an existing file."
        )
    if path.suffix == ".npz":
        with np.load(path) as archive:
            if "x" not in archive:
                raise KeyError(f"{path} has no array named 'x'; arrays found: {list(archive)}")
            x = archive["x"]
    else:
        x = np.load(path)
    return x, x


def load_qkeras(path: str):
    """Load a QKeras model with its custom objects, inside TFMOT's pruning scope when TFMOT is installed."""
    from qkeras.utils import load_qmodel

    try:
        import tensorflow_model_optimization as tfmot
    except ImportError:
        return load_qmodel(path, compile=False)
    with tfmot.sparsity.keras.prune_scope():
        return load_qmodel(path, compile=False)


def print_report(report) -> None:
    rows = [
        ("latency_cycles", report.latency_cycles),
        ("latency_ns", report.latency_ns),
        ("ii", report.ii),
        ("bit_exact", report.bit_exact),
        ("samples_checked", report.samples_checked),
        ("lut", report.lut),
        ("ff", report.ff),
        ("dsp", report.dsp),
        ("carry", report.carry),
        ("bram", report.bram),
        ("da4ml_lut_estimate", round(report.da4ml_lut_estimate)),
    ]
    print(f"{'figure':<20} {'value':>10}")
    print("-" * 31)
    for name, value in rows:
        print(f"{name:<20} {str(value):>10}")
    print(
        "Resource figures: Yosys synth_xilinx estimates, not Vivado place-and-route; latency_ns is not timed."
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.qkeras and "tensorflow" not in sys.modules:
        # QKeras layers are Keras 2 layers: tf.keras must be tf_keras, chosen before TensorFlow loads.
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from hls4ml_symbolnet.hardware import BitExactnessError, MissingToolError, synthesize_hardware

    x, x_calibration = load_inputs(args)
    model = args.model
    precision = None
    if args.qkeras:
        from hls4ml_symbolnet.hardware import dense_network_from_qkeras

        model = dense_network_from_qkeras(load_qkeras(args.model), args.input_type, args.output_type)
    else:
        import keras

        import hls4ml_symbolnet.model  # noqa: F401  (registers the SymbolNet classes for loading)
        from hls4ml_symbolnet.converters.precision import make_precision_plan

        model = keras.models.load_model(args.model, compile=False)
        kwargs = {} if args.precision is None else {"default_precision": args.precision}
        precision = make_precision_plan(model, calibration_data=x_calibration, **kwargs)
    try:
        report = synthesize_hardware(
            model,
            x,
            args.output_dir,
            precision=precision,
            latency_cutoff=args.latency_cutoff,
            register_layers=args.register_layers,
            clock_period_ns=args.clock_period,
            max_samples=args.samples,
            name=args.name,
            jobs=args.jobs,
            synthesis=not args.no_synthesis,
            require_bit_exact=False,
        )
    except (MissingToolError, BitExactnessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_report(report)
    print(f"Wrote {pathlib.Path(args.output_dir) / 'hardware.json'}")
    if not report.bit_exact:
        print(
            f"error: {report.mismatches} of {report.samples_checked} samples differ from the reference",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
