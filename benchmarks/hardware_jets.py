"""Open-source hardware figures of a SymbolNet jet tagger and the QP DNN baseline, from one flow.

Trains a SymbolNet model and the pruned, quantized QP DNN (QKeras, 64-32-32-5) on the jet
features with a fixed seed, then runs ``hls4ml_symbolnet.hardware.synthesize_hardware`` on both:
da4ml Verilog, latency and bit-exact check in Verilator, cell counts from Yosys. Both designs
use the fixed-point types their hls4ml conversion would use: SymbolNet the converter's precision
plan sized on 1,000 training rows, the DNN the QKeras quantizers with the input and logit types
of ``baselines.qp_conversion``. The DNN's softmax is left out (its firmware outputs are logits),
SymbolNet has none.

Prints one table and writes ``hardware_jets.json`` (both records and the SymbolNet / DNN ratios
of LUTs and latency) into ``--output-dir``, with each design's folder beside it.

Usage::

    python benchmarks/hardware_jets.py --data-dir ../shared/data --output-dir output/hardware_jets
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pathlib
import sys
import time

# QKeras needs tf.keras to be Keras 2; the variable must be set before TensorFlow is imported.
os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

# Pruning targets for a short training run: most weights go, while enough inputs stay for the
# five classes to separate.
SYMBOLNET_TARGETS = {"weight": 0.9, "input": 0.5, "unary": 0.4, "binary": 0.4}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="folder with jets/ (default: SYMBOLNET_DATA_DIR)")
    parser.add_argument("--output-dir", default="output/hardware_jets", help="folder for all outputs")
    parser.add_argument(
        "--seed", type=int, default=123, help="seed of the split, the weights and the shuffling"
    )
    parser.add_argument("--symbolnet-epochs", type=int, default=40, help="SymbolNet training epochs")
    parser.add_argument("--dnn-epochs", type=int, default=20, help="QP DNN training epochs")
    parser.add_argument("--samples", type=int, default=1000, help="test samples simulated per design")
    parser.add_argument("--no-synthesis", action="store_true", help="skip Yosys")
    return parser.parse_args(argv)


def train_symbolnet(data, args):
    import keras

    import hls4ml_symbolnet as sn

    keras.utils.set_random_seed(args.seed)
    model = sn.build_symbolnet(
        data.n_features,
        data.n_classes,
        hidden=[(10, 3)],
        unary_operators=["sin", "gauss", "tanh", "square"],
        binary_operators=["mul"],
        target_sparsity=SYMBOLNET_TARGETS,
        seed=args.seed,
    )
    model.compile(optimizer=keras.optimizers.Adam(0.005), metrics=["categorical_accuracy"])
    model.fit(
        data.x_train,
        data.one_hot(data.y_train),
        validation_data=(data.x_val, data.one_hot(data.y_val)),
        epochs=args.symbolnet_epochs,
        batch_size=1024,
        verbose=2,
    )
    return model


def dnn_types(model, calibration: np.ndarray) -> tuple[str, str]:
    """Return the input and logit types that ``baselines.qp_conversion`` gives the DNN firmware."""
    from hls4ml_symbolnet.baselines.qp_conversion import (
        INPUT_FRACTIONAL_BITS,
        LOGIT_WIDTH,
        signed_integer_bits,
    )

    input_bits = signed_integer_bits(float(np.max(np.abs(calibration))))
    # The stripped model shares its layers with the pruning model, so a sub-model ending at the
    # logits layer may reach tensors of the other graph. Calling the layers in order avoids that.
    values = calibration.astype("float32")
    for layer in model.layers[1:]:
        values = layer(values)
        if layer.name == "output_dense":
            break
    logit_bits = signed_integer_bits(float(np.max(np.abs(np.asarray(values)))))
    return (
        f"ap_fixed<{input_bits + INPUT_FRACTIONAL_BITS},{input_bits}>",
        f"ap_fixed<{LOGIT_WIDTH},{logit_bits},AP_RND,AP_SAT>",
    )


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(predictions, axis=1) == labels))


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    output_dir = pathlib.Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    from hls4ml_symbolnet.baselines.qp_training import train_qp_dnn
    from hls4ml_symbolnet.converters.precision import make_precision_plan

    from hls4ml_symbolnet.datasets import load_jets
    from hls4ml_symbolnet.hardware import dense_network_from_qkeras, synthesize_hardware

    data = load_jets(args.data_dir, seed=args.seed)
    calibration = data.x_train[:1000]
    x_test = data.x_test[: args.samples]
    results = {}

    start = time.perf_counter()
    symbolnet = train_symbolnet(data, args)
    symbolnet.save(output_dir / "symbolnet_jets.keras")
    plan = make_precision_plan(symbolnet, calibration_data=calibration)
    report = synthesize_hardware(
        symbolnet,
        x_test,
        output_dir / "symbolnet",
        precision=plan,
        max_samples=args.samples,
        name="symbolnet_jets",
        synthesis=not args.no_synthesis,
        require_bit_exact=False,
    )
    results["symbolnet"] = report.to_dict()
    results["symbolnet"]["float_accuracy"] = accuracy(symbolnet.predict(data.x_test, verbose=0), data.y_test)
    results["symbolnet"]["seconds"] = time.perf_counter() - start

    start = time.perf_counter()
    dnn, _ = train_qp_dnn(
        data.x_train,
        data.y_train,
        data.x_val,
        data.y_val,
        epochs=args.dnn_epochs,
        batch_size=1024,
        seed=args.seed,
        n_classes=data.n_classes,
    )
    dnn.save(output_dir / "qp_dnn_jets.h5")
    input_type, logit_type = dnn_types(dnn, calibration)
    network = dense_network_from_qkeras(dnn, input_type=input_type, output_type=logit_type)
    report = synthesize_hardware(
        network,
        x_test,
        output_dir / "qp_dnn",
        max_samples=args.samples,
        name="qp_dnn_jets",
        synthesis=not args.no_synthesis,
        require_bit_exact=False,
    )
    results["qp_dnn"] = report.to_dict()
    results["qp_dnn"]["float_accuracy"] = accuracy(dnn.predict(data.x_test, verbose=0), data.y_test)
    results["qp_dnn"]["seconds"] = time.perf_counter() - start

    ratios = {}
    for figure in ("lut", "ff", "dsp", "latency_cycles"):
        numerator, denominator = results["symbolnet"][figure], results["qp_dnn"][figure]
        if numerator is not None and denominator:
            ratios[f"{figure}_symbolnet_over_dnn"] = numerator / denominator
    results["ratios"] = ratios
    results["data"] = {"source": data.source, "split": data.split}
    (output_dir / "hardware_jets.json").write_text(json.dumps(results, indent=2) + "\n")

    figures = (
        "latency_cycles",
        "ii",
        "lut",
        "ff",
        "dsp",
        "carry",
        "bit_exact",
        "samples_checked",
        "float_accuracy",
    )
    print(f"\n{'figure':<18} {'SymbolNet':>12} {'QP DNN':>12}")
    print("-" * 44)
    for figure in figures:
        print(f"{figure:<18} {str(results['symbolnet'][figure]):>12} {str(results['qp_dnn'][figure]):>12}")
    for name, value in ratios.items():
        print(f"{name}: {value:.3f}")
    print(
        "LUT, FF, DSP: Yosys synth_xilinx estimates, not Vivado place-and-route. Latency: Verilator cycles."
    )
    print(f"Wrote {output_dir / 'hardware_jets.json'}")
    bit_exact = results["symbolnet"]["bit_exact"] and results["qp_dnn"]["bit_exact"]
    return 0 if bit_exact else 1


if __name__ == "__main__":
    sys.exit(main())
