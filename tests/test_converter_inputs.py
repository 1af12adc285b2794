"""Argument checks of convert_from_symbolnet that need no g++ build."""

import numpy as np
import pytest

import hls4ml_symbolnet as sn
from hls4ml_symbolnet.converters import convert_from_symbolnet, make_precision_plan


@pytest.fixture(scope="module")
def small_model():
    model = sn.build_symbolnet(3, 2, hidden=[(2, 1)], unary_operators=["sin"], seed=0)
    model(np.zeros((1, 3), "float32"))
    return model


@pytest.mark.parametrize("name", ["my project", "../escape", "1st", ""], ids=["space", "path", "digit", "empty"])
def test_project_name_must_be_identifier(small_model, tmp_path, name):
    with pytest.raises(ValueError, match="project_name"):
        convert_from_symbolnet(small_model, output_dir=str(tmp_path / "prj"), project_name=name)
    assert not (tmp_path / "prj").exists()


def test_misspelled_keyword_is_rejected(small_model, tmp_path):
    with pytest.raises(TypeError, match="calibation_data"):
        convert_from_symbolnet(small_model, output_dir=str(tmp_path / "prj"), calibation_data=np.zeros((2, 3)))


def test_unsigned_default_becomes_signed(small_model):
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    with pytest.warns(UserWarning, match="unsigned"):
        plan = make_precision_plan(small_model, calibration_data=x, default_precision="ap_ufixed<16,6>")
    assert plan.input.signed


def test_huge_calibration_values_name_the_magnitude(small_model):
    with pytest.raises(ValueError, match="cannot be represented in fixed point"):
        make_precision_plan(small_model, calibration_data=np.full((4, 3), 1e300))
