"""Convert, compile and run a SymbolNet firmware in C simulation in one call."""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np

__all__ = ["FirmwareRun", "simulate_firmware"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class FirmwareRun:
    """Outputs of a C simulation run: one row per input sample, and the g++ compile time."""

    hls_model: object
    outputs: np.ndarray
    compile_seconds: float


def simulate_firmware(
    model,
    x: np.ndarray,
    output_dir: str,
    calibration_data: np.ndarray,
    backend: str = "Vitis",
    default_precision: str | None = None,
    part: str = "xcvu9p-flga2577-2-e",
    clock_period: float = 5,
) -> FirmwareRun:
    """Convert ``model`` with :func:`convert_from_symbolnet`, compile it with g++ and predict ``x``.

    Returns:
        A :class:`FirmwareRun` whose ``outputs`` has shape ``(len(x), n_outputs)``.
    """
    from hls4ml_symbolnet.converters.convert import convert_from_symbolnet

    kwargs = {} if default_precision is None else {"default_precision": default_precision}
    hls_model = convert_from_symbolnet(
        model,
        output_dir=str(output_dir),
        backend=backend,
        part=part,
        clock_period=clock_period,
        io_type="io_parallel",
        calibration_data=calibration_data,
        **kwargs,
    )
    start = time.perf_counter()
    hls_model.compile()
    compile_seconds = time.perf_counter() - start
    outputs = np.asarray(hls_model.predict(np.ascontiguousarray(x, dtype=np.float32)))
    logger.info("Compiled the firmware in %.1f s and simulated %d samples", compile_seconds, len(x))
    return FirmwareRun(hls_model, outputs.reshape(len(x), -1), compile_seconds)
