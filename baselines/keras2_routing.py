"""hls4ml conversion entry points that pick the Keras parser from the model's type.

NOTE: hls4ml 1.3.0 chooses between its Keras 2 and Keras 3 parsers from the installed
``keras.__version__``, not from the model. With Keras 3 installed, a ``tf_keras`` model (QKeras, TFMOT)
reaches the Keras 3 parser and fails with ``AttributeError: 'Node' object has no attribute 'arguments'``.
The two functions here send ``tf_keras`` models to hls4ml's Keras 2 parser and pass every other model
to hls4ml unchanged. Recheck this module when hls4ml changes version.
"""

import json
import logging
import sys
from typing import Any

import hls4ml

logger = logging.getLogger(__name__)

# Keys of an ``hls_config`` that hls4ml 1.3.0 copies into the conversion config, besides ``Model``.
_COPIED_HLS_CONFIG_KEYS = ("LayerName", "LayerType", "Flows", "Optimizers", "SkipOptimizers")


def is_tf_keras_model(model: Any) -> bool:
    """Return whether ``model`` is a Keras 2 (``tf_keras``) model, without importing ``tf_keras``."""
    tf_keras = sys.modules.get("tf_keras")
    if tf_keras is None:
        return False
    return isinstance(model, tf_keras.Model)


class _KerasV2Architecture(dict):
    """A ``tf_keras`` model's JSON architecture that also serves the model's layers.

    ``hls4ml.utils.config_from_keras_model`` 1.3.0 parses a ``dict`` argument with the Keras 2 parser,
    but wraps that same argument in the reader that fetches weights through ``get_layer``. This dict
    carries ``get_layer`` from the model, so the weights are found.
    """

    def __init__(self, model: Any):
        super().__init__(json.loads(model.to_json()))
        self._model = model

    def get_layer(self, name: str) -> Any:
        return self._model.get_layer(name)


def config_from_keras_model(model: Any, **kwargs: Any) -> dict:
    """Create an hls4ml configuration for a Keras 2 or Keras 3 model.

    Takes the arguments of ``hls4ml.utils.config_from_keras_model`` (``granularity``, ``backend``,
    ``default_precision``, ``default_reuse_factor``, ``max_precision``). A ``tf_keras`` model is parsed
    by hls4ml's Keras 2 parser; any other model goes to hls4ml unchanged.
    """
    if not is_tf_keras_model(model):
        return hls4ml.utils.config_from_keras_model(model, **kwargs)

    logger.debug("parsing tf_keras model %r with the hls4ml Keras 2 parser", model.name)
    return hls4ml.utils.config_from_keras_model(_KerasV2Architecture(model), **kwargs)


def convert_from_keras_model(
    model: Any,
    output_dir: str = "my-hls-test",
    project_name: str = "myproject",
    input_data_tb: str | None = None,
    output_data_tb: str | None = None,
    backend: str = "Vivado",
    hls_config: dict | None = None,
    **kwargs: Any,
) -> Any:
    """Convert a Keras 2 or Keras 3 model to an hls4ml ``ModelGraph``.

    Takes the arguments of ``hls4ml.converters.convert_from_keras_model``. The remaining keyword
    arguments (``part``, ``clock_period``, ``io_type``, ...) go to the backend configuration. A
    ``tf_keras`` model goes to ``hls4ml.converters.keras_v2_to_hls``, with the configuration built the
    way hls4ml 1.3.0 builds it for Keras 2. Any other model goes to hls4ml unchanged.
    """
    if not is_tf_keras_model(model):
        return hls4ml.converters.convert_from_keras_model(
            model,
            output_dir=output_dir,
            project_name=project_name,
            input_data_tb=input_data_tb,
            output_data_tb=output_data_tb,
            backend=backend,
            hls_config=hls_config,
            **kwargs,
        )

    bit_exact = kwargs.pop("bit_exact", None)
    for keras3_only in ("allow_da_fallback", "allow_v2_fallback"):
        kwargs.pop(keras3_only, None)

    config = hls4ml.utils.config.create_config(
        output_dir=output_dir, project_name=project_name, backend=backend, **kwargs
    )
    config["KerasModel"] = model
    config["InputData"] = input_data_tb
    config["OutputPredictions"] = output_data_tb

    hls_config = hls_config or {}
    model_config = dict(hls_config.get("Model") or {})
    model_config.setdefault("Precision", "fixed<16,6>")
    model_config.setdefault("ReuseFactor", 1)
    model_config["BitExact"] = bit_exact
    config["HLSConfig"] = {"Model": model_config}
    for key in _COPIED_HLS_CONFIG_KEYS:
        if key in hls_config:
            config["HLSConfig"][key] = hls_config[key]

    logger.debug("converting tf_keras model %r with the hls4ml Keras 2 parser", model.name)
    return hls4ml.converters.keras_v2_to_hls(config)
