"""hls4ml configuration dicts for SymbolNet models."""

from __future__ import annotations

from collections.abc import Mapping

from hls4ml_symbolnet.converters.precision import DEFAULT_PRECISION, DEFAULT_TABLE_SIZE, make_precision_plan

__all__ = ["SUPPORTED_BACKENDS", "check_backend", "config_from_symbolnet"]

SUPPORTED_BACKENDS = ("Vivado", "Vitis")


def check_backend(backend) -> str:
    """Return the canonical backend name, or raise ``ValueError`` naming the supported ones."""
    if backend is None:
        return "Vivado"
    for name in SUPPORTED_BACKENDS:
        if isinstance(backend, str) and backend.lower() == name.lower():
            return name
    raise ValueError(
        f"SymbolNet firmware supports the backends {', '.join(SUPPORTED_BACKENDS)}. "
        f"Received: backend={backend!r}"
    )


def config_from_symbolnet(
    model,
    granularity: str = "model",
    default_precision: str = DEFAULT_PRECISION,
    backend: str | None = None,
    calibration_data=None,
    table_size: int = DEFAULT_TABLE_SIZE,
    default_reuse_factor: int = 1,
    hls_config: Mapping | None = None,
) -> dict:
    """Create an hls4ml configuration dict for a SymbolNet model.

    The dict has hls4ml's usual layout (``Model`` and, for ``granularity='name'``,
    ``LayerName``, each with ``Precision`` and ``ReuseFactor``) plus ``LookupTables``:
    ``{table name: {"range": [low, high], "table_size": n}}``. Passed back as
    ``hls_config`` to :func:`~hls4ml_symbolnet.converters.convert_from_symbolnet`, every
    type and table setting in it is used as given; edit it to change the firmware.

    Args:
        model: a SymbolNet Keras model.
        granularity: ``"model"`` (one type per type name, the widest any layer needs,
            with ``weight``, ``bias`` and ``accum`` left ``"auto"``) or ``"name"`` (every
            type and table of every layer).
        default_precision: width and rounding/overflow modes of data types, and their
            value without calibration data; ``"ap_fixed<18,10>"``.
        backend: ``"Vivado"`` or ``"Vitis"``; its parser reads the precision strings.
        calibration_data: inputs of shape (n, n_inputs) from which integer bits and
            table ranges are chosen so that nothing overflows on them; None for defaults.
        table_size: entries per lookup table, a power of two; 1024.
        default_reuse_factor: ``ReuseFactor`` written into the dict. SymbolNet layers are
            fully unrolled, so it does not change the generated code.
        hls_config: an existing configuration whose explicit settings are kept.

    Returns:
        The configuration dict.
    """
    backend = check_backend(backend)
    plan = make_precision_plan(
        model,
        hls_config=hls_config,
        calibration_data=calibration_data,
        default_precision=default_precision,
        table_size=table_size,
        backend=backend,
    )
    return plan.to_hls_config(
        granularity, default_precision=default_precision, reuse_factor=default_reuse_factor
    )
