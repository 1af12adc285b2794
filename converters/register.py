"""Register the SymbolNet layers, templates, passes and HLS header with hls4ml."""

from __future__ import annotations

import logging
import pathlib
import sys

__all__ = ["HEADER_PATH", "register_symbolnet"]

logger = logging.getLogger(__name__)

HEADER_PATH = pathlib.Path(__file__).resolve().parent / "nnet_utils" / "nnet_symbolnet.h"
_PASS_FLOW = "vivado:optimize"
_SOURCE_BACKENDS = ("Vivado", "Vitis")
_registered = False


def attach_converter_functions() -> None:
    """Make ``hls4ml.converters.convert_from_symbolnet`` and ``config_from_symbolnet`` available.

    NOTE: hls4ml 1.3.0 has no registration call for converter functions, so they are set
    as attributes of the ``hls4ml.converters`` module, the one shim beyond hls4ml's
    documented extension API. Works while that module is still being imported.
    """
    module = sys.modules.get("hls4ml.converters")
    if module is None:
        import hls4ml.converters as module
    from hls4ml_symbolnet.converters.config import config_from_symbolnet
    from hls4ml_symbolnet.converters.convert import convert_from_symbolnet

    module.convert_from_symbolnet = convert_from_symbolnet
    module.config_from_symbolnet = config_from_symbolnet


def register_symbolnet() -> None:
    """Register everything hls4ml needs to convert a SymbolNet model; safe to call repeatedly.

    * Keras 3 layer handlers (defined in :mod:`.handlers`, registered on import);
    * IR layers ``SymbolNetInputPruning``, ``SymbolNetSymbolic``, ``SymbolNetDense``;
    * config and function templates (Vivado backend; the Vitis flow runs them too);
    * the folding passes of :mod:`.passes` in the ``vivado:optimize`` flow;
    * ``nnet_utils/nnet_symbolnet.h`` as a source of the Vivado and Vitis backends;
    * the expression-form templates for hls4ml's ``SymbolicExpression`` layer;
    * ``convert_from_symbolnet`` and ``config_from_symbolnet`` in ``hls4ml.converters``.

    Only hls4ml modules that are loaded before hls4ml loads its plugins are imported,
    so this runs from the ``hls4ml.backends`` entry point without an import cycle.
    """
    global _registered
    if _registered:
        return
    from hls4ml.backends.backend import get_backend
    from hls4ml.model.layers import layer_map, register_layer
    from hls4ml.model.optimizer import get_available_passes
    from hls4ml_symbolnet.converters import handlers  # noqa: F401  (defining the handlers registers them)
    from hls4ml_symbolnet.converters.expression import EXPRESSION_TEMPLATES
    from hls4ml_symbolnet.converters.ir_layers import SymbolNetDense, SymbolNetInputPruning, SymbolNetSymbolic
    from hls4ml_symbolnet.converters.passes import PASSES
    from hls4ml_symbolnet.converters.templates import TEMPLATES

    for layer_class in (SymbolNetInputPruning, SymbolNetSymbolic, SymbolNetDense):
        if layer_map.get(layer_class.__name__) is not layer_class:
            register_layer(layer_class.__name__, layer_class)

    vivado = get_backend("Vivado")
    available = set(get_available_passes())
    for template_class in (*TEMPLATES, *EXPRESSION_TEMPLATES):
        if f"vivado:{template_class().get_name()}" not in available:
            vivado.register_template(template_class)
    for pass_class in PASSES:
        if f"vivado:{pass_class.get_name()}" not in available:
            vivado.register_pass(pass_class.get_name(), pass_class, flow=_PASS_FLOW)
    for backend_name in _SOURCE_BACKENDS:
        get_backend(backend_name).register_source(HEADER_PATH)

    attach_converter_functions()
    _registered = True
    logger.debug("Registered SymbolNet layers, templates, passes and %s with hls4ml", HEADER_PATH.name)
