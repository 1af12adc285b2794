"""Keras 3 layer handlers: read the SymbolNet layers into hls4ml's layer dicts.

Defining these classes registers them with hls4ml's Keras 3 frontend (the
``KerasV3LayerHandler`` metaclass keys them by the ``handles`` names), so
:func:`~hls4ml_symbolnet.converters.register.register_symbolnet` only needs to import
this module. The handlers return the trained values unfolded; pruning is folded by
the optimizer passes.
"""

from __future__ import annotations

from hls4ml.converters.keras_v3._base import KerasV3LayerHandler

__all__ = ["InputPruningHandler", "PrunedDenseHandler", "SymbolicLayerHandler"]


class InputPruningHandler(KerasV3LayerHandler):
    handles = ("hls4ml_symbolnet.layers.input_pruning.InputPruning",)

    def handle(self, layer, in_tensors, out_tensors):
        threshold = self.load_weight(layer, "threshold")
        return {
            "class_name": "SymbolNetInputPruning",
            "n_in": int(threshold.shape[0]),
            "threshold": threshold,
        }


def _linear_config(handler, layer) -> dict:
    return {
        "kernel": handler.load_weight(layer, "kernel"),
        "bias": handler.load_weight(layer, "bias"),
        "kernel_threshold": handler.load_weight(layer, "kernel_threshold"),
        "bias_threshold": handler.load_weight(layer, "bias_threshold"),
    }


class SymbolicLayerHandler(KerasV3LayerHandler):
    handles = ("hls4ml_symbolnet.layers.symbolic.SymbolicLayer",)

    def handle(self, layer, in_tensors, out_tensors):
        config = _linear_config(self, layer)
        config.update(
            {
                "class_name": "SymbolNetSymbolic",
                "n_in": int(config["kernel"].shape[0]),
                "n_unary": int(layer.n_unary),
                "n_binary": int(layer.n_binary),
                "unary_threshold": self.load_weight(layer, "unary_threshold"),
                "binary_threshold": self.load_weight(layer, "binary_threshold"),
                "unary_operators": list(layer.unary_node_operators),
                "binary_operators": list(layer.binary_node_operators),
            }
        )
        return config


class PrunedDenseHandler(KerasV3LayerHandler):
    handles = ("hls4ml_symbolnet.layers.pruned_dense.PrunedDense",)

    def handle(self, layer, in_tensors, out_tensors):
        config = _linear_config(self, layer)
        config.update(
            {
                "class_name": "SymbolNetDense",
                "n_in": int(config["kernel"].shape[0]),
                "n_out": int(config["kernel"].shape[1]),
            }
        )
        return config
