"""Keras 2 (``tf_keras``) selection for the QKeras and TFMOT baselines.

QKeras 0.9.0 and TFMOT 0.8.1 build their layers on ``tf.keras`` and work only when ``tf.keras`` is
Keras 2. TensorFlow 2.21 routes ``tf.keras`` to the ``tf_keras`` package when the environment variable
``TF_USE_LEGACY_KERAS`` is ``1`` at the time TensorFlow is imported. ``import keras`` still returns
Keras 3 in that process, so the Keras 3 SymbolNet layers and the Keras 2 baselines can share it.
"""

import logging
import os
import sys

logger = logging.getLogger(__name__)

LEGACY_KERAS_VARIABLE = "TF_USE_LEGACY_KERAS"

# TensorFlow 2.21 accepts these spellings (tensorflow/python/util/lazy_loader.py).
_TRUE_VALUES = ("1", "true", "True")


def ensure_legacy_keras() -> None:
    """Make ``tf.keras`` resolve to Keras 2 (``tf_keras``) in this process.

    Sets ``TF_USE_LEGACY_KERAS=1`` when TensorFlow is not imported yet. When TensorFlow is already
    imported, checks both ways QKeras and TFMOT reach Keras: the ``tf.keras`` attribute and the
    ``tensorflow.keras`` import path. TensorFlow 2.21 resolves the attribute when it is first used but
    fixes the import path when TensorFlow is imported, so setting the variable after that import is
    not enough.

    Raises:
        RuntimeError: TensorFlow was imported without ``TF_USE_LEGACY_KERAS=1``, so Keras 3 serves
            ``tf.keras``. The variable must be set before the first TensorFlow import, for example in
            the shell or at the top of the entry script or ``conftest.py``.
    """
    if "tensorflow" not in sys.modules:
        if os.environ.get(LEGACY_KERAS_VARIABLE) not in _TRUE_VALUES:
            logger.debug("setting %s=1 before TensorFlow is imported", LEGACY_KERAS_VARIABLE)
        os.environ[LEGACY_KERAS_VARIABLE] = "1"
        return

    import tensorflow as tf
    from tensorflow.keras.layers import Layer as PathLayer

    # A class's module names the Keras package that defines it. Module names cannot be used, because a
    # submodule imported through tensorflow.keras is registered under the tensorflow.keras name.
    keras_modules = {
        "tf.keras.Model": tf.keras.Model.__module__,
        "tensorflow.keras.layers.Layer": PathLayer.__module__,
    }
    for source, module_name in keras_modules.items():
        if not module_name.startswith("tf_keras."):
            raise RuntimeError(
                f"TensorFlow was imported without {LEGACY_KERAS_VARIABLE}=1, so Keras 3 serves tf.keras "
                f"({source} comes from {module_name!r}), but QKeras and TFMOT need Keras 2. Set "
                f"{LEGACY_KERAS_VARIABLE}=1 before importing TensorFlow, in the shell or at the top of the "
                "entry script or conftest.py."
            )
