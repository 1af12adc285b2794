"""Train every model of one task, convert each to firmware and print the comparison table.

Models per task, all trained on the same split:

* jets (16 features, 5 classes): SymbolNet, QP DNN (QKeras 6-bit, TFMOT 90% pruned), EQL, GP,
  and the float unpruned DNN as the reference of the relative accuracy.
* mnist (784 pixels, 10 classes) and svhn (1 vs 7, 3,072 pixels): SymbolNet, QP CNN (6-bit,
  92% pruned), EQL, and the float unpruned CNN as the reference.

Each model except the reference goes through hls4ml (``compile()`` and ``predict()`` in C
simulation with g++), and its firmware class agreement with the model it came from is
recorded. Every resource and latency figure names its source:

* ``vivado``: hls4ml's Vivado/Vitis report, when it exists (``--vivado`` runs C synthesis
  where the tool is installed);
* ``estimate:yosys`` and ``estimate:verilator``: the open-source flow of
  ``hls4ml_symbolnet.hardware``, whose Yosys cell counts are not Vivado place-and-route;
* blank, with a note saying why.

Accuracy is that of the firmware on the test split; relative accuracy divides it by the float
reference's accuracy.

Outputs in ``--output-dir``: ``comparison.json`` (one record per model), ``comparison.md``
(the table), and one folder per model with its HLS project and hardware report.

Usage::

    python baselines/compare.py --task jets --data-dir ../shared/data --output-dir output/compare_jets
    python baselines/compare.py --task mnist --quick --output-dir /tmp/compare_mnist

``--quick`` trains on small subsets for a few epochs; its accuracies are far below those of a
full run. On a 2-core machine shared with other jobs, ``--task jets --quick`` took 13 minutes
with the hardware estimates and ``--task mnist --quick --skip-hardware`` 9 minutes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import pathlib
import shutil
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
from hls4ml_symbolnet.baselines.legacy_keras import ensure_legacy_keras  # noqa: E402

logger = logging.getLogger("hls4ml_symbolnet.baselines.compare")

TASKS = ("jets", "mnist", "svhn")
PART = "xcvu9p-flga2577-2-e"
CLOCK_PERIOD_NS = 5.0
FIGURES = ("bram", "dsp", "ff", "lut", "ii", "latency_ns")
MIN_SVHN_TRAINING_IMAGES = 200
TABLE_COLUMNS = (
    ("model", "model"),
    ("size", "size"),
    ("precision", "precision"),
    ("bram", "BRAM"),
    ("dsp", "DSP"),
    ("ff", "FF"),
    ("lut", "LUT"),
    ("ii", "II"),
    ("latency_ns", "latency [ns]"),
    ("accuracy", "accuracy"),
    ("relative_accuracy", "rel. acc."),
    ("complexity", "complexity"),
    ("firmware_agreement", "fw agreement"),
)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Training sizes and lengths of one run."""

    max_train: int | None
    max_test: int | None
    symbolnet_epochs: int
    symbolnet_batch: int
    eql_phases: tuple[int, int, int]
    eql_batch: int
    nn_epochs: int
    nn_batch: int
    nn_learning_rate: float
    gp_population: int
    gp_generations: int
    gp_max_train: int
    hardware_samples: int


def settings_for(task: str, quick: bool) -> Settings:
    """Return the training settings of ``task``; ``quick`` selects the reduced run used by tests."""
    # NOTE: only the quick settings of jets and mnist have been run end to end. The full settings
    # and the svhn task (no official SVHN files here) are untested and may need tuning.
    if task == "jets":
        if quick:
            return Settings(4000, 1000, 30, 256, (5, 15, 5), 256, 15, 256, 3e-3, 200, 15, 2000, 300)
        return Settings(None, None, 200, 1024, (40, 120, 40), 1024, 60, 512, 1e-3, 1000, 100, 20000, 1000)
    if quick:
        # On 2,000 MNIST images the pruned QP CNN reached 0.58 test accuracy after 10 epochs and 0.86
        # after 20 (Adam 3e-3). Near-uniform outputs of a barely trained model let rounding flip classes.
        return Settings(2000, 500, 20, 128, (4, 12, 4), 128, 20, 128, 3e-3, 0, 0, 0, 300)
    return Settings(None, None, 150, 256, (30, 90, 30), 256, 30, 256, 1e-3, 0, 0, 0, 1000)


@dataclasses.dataclass
class TaskData:
    """Flat float32 inputs and integer labels of one task, plus how they were made."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    image_shape: tuple[int, int, int] | None
    description: str

    def one_hot(self, labels: np.ndarray) -> np.ndarray:
        return np.eye(self.n_classes, dtype=np.float32)[labels]


def _subset(x, y, limit, seed):
    from hls4ml_symbolnet.datasets import stratified_subset

    if limit is None or limit >= len(y):
        return x, y
    kept = stratified_subset(y, limit, seed)
    return x[kept], y[kept]


def load_task(task: str, args: argparse.Namespace, settings: Settings) -> TaskData:
    """Load the task's data with the package loaders, cut to the subsets of ``settings``.

    Raises:
        SystemExit: for SVHN data too small to train on.
    """
    from hls4ml_symbolnet import datasets

    image_shape = None
    if task == "jets":
        splits = datasets.load_jets(args.data_dir, seed=args.seed)
    elif task == "mnist":
        splits = datasets.load_mnist(args.data_dir, seed=args.seed, allow_download=False)
        image_shape = (28, 28, 1)
    else:
        path = args.svhn_path or (pathlib.Path(args.data_dir or ".") / "svhn_samples" / "svhn_17_samples.npz")
        splits = datasets.load_svhn_binary(path, seed=args.seed)
        image_shape = (32, 32, 3)
        if len(splits.y_train) < MIN_SVHN_TRAINING_IMAGES:
            raise SystemExit(
                f"error: {splits.source} gives only {len(splits.y_train)} training images of digits 1 and 7, "
                f"fewer than {MIN_SVHN_TRAINING_IMAGES}. The 17 SVHN crops shipped with the project data are "
                "too few to train or compare models on; pass the official train_32x32.mat and "
                "test_32x32.mat folder with --svhn-path."
            )
    x_train, y_train = _subset(splits.x_train, splits.y_train, settings.max_train, args.seed)
    x_test, y_test = _subset(splits.x_test, splits.y_test, settings.max_test, args.seed)
    x_val, y_val = _subset(splits.x_val, splits.y_val, settings.max_test, args.seed)
    description = (
        f"{splits.source}; {splits.split}; used {len(y_train)} train / {len(y_val)} val / {len(y_test)} test"
    )
    return TaskData(
        x_train, y_train, x_val, y_val, x_test, y_test, splits.n_classes, image_shape, description
    )


def class_agreement(reference: np.ndarray, other: np.ndarray) -> float:
    """Return the fraction of rows with the same class; one column means a sigmoid cut at 0.5."""
    reference = np.asarray(reference).reshape(len(reference), -1)
    other = np.asarray(other).reshape(len(other), -1)
    if reference.shape[1] == 1:
        return float(np.mean((reference[:, 0] > 0.5) == (other[:, 0] > 0.5)))
    return float(np.mean(reference.argmax(axis=1) == other.argmax(axis=1)))


def predicted_class(outputs: np.ndarray) -> np.ndarray:
    outputs = np.asarray(outputs).reshape(len(outputs), -1)
    if outputs.shape[1] == 1:
        return (outputs[:, 0] > 0.5).astype(np.int64)
    return outputs.argmax(axis=1)


def new_record(name: str, kind: str) -> dict:
    record = {
        "model": name,
        "kind": kind,
        "size": None,
        "nonzero_parameters": None,
        "precision": None,
        "model_accuracy": None,
        "accuracy": None,
        "relative_accuracy": None,
        "complexity": None,
        "complexities": None,
        "converted": False,
        "firmware_agreement": None,
        "firmware_max_abs_error": None,
        "latency_cycles": None,
        "source": {figure: "" for figure in FIGURES},
        "notes": [],
        "seconds": None,
    }
    record.update({figure: None for figure in FIGURES})
    return record


def run_firmware(
    record: dict, hls_model, x_test: np.ndarray, reference_outputs: np.ndarray, y_test
) -> np.ndarray:
    """Compile ``hls_model``, predict ``x_test`` in C simulation and fill the record's firmware fields."""
    hls_model.compile()
    firmware = np.asarray(hls_model.predict(np.ascontiguousarray(x_test, dtype=np.float32)))
    firmware = firmware.reshape(len(x_test), -1)
    reference_outputs = np.asarray(reference_outputs).reshape(len(x_test), -1)
    record["converted"] = True
    record["firmware_agreement"] = class_agreement(reference_outputs, firmware)
    record["firmware_max_abs_error"] = float(np.max(np.abs(firmware - reference_outputs)))
    record["accuracy"] = float(np.mean(predicted_class(firmware) == y_test))
    return firmware


def vivado_figures(record: dict, hls_model, project_dir: pathlib.Path, run_synthesis: bool) -> None:
    """Fill resource and latency figures from hls4ml's Vivado/Vitis report, when one exists.

    With ``run_synthesis`` and ``vivado_hls`` or ``vitis_hls`` on the PATH, C synthesis runs first.
    """
    import hls4ml

    if run_synthesis:
        if shutil.which("vivado_hls") or shutil.which("vitis_hls"):
            hls_model.build(csim=False, synth=True, vsynth=False)
        else:
            record["notes"].append("--vivado given but neither vivado_hls nor vitis_hls is on the PATH")
    try:
        report = hls4ml.report.parse_vivado_report(str(project_dir))
    except (FileNotFoundError, OSError, KeyError, TypeError, ValueError):
        report = None
    synthesis = (report or {}).get("CSynthesisReport")
    if not synthesis:
        return
    for figure, key in (
        ("bram", "BRAM_18K"),
        ("dsp", "DSP"),
        ("ff", "FF"),
        ("lut", "LUT"),
        ("ii", "IntervalMax"),
    ):
        if key in synthesis:
            record[figure] = int(synthesis[key])
            record["source"][figure] = "vivado"
    if "WorstLatency" in synthesis:
        record["latency_cycles"] = int(synthesis["WorstLatency"])
        record["latency_ns"] = int(synthesis["WorstLatency"]) * CLOCK_PERIOD_NS
        record["source"]["latency_ns"] = "vivado"


def hardware_figures(
    record: dict, model, calibration: np.ndarray, output_dir: pathlib.Path, args, precision=None
) -> None:
    """Fill figures that have no Vivado source from the open-source flow (da4ml, Verilator, Yosys).

    ``precision`` is the converter's plan of the hls4ml firmware, so the Verilog uses the
    same fixed-point types; None lets the flow derive one from ``calibration``.
    """
    if args.skip_hardware:
        record["notes"].append("open-source hardware estimate skipped (--skip-hardware)")
        return
    if all(record["source"][figure] == "vivado" for figure in FIGURES):
        return
    from hls4ml_symbolnet.hardware import MissingToolError, synthesize_hardware

    try:
        report = synthesize_hardware(
            model,
            calibration,
            output_dir,
            precision=precision,
            clock_period_ns=CLOCK_PERIOD_NS,
            max_samples=settings_for(args.task, args.quick).hardware_samples,
            name=record["kind"].replace(" ", "_"),
            require_bit_exact=False,
        )
    except MissingToolError as error:
        record["notes"].append(f"no open-source hardware estimate: {error}")
        return
    tools = {"lut": "yosys", "ff": "yosys", "dsp": "yosys", "bram": "yosys", "ii": "verilator"}
    tools["latency_ns"] = "verilator"
    for figure in FIGURES:
        value = getattr(report, figure)
        if record["source"][figure] != "vivado" and value is not None:
            record[figure] = value
            record["source"][figure] = f"estimate:{tools[figure]}"
    if record["source"]["latency_ns"].startswith("estimate"):
        record["latency_cycles"] = report.latency_cycles
    record["hardware_bit_exact"] = report.bit_exact
    record["hardware_samples"] = report.samples_checked
    record["notes"].append(
        "estimate:yosys figures are Yosys synth_xilinx cell counts, not Vivado place-and-route; "
        "latency_ns is simulated cycles x clock period with timing not verified"
    )
    if not report.bit_exact:
        record["notes"].append(f"RTL differs from its fixed-point reference on {report.mismatches} samples")


def no_hardware_path(record: dict, reason: str) -> None:
    if not any(record["source"].values()):
        record["notes"].append(f"no open-source hardware estimate: {reason}")


def count_nonzero_keras(model) -> int:
    return int(sum(np.count_nonzero(np.asarray(weight)) for weight in model.get_weights()))


# ---- models ---------------------------------------------------------------------------------


def train_reference(data: TaskData, settings: Settings, args) -> dict:
    from hls4ml_symbolnet.baselines.qp_models import build_float_cnn, build_float_dnn, to_images
    from hls4ml_symbolnet.baselines.qp_training import train_classifier

    start = time.perf_counter()
    if data.image_shape is None:
        model = build_float_dnn(data.x_train.shape[1], data.n_classes)
        x_train, x_val, x_test = data.x_train, data.x_val, data.x_test
        record = new_record("float DNN 64-32-32 (reference)", "float_dnn")
    else:
        model = build_float_cnn(data.image_shape, data.n_classes)
        x_train, x_val, x_test = (
            to_images(x, data.image_shape) for x in (data.x_train, data.x_val, data.x_test)
        )
        record = new_record("float CNN (reference)", "float_cnn")
    model, _ = train_classifier(
        model,
        x_train,
        data.y_train,
        x_val,
        data.y_val,
        epochs=settings.nn_epochs,
        batch_size=settings.nn_batch,
        seed=args.seed,
        learning_rate=settings.nn_learning_rate,
    )
    outputs = model.predict(x_test, verbose=0)
    record["model_accuracy"] = record["accuracy"] = float(np.mean(predicted_class(outputs) == data.y_test))
    record["size"] = f"{count_nonzero_keras(model)} parameters"
    record["nonzero_parameters"] = count_nonzero_keras(model)
    record["precision"] = "float32"
    record["notes"].append("reference for the relative accuracy; not converted to firmware")
    record["seconds"] = time.perf_counter() - start
    return record


def run_qp(data: TaskData, settings: Settings, args, output_dir: pathlib.Path) -> dict:
    from hls4ml_symbolnet.baselines.qp_conversion import convert_qp_model
    from hls4ml_symbolnet.baselines.qp_models import to_images
    from hls4ml_symbolnet.baselines.qp_training import train_qp_cnn, train_qp_dnn, weight_sparsity

    start = time.perf_counter()
    folder = output_dir / ("qp_dnn" if data.image_shape is None else "qp_cnn")
    common = dict(
        epochs=settings.nn_epochs,
        batch_size=settings.nn_batch,
        learning_rate=settings.nn_learning_rate,
        seed=args.seed,
        n_classes=data.n_classes,
    )
    if data.image_shape is None:
        record = new_record("QP DNN 64-32-32, 6-bit, 90% pruned", "qp_dnn")
        model, _ = train_qp_dnn(
            data.x_train, data.y_train, data.x_val, data.y_val, target_sparsity=0.9, **common
        )
        x_train, x_test, io_type = data.x_train, data.x_test, "io_parallel"
    else:
        record = new_record("QP CNN 16-16-24 / 42-64, 6-bit, 92% pruned", "qp_cnn")
        model, _ = train_qp_cnn(
            data.x_train,
            data.y_train,
            data.x_val,
            data.y_val,
            image_shape=data.image_shape,
            target_sparsity=0.92,
            **common,
        )
        x_train, x_test, io_type = (
            to_images(data.x_train, data.image_shape),
            to_images(data.x_test, data.image_shape),
            "io_stream",
        )
    keras_outputs = model.predict(x_test, verbose=0)
    record["model_accuracy"] = float(np.mean(predicted_class(keras_outputs) == data.y_test))
    nonzero = count_nonzero_keras(model)
    record["nonzero_parameters"] = nonzero
    record["size"] = f"{nonzero} nonzero parameters ({weight_sparsity(model):.0%} of kernels pruned)"
    record["precision"] = "6-bit weights and activations (QKeras quantized_bits(6, 0))"
    hls_model = convert_qp_model(
        model,
        folder / "hls",
        io_type=io_type,
        part=PART,
        clock_period=CLOCK_PERIOD_NS,
        calibration_data=x_train[:1000],
    )
    run_firmware(record, hls_model, x_test, keras_outputs, data.y_test)
    vivado_figures(record, hls_model, folder / "hls", args.vivado)
    if data.image_shape is None:
        from hls4ml_symbolnet.hardware import dense_network_from_qkeras

        hardware_figures(record, dense_network_from_qkeras(model), data.x_test, folder / "hardware", args)
    else:
        no_hardware_path(record, "the open-source flow handles dense networks only, not convolutions")
    record["seconds"] = time.perf_counter() - start
    return record


def symbolnet_settings(task: str, n_classes: int) -> dict:
    """Layer sizes, operators and sparsity targets of the SymbolNet and EQL models of a task."""
    if task == "jets":
        return {
            "hidden": [(10, 2)],
            "unary": ["sin", "gauss", "tanh", "square"],
            "binary": ["mul"],
            "targets": {"weight": 0.9, "input": 0.5, "unary": 0.3, "binary": 0.3},
            "learning_rate": 0.005,
        }
    return {
        "hidden": [(20, 5)],
        "unary": ["sin", "cos", "exp", "gauss"],
        "binary": ["mul"],
        "targets": {"weight": 0.99, "input": 0.9, "unary": 0.4, "binary": 0.4},
        "learning_rate": 0.005,
    }


def convert_symbolic(record: dict, model, data: TaskData, folder: pathlib.Path, outputs, args):
    from hls4ml_symbolnet.converters import convert_from_symbolnet

    hls_model = convert_from_symbolnet(
        model,
        output_dir=str(folder / "hls"),
        part=PART,
        clock_period=CLOCK_PERIOD_NS,
        io_type="io_parallel",
        calibration_data=data.x_train,
    )
    precision = hls_model.config.get_config_value("HLSConfig", {}).get("Model", {}).get("Precision")
    if isinstance(precision, dict):
        precision = precision.get("default", precision)
    record["precision"] = (
        f"{precision} (default; per-layer types from calibration data)" if precision else None
    )
    run_firmware(record, hls_model, data.x_test, outputs, data.y_test)
    vivado_figures(record, hls_model, folder / "hls", args.vivado)
    from hls4ml_symbolnet.converters import plan_from_hls_model

    return plan_from_hls_model(hls_model)


def run_symbolnet(data: TaskData, settings: Settings, args, output_dir: pathlib.Path) -> dict:
    import keras

    from hls4ml_symbolnet import build_symbolnet
    from hls4ml_symbolnet.export import complexity, to_sympy
    from hls4ml_symbolnet.network import fold_network

    start = time.perf_counter()
    config = symbolnet_settings(args.task, data.n_classes)
    record = new_record(f"SymbolNet {config['hidden']}", "symbolnet")
    keras.utils.set_random_seed(args.seed)
    model = build_symbolnet(
        data.x_train.shape[1],
        data.n_classes,
        hidden=config["hidden"],
        unary_operators=config["unary"],
        binary_operators=config["binary"],
        target_sparsity=config["targets"],
        seed=args.seed,
    )
    model.compile(optimizer=keras.optimizers.Adam(config["learning_rate"]))
    model.fit(
        data.x_train,
        data.one_hot(data.y_train),
        epochs=settings.symbolnet_epochs,
        batch_size=settings.symbolnet_batch,
        verbose=0,
    )
    outputs = model.predict(data.x_test, verbose=0)
    record["model_accuracy"] = float(np.mean(outputs.argmax(axis=1) == data.y_test))
    _fill_symbolic(record, to_sympy(model), complexity)
    _fill_size(record, fold_network(model))
    folder = output_dir / "symbolnet"
    plan = convert_symbolic(record, model, data, folder, outputs, args)
    hardware_figures(record, model, data.x_test, folder / "hardware", args, precision=plan)
    record["seconds"] = time.perf_counter() - start
    return record


def _fill_symbolic(record: dict, expressions, complexity) -> None:
    import sympy

    values = [complexity(expression) for expression in expressions]
    record["complexities"] = values
    record["complexity"] = float(np.mean(values))
    record["nonzero_parameters"] = sum(len(expression.atoms(sympy.Float)) for expression in expressions)
    record["expressions"] = [str(expression) for expression in expressions]


def _fill_size(record: dict, folded) -> None:
    """Set the size of a SymbolNet-like network: nonzero weights and biases, and the pruned fraction."""
    linears = [layer.linear for layer in folded.layers] + [folded.output]
    nonzero = sum(int(np.count_nonzero(x.kernel) + np.count_nonzero(x.bias)) for x in linears)
    total = sum(x.kernel.size + x.bias.size for x in linears)
    inputs = int(folded.used_inputs().sum())
    record["nonzero_parameters"] = nonzero
    record["size"] = f"{nonzero} nonzero weights ({1 - nonzero / total:.0%} pruned), {inputs} inputs"


def run_eql(data: TaskData, settings: Settings, args, output_dir: pathlib.Path) -> dict:
    import keras
    from hls4ml_symbolnet.baselines.eql import build_eql, eql_to_sympy, fold_eql, to_symbolnet, train_eql

    from hls4ml_symbolnet.export import complexity

    start = time.perf_counter()
    config = symbolnet_settings(args.task, data.n_classes)
    strength, threshold = args.eql_penalty, args.eql_threshold
    record = new_record(f"EQL {config['hidden']}, L0.5 {strength:g}, threshold {threshold:g}", "eql")
    keras.utils.set_random_seed(args.seed)
    model = build_eql(
        data.x_train.shape[1],
        data.n_classes,
        hidden=config["hidden"],
        unary_operators=config["unary"],
        binary_operators=config["binary"],
        seed=args.seed,
    )
    history = train_eql(
        model,
        data.x_train,
        data.one_hot(data.y_train),
        penalty_strength=strength,
        threshold=threshold,
        phase_epochs=settings.eql_phases,
        batch_size=settings.eql_batch,
        learning_rate=config["learning_rate"],
    )
    outputs = model.predict(data.x_test, verbose=0)
    record["model_accuracy"] = float(np.mean(outputs.argmax(axis=1) == data.y_test))
    _fill_symbolic(record, eql_to_sympy(model), complexity)
    _fill_size(record, fold_eql(model))
    record["eql_pruned_by_threshold"] = [history.pruned, history.total]
    folder = output_dir / "eql"
    copy = to_symbolnet(model)
    plan = convert_symbolic(record, copy, data, folder, outputs, args)
    record["notes"].append("firmware through the SymbolNet converter, from a copy with all thresholds at 0")
    hardware_figures(record, copy, data.x_test, folder / "hardware", args, precision=plan)
    record["seconds"] = time.perf_counter() - start
    return record


def run_gp(data: TaskData, settings: Settings, args, output_dir: pathlib.Path) -> dict:
    from hls4ml_symbolnet.baselines.gp import GPBackendUnavailable, convert_gp_model, fit_gp_classifier

    start = time.perf_counter()
    record = new_record(f"GP ({args.gp_backend}), one expression per class", "gp")
    x_fit, y_fit = _subset(data.x_train, data.y_train, settings.gp_max_train, args.seed)
    try:
        classifier = fit_gp_classifier(
            x_fit,
            y_fit,
            data.n_classes,
            backend=args.gp_backend,
            population_size=settings.gp_population,
            generations=settings.gp_generations,
            seed=args.seed,
        )
    except GPBackendUnavailable as error:
        record["notes"].append(f"skipped: {error}")
        print(f"GP skipped: {error}", file=sys.stderr)
        return record
    outputs = classifier.decision_function(data.x_test)
    record["model_accuracy"] = float(np.mean(classifier.predict(data.x_test) == data.y_test))
    from hls4ml_symbolnet.export import complexity

    _fill_symbolic(record, list(classifier.expressions), complexity)
    record["size"] = f"{record['nonzero_parameters']} constants, fitted on {len(y_fit)} rows"
    folder = output_dir / "gp"
    hls_model = convert_gp_model(
        classifier, folder / "hls", data.x_train, part=PART, clock_period=CLOCK_PERIOD_NS
    )
    record["precision"] = hls_model.symbolnet_firmware_plan.precision
    run_firmware(record, hls_model, data.x_test, outputs, data.y_test)
    vivado_figures(record, hls_model, folder / "hls", args.vivado)
    no_hardware_path(
        record, "the open-source flow takes SymbolNet and dense networks, not GP expression trees"
    )
    record["seconds"] = time.perf_counter() - start
    return record


# ---- table ----------------------------------------------------------------------------------


def _cell(record: dict, key: str) -> str:
    value = record.get(key)
    if value is None:
        return ""
    if key in ("accuracy", "relative_accuracy", "firmware_agreement"):
        return f"{value:.3f}"
    if key == "complexity":
        return f"{value:.1f}"
    if key == "latency_ns":
        text = f"{value:g}"
    else:
        text = str(value)
    source = record.get("source", {}).get(key)
    return f"{text} ({source})" if source else text


def markdown_table(records: list[dict]) -> str:
    """Return the comparison as a Markdown table, each figure followed by its source."""
    header = "| " + " | ".join(title for _, title in TABLE_COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in TABLE_COLUMNS) + "|"
    rows = [
        "| " + " | ".join(_cell(record, key).replace("|", "/") for key, _ in TABLE_COLUMNS) + " |"
        for record in records
    ]
    return "\n".join([header, rule, *rows])


def text_table(records: list[dict]) -> str:
    """Return the comparison as fixed-width text columns."""
    cells = [[title for _, title in TABLE_COLUMNS]]
    cells += [[_cell(record, key) for key, _ in TABLE_COLUMNS] for record in records]
    widths = [max(len(row[i]) for row in cells) for i in range(len(TABLE_COLUMNS))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(row, widths)) for row in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


# ---- main -----------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=TASKS, required=True, help="benchmark task")
    parser.add_argument("--quick", action="store_true", help="small subsets and few epochs (for tests)")
    parser.add_argument(
        "--data-dir", help="folder with jets/, mnist/ and svhn_samples/ (default: SYMBOLNET_DATA_DIR)"
    )
    parser.add_argument("--svhn-path", help="folder with the official SVHN .mat files, or an .npz file")
    parser.add_argument("--output-dir", default="output/compare", help="folder for all outputs")
    parser.add_argument(
        "--seed", type=int, default=123, help="seed of the split, the subsets and the training"
    )
    parser.add_argument("--eql-penalty", type=float, default=1e-2, help="EQL L0.5 penalty strength")
    parser.add_argument("--eql-threshold", type=float, default=0.05, help="EQL hard threshold on |weight|")
    parser.add_argument("--gp-backend", choices=("operon", "pysr"), default="operon", help="GP engine (jets)")
    parser.add_argument(
        "--skip-hardware", action="store_true", help="skip the open-source hardware estimates"
    )
    parser.add_argument(
        "--vivado", action="store_true", help="run Vivado/Vitis HLS C synthesis where installed"
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    # QKeras and TFMOT need tf.keras to be Keras 2, which must be chosen before TensorFlow is
    # first imported. This module imports TensorFlow only inside the functions below.
    ensure_legacy_keras()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.data_dir is None:
        args.data_dir = os.environ.get("SYMBOLNET_DATA_DIR")
    output_dir = pathlib.Path(args.output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"error: cannot create --output-dir {output_dir}: {error}", file=sys.stderr)
        return 2

    settings = settings_for(args.task, args.quick)
    data = load_task(args.task, args, settings)
    print(f"Data: {data.description}")

    runners = [run_symbolnet, run_qp, run_eql] + ([run_gp] if args.task == "jets" else [])
    reference = train_reference(data, settings, args)
    records = []
    for runner in runners:
        records.append(runner(data, settings, args, output_dir))
        logger.info("finished %s in %.0f s", records[-1]["model"], records[-1]["seconds"] or 0)
    records.append(reference)
    for record in records:
        if record["accuracy"] is not None and reference["accuracy"]:
            record["relative_accuracy"] = record["accuracy"] / reference["accuracy"]

    result = {
        "task": args.task,
        "quick": args.quick,
        "seed": args.seed,
        "data": data.description,
        "part": PART,
        "clock_period_ns": CLOCK_PERIOD_NS,
        "relative_accuracy_reference": reference["model"],
        "models": records,
    }
    (output_dir / "comparison.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    table = markdown_table(records)
    (output_dir / "comparison.md").write_text(
        f"# {args.task}: model comparison\n\n{data.description}\n\n{table}\n"
    )
    print()
    print(text_table(records))
    for record in records:
        for note in record["notes"]:
            print(f"note ({record['model']}): {note}")
    print(f"\nWrote {output_dir / 'comparison.json'} and {output_dir / 'comparison.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
