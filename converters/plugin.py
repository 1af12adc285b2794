"""Entry point of the ``hls4ml.backends`` plugin group.

hls4ml 1.3.0 calls every object in that group while ``hls4ml.backends`` is imported, with
``register_backend`` and ``register_writer`` keyword arguments. SymbolNet adds no
backend; it registers its layers, templates and passes with the Vivado and Vitis
backends and adds ``convert_from_symbolnet`` to ``hls4ml.converters``.
"""

from __future__ import annotations

__all__ = ["register_plugin"]


def register_plugin(register_backend=None, register_writer=None) -> None:
    """Register SymbolNet with hls4ml; called by hls4ml's plugin loader."""
    from hls4ml_symbolnet.converters.register import register_symbolnet

    register_symbolnet()
