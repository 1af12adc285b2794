"""Baselines that SymbolNet is compared with.

The QP baselines (quantized with QKeras, pruned with TFMOT) are ``tf_keras`` models: importing them sets
``TF_USE_LEGACY_KERAS=1``, or raises ``RuntimeError`` when TensorFlow was already imported with Keras 3
as ``tf.keras`` (see ``legacy_keras``). The public names below load on first use, so importing this
package does not import TensorFlow or ``tf_keras``.
"""

import importlib

_LAZY = {
    "ensure_legacy_keras": "hls4ml_symbolnet.baselines.legacy_keras",
    "config_from_keras_model": "hls4ml_symbolnet.baselines.keras2_routing",
    "convert_from_keras_model": "hls4ml_symbolnet.baselines.keras2_routing",
    "is_tf_keras_model": "hls4ml_symbolnet.baselines.keras2_routing",
    "build_float_cnn": "hls4ml_symbolnet.baselines.qp_models",
    "build_float_dnn": "hls4ml_symbolnet.baselines.qp_models",
    "build_qp_cnn": "hls4ml_symbolnet.baselines.qp_models",
    "build_qp_dnn": "hls4ml_symbolnet.baselines.qp_models",
    "to_images": "hls4ml_symbolnet.baselines.qp_models",
    "train_classifier": "hls4ml_symbolnet.baselines.qp_training",
    "train_qp_cnn": "hls4ml_symbolnet.baselines.qp_training",
    "train_qp_dnn": "hls4ml_symbolnet.baselines.qp_training",
    "weight_sparsity": "hls4ml_symbolnet.baselines.qp_training",
    "class_agreement": "hls4ml_symbolnet.baselines.qp_conversion",
    "convert_qp_model": "hls4ml_symbolnet.baselines.qp_conversion",
    "qp_hls_config": "hls4ml_symbolnet.baselines.qp_conversion",
    "EQLModel": "hls4ml_symbolnet.baselines.eql",
    "build_eql": "hls4ml_symbolnet.baselines.eql",
    "eql_to_sympy": "hls4ml_symbolnet.baselines.eql",
    "fold_eql": "hls4ml_symbolnet.baselines.eql",
    "train_eql": "hls4ml_symbolnet.baselines.eql",
    "GPClassifier": "hls4ml_symbolnet.baselines.gp",
    "convert_gp_model": "hls4ml_symbolnet.baselines.gp",
    "fit_gp_classifier": "hls4ml_symbolnet.baselines.gp",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hls4ml_symbolnet.baselines' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
