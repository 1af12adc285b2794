"""Plugin loading through hls4ml's ``hls4ml.backends`` entry point group."""

import os
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

REGISTRATION_CHECK = """
import sys
{first_import}
import hls4ml
from hls4ml.backends import get_backend
from hls4ml.model.flow import get_flow
from hls4ml.model.layers import layer_map
from hls4ml.model.optimizer import get_backend_passes

print(hls4ml.converters.convert_from_symbolnet.__module__)
print(hls4ml.converters.config_from_symbolnet.__module__)
print(sorted(name for name in layer_map if name.startswith("SymbolNet")))
print("vivado:fold_input_pruning" in get_flow("vivado:optimize").optimizers)
print("vivado:symbolnetsymbolic_config_template" in get_backend_passes("Vivado"))
print("nnet_utils/nnet_symbolnet.h" in get_backend("Vitis").get_custom_source())
print("tensorflow" in sys.modules)
"""


def run_fresh(first_import: str = "") -> list[str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="-1")
    env.pop("HLS4ML_BACKEND_PLUGINS", None)
    result = subprocess.run(
        [sys.executable, "-c", REGISTRATION_CHECK.format(first_import=first_import)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stdout, result.stdout
    return result.stdout.strip().splitlines()


def test_entry_point_is_installed():
    names = {(ep.name, ep.value) for ep in entry_points().select(group="hls4ml.backends")}
    assert ("symbolnet", "hls4ml_symbolnet.converters.plugin:register_plugin") in names


def test_bare_import_registers_without_tensorflow():
    lines = run_fresh()
    assert lines == [
        "hls4ml_symbolnet.converters.convert",
        "hls4ml_symbolnet.converters.config",
        "['SymbolNetDense', 'SymbolNetInputPruning', 'SymbolNetSymbolic']",
        "True",
        "True",
        "True",
        "False",
    ]


@pytest.mark.parametrize("first_import", ["import hls4ml_symbolnet", "import hls4ml_symbolnet.converters"])
def test_importing_symbolnet_first_also_registers(first_import):
    lines = run_fresh(first_import)
    assert lines[:6] == [
        "hls4ml_symbolnet.converters.convert",
        "hls4ml_symbolnet.converters.config",
        "['SymbolNetDense', 'SymbolNetInputPruning', 'SymbolNetSymbolic']",
        "True",
        "True",
        "True",
    ]


def test_register_symbolnet_is_idempotent():
    import hls4ml
    from hls4ml.model.flow import get_flow
    from hls4ml_symbolnet.converters import register_symbolnet

    register_symbolnet()
    register_symbolnet()
    optimizers = list(get_flow("vivado:optimize").optimizers)
    assert optimizers.count("vivado:fold_input_pruning") == 1
    assert hls4ml.converters.convert_from_symbolnet.__module__ == "hls4ml_symbolnet.converters.convert"
