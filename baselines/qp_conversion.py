"""hls4ml conversion of the QP baselines, with fixed-point types chosen for the output activation.

``config_from_keras_model(..., granularity='name', backend=...)`` takes the weight, bias and activation
types from the QKeras quantizers and leaves accumulators on ``auto``. Two types need setting by hand:

- The layer before the output activation has no quantizer, so its automatic result type can be wide.
  hls4ml's softmax and sigmoid address their lookup tables with the top bits of that type, and a wide type
  leaves too few bits for the values that matter. It gets ``fixed<16,I,RND,SAT>``, where ``I`` covers the
  logits seen on ``calibration_data`` (``I = 6`` without it).
- The softmax: the exponentials lie in (0, 1] and their sum in [1, n_classes], so both lookup tables
  and the output get 18-bit types sized to those ranges instead of hls4ml's ``fixed<18,8>`` default.

Without calibration data the input type is the model default ``fixed<16,6>``. With calibration data,
its integer bits cover the largest absolute input seen, with 10 fractional bits, rounding and saturation.
"""

import logging
import math
import pathlib
from typing import Any

import numpy as np

from .keras2_routing import config_from_keras_model, convert_from_keras_model
from .qp_models import OUTPUT_ACTIVATION_NAME

logger = logging.getLogger(__name__)

IO_TYPES = ("io_parallel", "io_stream")
DEFAULT_LOGIT_INTEGER_BITS = 6
LOGIT_WIDTH = 16
INPUT_FRACTIONAL_BITS = 10
SOFTMAX_ADDRESS_BITS = 10
SOFTMAX_TABLE_SIZE = 2**SOFTMAX_ADDRESS_BITS
# Differences x_max - x_i of at least 8 address the last exp table entry, exp(-8) = 3.4e-4.
SOFTMAX_INPUT_RANGE_BITS = 3
SOFTMAX_TABLE_WIDTH = 18


def signed_integer_bits(max_abs: float) -> int:
    """Return the integer bits (sign included) of a signed fixed-point type covering +-``max_abs``."""
    if not math.isfinite(max_abs) or max_abs < 0:
        raise ValueError(f"`max_abs` must be finite and non-negative, got max_abs={max_abs}")
    if max_abs < 1:
        return 1
    # The magnitude needs floor(log2) + 1 bits (2**k needs k + 1 bits), and the sign needs one more.
    return math.floor(math.log2(max_abs)) + 2


def _layer_before(model: Any, layer_name: str) -> Any:
    # Read the graph from the model config: layer objects can be shared with the models they were
    # cloned from (``strip_pruning`` does that), so their own inbound nodes may point into another model.
    for layer_config in model.get_config()["layers"]:
        if layer_config["name"] == layer_name:
            inbound_name = layer_config["inbound_nodes"][0][0][0]
            return model.get_layer(inbound_name)
    raise ValueError(f"layer {layer_name!r} not found in model {model.name!r}")


def _logit_integer_bits(model: Any, logits_layer: Any, calibration_data: np.ndarray | None) -> int:
    if calibration_data is None:
        return DEFAULT_LOGIT_INTEGER_BITS
    # The QP models are chains, so calling their layers in order reproduces the forward pass. A
    # sub-model built from ``logits_layer.output`` could read a tensor of the pre-stripping model.
    values = calibration_data
    for layer in model.layers[1:]:
        values = layer(values)
        if layer is logits_layer:
            break
    return signed_integer_bits(float(np.max(np.abs(np.asarray(values)))))


def _softmax_precisions(n_classes: int) -> dict[str, str]:
    # exp(x - max) lies in (0, 1], so one integer bit besides the sign represents 1.0. The sum over the
    # classes lies in [1, n_classes] and addresses the reciprocal table through its top 10 bits, so a
    # 10-bit type with rounding spends every address bit on that range.
    sum_integer_bits = math.floor(math.log2(n_classes)) + 1
    return {
        "result": f"ufixed<{SOFTMAX_TABLE_WIDTH},1,RND,SAT>",
        "exp_table": f"fixed<{SOFTMAX_TABLE_WIDTH},2,RND,SAT>",
        "inv_table": f"fixed<{SOFTMAX_TABLE_WIDTH},2,RND,SAT>",
        "inv_inp": f"ufixed<{SOFTMAX_ADDRESS_BITS},{sum_integer_bits},RND,SAT>",
        "accum": f"fixed<{SOFTMAX_TABLE_WIDTH + 1},{sum_integer_bits + 1},RND,SAT>",
    }


def _check_model_layout(model: Any) -> Any:
    layer_names = [layer.name for layer in model.layers]
    if OUTPUT_ACTIVATION_NAME not in layer_names:
        raise ValueError(
            f"model {model.name!r} has no layer named {OUTPUT_ACTIVATION_NAME!r}. Build it with "
            "hls4ml_symbolnet.baselines.qp_models, or give its output activation layer that name."
        )
    return model.get_layer(OUTPUT_ACTIVATION_NAME)


def qp_hls_config(
    model: Any,
    *,
    backend: str = "Vitis",
    calibration_data: np.ndarray | None = None,
) -> dict:
    """Create the per-layer hls4ml configuration of a QP baseline (see the module docstring)."""
    output_activation = _check_model_layout(model)
    logits_layer = _layer_before(model, OUTPUT_ACTIVATION_NAME)
    config = config_from_keras_model(model, granularity="name", backend=backend)
    layer_configs = config["LayerName"]

    if calibration_data is not None:
        calibration_data = np.asarray(calibration_data, dtype="float32")
        input_bits = signed_integer_bits(float(np.max(np.abs(calibration_data))))
        input_name = model.layers[0].name
        input_type = f"fixed<{input_bits + INPUT_FRACTIONAL_BITS},{input_bits},RND,SAT>"
        layer_configs[input_name]["Precision"]["result"] = input_type
        logger.info("input %r: %s from calibration data", input_name, input_type)

    logit_bits = _logit_integer_bits(model, logits_layer, calibration_data)
    logit_type = f"fixed<{LOGIT_WIDTH},{logit_bits},RND,SAT>"
    # The Keras 2 parser splits a dense layer with a linear activation into the dense layer and an
    # activation layer named "<dense>_linear". Both carry the logits.
    for name in (logits_layer.name, f"{logits_layer.name}_linear"):
        if name in layer_configs:
            layer_configs[name]["Precision"]["result"] = logit_type
    logger.info("logits %r: %s", logits_layer.name, logit_type)

    if output_activation.get_config()["activation"] == "softmax":
        softmax_config = layer_configs[OUTPUT_ACTIVATION_NAME]
        softmax_config["Precision"].update(_softmax_precisions(model.output_shape[-1]))
        softmax_config["Implementation"] = "stable"
        softmax_config["TableSize"] = SOFTMAX_TABLE_SIZE
        # hls4ml 1.3.0 otherwise derives this type from the logit type without saturation, so a
        # difference beyond its range wraps around and addresses a large exponential.
        softmax_config["inp_norm_t"] = f"ufixed<{SOFTMAX_ADDRESS_BITS},{SOFTMAX_INPUT_RANGE_BITS},RND,SAT>"
    # NOTE: hls4ml 1.3.0's sigmoid reads a 1024-entry table over [-8, 8) at the lower edge of each step,
    # so a logit within 1/64 of 0 can come out as exactly 0.5, which ``class_agreement`` counts as class 0.
    return config


def convert_qp_model(
    model: Any,
    output_dir: str | pathlib.Path,
    *,
    io_type: str,
    backend: str = "Vitis",
    part: str = "xcvu9p-flga2577-2-e",
    clock_period: float = 5,
    calibration_data: np.ndarray | None = None,
) -> Any:
    """Convert a trained QP baseline to an hls4ml ``ModelGraph``, ready for ``compile()``.

    Args:
        model: A ``tf_keras`` model from ``qp_models`` (trained, pruned and stripped, or float).
        output_dir: Folder for the generated HLS project.
        io_type: ``'io_parallel'`` (used for the dense network) or ``'io_stream'`` (for the CNN).
        backend, part, clock_period: hls4ml backend, FPGA part and clock period in ns.
        calibration_data: Inputs (a few hundred rows suffice) used to size the input and logit types;
            ``None`` uses ``fixed<16,6>`` for both.

    Returns:
        The hls4ml model, not yet written or compiled.
    """
    if io_type not in IO_TYPES:
        raise ValueError(f"`io_type` must be one of {IO_TYPES}, got io_type={io_type!r}")
    config = qp_hls_config(model, backend=backend, calibration_data=calibration_data)
    return convert_from_keras_model(
        model,
        output_dir=str(output_dir),
        backend=backend,
        hls_config=config,
        io_type=io_type,
        part=part,
        clock_period=clock_period,
    )


def class_agreement(reference: np.ndarray, other: np.ndarray) -> float:
    """Return the fraction of rows whose predicted class is the same in two prediction arrays.

    Arrays with one column are sigmoid outputs, and class 1 means a value above 0.5. Wider arrays use
    the argmax.
    """
    reference = np.asarray(reference).reshape(len(reference), -1)
    other = np.asarray(other).reshape(len(other), -1)
    if reference.shape != other.shape:
        raise ValueError(f"prediction shapes differ: {reference.shape} and {other.shape}")
    if reference.shape[1] == 1:
        return float(np.mean((reference[:, 0] > 0.5) == (other[:, 0] > 0.5)))
    return float(np.mean(np.argmax(reference, axis=1) == np.argmax(other, axis=1)))
