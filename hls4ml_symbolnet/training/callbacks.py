"""Keras callbacks used by the training scripts."""

from __future__ import annotations

import time

import keras

__all__ = ["EpochTimer"]


class EpochTimer(keras.callbacks.Callback):
    """Record the wall-clock seconds of every training epoch in ``seconds``.

    ``seconds`` is reset in ``on_train_begin``, so one instance can serve several
    ``fit`` calls; each call keeps only its own epochs.
    """

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
