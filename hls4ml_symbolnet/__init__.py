"""SymbolNet symbolic regression as Keras layers, and its path to FPGA firmware through hls4ml."""

import logging

from hls4ml_symbolnet.layers import InputPruning, PrunedDense, SymbolicLayer
from hls4ml_symbolnet.model import SymbolNetModel, build_symbolnet, summed_squared_error
from hls4ml_symbolnet.network import FoldedNetwork, fold_network
from hls4ml_symbolnet.training import SparsityTargets

__version__ = "0.1.0"

__all__ = [
    "FoldedNetwork",
    "InputPruning",
    "PrunedDense",
    "SparsityTargets",
    "SymbolNetModel",
    "SymbolicLayer",
    "build_symbolnet",
    "fold_network",
    "summed_squared_error",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
