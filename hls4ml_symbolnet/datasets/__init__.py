"""Loaders for the SymbolNet benchmark data sets, each returning a `DatasetSplits`."""

from ._common import DatasetSplits, stratified_split, stratified_subset
from .jets import load_jets
from .mnist import load_mnist
from .svhn import SvhnImages, load_svhn_binary, load_svhn_images

__all__ = [
    "DatasetSplits",
    "SvhnImages",
    "load_jets",
    "load_mnist",
    "load_svhn_binary",
    "load_svhn_images",
    "stratified_split",
    "stratified_subset",
]
