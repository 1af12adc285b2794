"""Convert a trained SymbolNet Keras model into an hls4ml model."""

from __future__ import annotations

import copy
import logging
import os
import tempfile
import warnings
from collections.abc import Mapping

from hls4ml_symbolnet.converters.config import check_backend
from hls4ml_symbolnet.converters.precision import DEFAULT_PRECISION, DEFAULT_TABLE_SIZE, make_precision_plan

__all__ = ["FORMS", "convert_from_symbolnet"]

logger = logging.getLogger(__name__)

FORMS = ("network", "expression")


# Extra keyword arguments that hls4ml 1.3.0's Vivado and Vitis backends read from the
# project configuration; anything else is most likely a typo and is rejected.
_HLS4ML_KEYWORDS = frozenset(
    {
        "clock_uncertainty",
        "namespace",
        "write_weights_txt",
        "write_tar",
        "write_emulation_constants",
        "tb_output_stream",
        "input_data_tb",
        "output_data_tb",
    }
)


def _fold_checked(model):
    import keras

    from hls4ml_symbolnet.network import fold_network

    if not isinstance(model, keras.Model):
        raise TypeError(
            "convert_from_symbolnet expects a SymbolNet Keras model (InputPruning, SymbolicLayer and "
            f"PrunedDense layers). Received: {type(model).__name__}. Build one with "
            "hls4ml_symbolnet.build_symbolnet(); convert "
            "other Keras models with hls4ml.converters.convert_from_keras_model."
        )
    try:
        return fold_network(model)
    except TypeError as error:
        raise TypeError(
            f"convert_from_symbolnet expects a SymbolNet model; {error} Convert other Keras models with "
            "hls4ml.converters.convert_from_keras_model."
        ) from None


def _check_operators(folded):
    from hls4ml_symbolnet.converters import firmware_ops

    for layer in folded.layers:
        for name in layer.unary:
            firmware_ops.unary_kind(name)
        for name in layer.binary:
            firmware_ops.binary_kind(name)


def _check_output_dir(output_dir) -> str:
    """Create ``output_dir`` if needed and check that a file can be written into it."""
    if not isinstance(output_dir, (str, os.PathLike)) or not os.fspath(output_dir):
        raise ValueError(f"`output_dir` must be a folder path. Received: output_dir={output_dir!r}")
    path = os.path.abspath(os.fspath(output_dir))
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise PermissionError(
            f"Cannot write the hls4ml project to output_dir={path!r} ({error.strerror or error}). "
            "Choose a folder you can write to."
        ) from None
    return path


def _merge_config(user_config: Mapping | None, plan_config: dict) -> dict:
    """User configuration with the plan's precision and lookup-table settings filled in."""
    merged = copy.deepcopy(dict(user_config or {}))
    model = dict(merged.get("Model") or {})
    plan_model = plan_config["Model"]
    model["Precision"] = plan_model["Precision"]
    model.setdefault("ReuseFactor", plan_model["ReuseFactor"])
    model.setdefault("Strategy", plan_model["Strategy"])
    model.pop("LookupTables", None)
    merged["Model"] = model
    layers = dict(merged.get("LayerName") or {})
    for name, settings in plan_config["LayerName"].items():
        layer = dict(layers.get(name) or {})
        layer["Precision"] = settings["Precision"]
        if "LookupTables" in settings:
            layer["LookupTables"] = settings["LookupTables"]
        if "ReuseFactor" in settings:
            layer.setdefault("ReuseFactor", model["ReuseFactor"])
        layers[name] = layer
    merged["LayerName"] = layers
    return merged


def convert_from_symbolnet(
    model,
    output_dir: str = "my-hls-test",
    project_name: str = "myproject",
    backend: str = "Vitis",
    part: str = "xcvu9p-flga2577-2-e",
    clock_period: float = 5,
    io_type: str = "io_parallel",
    hls_config: Mapping | None = None,
    calibration_data=None,
    default_precision: str = DEFAULT_PRECISION,
    table_size: int = DEFAULT_TABLE_SIZE,
    form: str = "network",
    **kwargs,
):
    """Convert a trained SymbolNet Keras model into an hls4ml ``ModelGraph``.

    The model's pruning is folded in: pruned inputs and zero weights emit no multiply,
    pruned unary nodes are wires and pruned binary nodes additions, and lookup tables
    exist only for operators that remain. ``write()``, ``compile()`` and ``predict()``
    work with g++ and the headers hls4ml ships; ``build()`` needs Vivado or Vitis HLS.

    Args:
        model: a SymbolNet Keras model (from :func:`hls4ml_symbolnet.build_symbolnet`).
        output_dir: folder of the generated project.
        project_name: name of the top function and project.
        backend: ``"Vitis"`` (default) or ``"Vivado"``.
        part: FPGA part, ``"xcvu9p-flga2577-2-e"`` by default.
        clock_period: clock period in ns.
        io_type: ``"io_parallel"``; SymbolNet layers support no other.
        hls_config: configuration dict, e.g. from :func:`config_from_symbolnet`; its
            explicit types and lookup-table settings are used as given, the rest is chosen
            as :mod:`~hls4ml_symbolnet.converters.precision` describes. Other keys
            (``ReuseFactor``, ``Flows``, ``SkipOptimizers`` ...) pass through to hls4ml.
        calibration_data: inputs of shape (n, n_inputs) to size types and table ranges.
        default_precision: width and modes of data types; ``"ap_fixed<18,10>"``.
        table_size: entries per lookup table (a power of two); 1024.
        form: ``"network"`` (hls4ml IR layers, one per Keras layer) or ``"expression"``
            (hls4ml's ``SymbolicExpression`` layer with one expression per output).
        **kwargs: passed to hls4ml's backend configuration (e.g. ``clock_uncertainty``).

    Returns:
        The hls4ml ``ModelGraph``.

    Raises:
        TypeError: if ``model`` is not a SymbolNet model.
        NotImplementedError: for an operator without an HLS implementation or an
            ``io_type`` other than ``"io_parallel"``.
        ValueError: for an unknown ``form`` or ``backend`` or a precision string hls4ml
            cannot parse.
        PermissionError: if ``output_dir`` cannot be written.
    """
    from hls4ml_symbolnet.converters.register import register_symbolnet

    register_symbolnet()
    backend = check_backend(backend)
    if form not in FORMS:
        raise ValueError(f"`form` must be one of {FORMS}. Received: form={form!r}")
    if io_type != "io_parallel":
        raise NotImplementedError(
            f"SymbolNet firmware supports io_type='io_parallel' only. Received: io_type={io_type!r}"
        )
    if not isinstance(project_name, str) or not project_name.isidentifier() or not project_name.isascii():
        raise ValueError(
            "`project_name` names the C++ top function, so it must be an identifier such as 'myproject'. "
            f"Received: project_name={project_name!r}"
        )
    unknown = sorted(set(kwargs) - _HLS4ML_KEYWORDS)
    if unknown:
        raise TypeError(
            f"convert_from_symbolnet() got unexpected keyword argument(s) {unknown}. "
            f"Known extra hls4ml settings: {sorted(_HLS4ML_KEYWORDS)}."
        )
    folded = _fold_checked(model)
    output_dir = _check_output_dir(output_dir)
    _check_operators(folded)
    if folded.is_fully_pruned():
        warnings.warn(
            f"Model {model.name!r} is fully pruned: no input reaches an output, so every output is a "
            "constant. "
            "The firmware is converted anyway and returns those constants.",
            stacklevel=2,
        )
    plan = make_precision_plan(
        model,
        hls_config=hls_config,
        calibration_data=calibration_data,
        default_precision=default_precision,
        table_size=table_size,
        backend=backend,
    )
    config = _merge_config(hls_config, plan.to_hls_config("name", default_precision=default_precision))
    if form == "expression":
        from hls4ml_symbolnet.converters.expression import expression_model

        return expression_model(
            folded, plan, config, output_dir, project_name, backend, part, clock_period, io_type, **kwargs
        )
    import hls4ml

    hls_model = hls4ml.converters.convert_from_keras_model(
        model,
        output_dir=output_dir,
        project_name=project_name,
        backend=backend,
        part=part,
        clock_period=clock_period,
        io_type=io_type,
        hls_config=config,
        allow_da_fallback=False,
        allow_v2_fallback=False,
        **kwargs,
    )
    logger.info("Converted %r to an hls4ml %s model in %s", model.name, backend, output_dir)
    return hls_model
