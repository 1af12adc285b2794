"""SymbolNet Keras layers."""

from hls4ml_symbolnet.layers.constraints import ThresholdClip
from hls4ml_symbolnet.layers.input_pruning import InputPruning
from hls4ml_symbolnet.layers.pruned_dense import PrunedDense
from hls4ml_symbolnet.layers.symbolic import SymbolicLayer

__all__ = ["InputPruning", "PrunedDense", "SymbolicLayer", "ThresholdClip"]
