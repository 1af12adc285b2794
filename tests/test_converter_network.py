"""Network-form conversion: generated C++, folding passes, configuration, precision, bad input."""

import re
import shutil
import warnings

import keras
import numpy as np
import pytest
from hls4ml_symbolnet.converters import (
    FixedPointModel,
    config_from_symbolnet,
    convert_from_symbolnet,
    fold_summary,
    make_precision_plan,
    plan_from_hls_model,
)
from hls4ml_symbolnet.converters.fixed_point import quantize_constant

from hls4ml_symbolnet import build_symbolnet, fold_network
from hls4ml_symbolnet.datasets import load_jets

N_INPUTS = 5
UNARY = ("sin", "square", "exp", "identity")
BINARY = ("mul", "div")
SYMBOLIC = "net_symbolic_0"
OUTPUT = "net_output"


@pytest.fixture(scope="module")
def jets_x(data_dir):
    splits = load_jets(data_dir, max_rows=600, seed=0)
    return splits.x_train[:, :N_INPUTS].astype(np.float32)


def make_model(seed: int = 3) -> keras.Model:
    """A small SymbolNet model with known pruning.

    Input 1 is pruned, unary node 0 (sin) and binary node 0 (mul) are pruned, and
    every weight of input 3 into the linear units is pruned by its threshold.
    """
    model = build_symbolnet(
        N_INPUTS, 2, hidden=[(4, 2)], unary_operators=UNARY, binary_operators=BINARY, seed=seed, name="net"
    )
    model(np.zeros((1, N_INPUTS), "float32"))
    rng = np.random.default_rng(seed)
    pruning = model.get_layer("net_input_pruning")
    threshold = np.zeros(N_INPUTS, "float32")
    threshold[1] = 1.0
    pruning.threshold.assign(threshold)
    symbolic = model.get_layer(SYMBOLIC)
    symbolic.kernel.assign(rng.normal(0.0, 0.6, symbolic.kernel.shape).astype("float32"))
    symbolic.bias.assign(rng.normal(0.0, 0.2, symbolic.bias.shape).astype("float32"))
    kernel_threshold = np.zeros(symbolic.kernel.shape, "float32")
    kernel_threshold[3, :] = 10.0
    symbolic.kernel_threshold.assign(kernel_threshold)
    symbolic.unary_threshold.assign(np.array([1.0, 0.0, 0.0, 0.0], "float32"))
    symbolic.binary_threshold.assign(np.array([1.0, 0.0], "float32"))
    output = model.get_layer(OUTPUT)
    output.kernel.assign(rng.normal(0.0, 0.8, output.kernel.shape).astype("float32"))
    return model


def compute_body(
    project, config_index_pattern=r"struct config\d+ : nnet::symbolnet_layer_config"
) -> list[str]:
    """The generated compute() bodies in parameters.h, in layer order."""
    text = (project / "firmware" / "parameters.h").read_text()
    return re.split(config_index_pattern, text)[1:]


@pytest.fixture(scope="module")
def converted(tmp_path_factory, jets_x):
    model = make_model()
    project = tmp_path_factory.mktemp("network")
    hls_model = convert_from_symbolnet(model, output_dir=str(project), calibration_data=jets_x)
    hls_model.write()
    return model, hls_model, project


def test_handlers_found_for_each_layer():
    from hls4ml.converters.keras_v3 import layer_handlers
    from hls4ml_symbolnet.converters import register_symbolnet

    from hls4ml_symbolnet.layers import InputPruning, PrunedDense, SymbolicLayer

    register_symbolnet()
    for layer_class in (InputPruning, SymbolicLayer, PrunedDense):
        key = f"{layer_class.__module__}.{layer_class.__name__}"
        assert key in layer_handlers, key


def test_generated_code_leaves_out_pruned_parts(converted):
    model, hls_model, project = converted
    symbolic_code, output_code = compute_body(project)
    # Pruned unary sin is a wire and has no table; pruned binary mul is an addition.
    assert "y[0] = z_0;" in symbolic_code
    assert "table_sin" not in symbolic_code
    assert "y[4] = z_4 + z_5;" in symbolic_code
    assert "table_exp" in symbolic_code
    assert "table_div" in symbolic_code
    # The pruned input and the input whose weights are all pruned never appear.
    assert "x[1]" not in symbolic_code
    assert "x[3]" not in symbolic_code
    # One multiply-add per nonzero rounded weight, nothing for zero weights.
    folded = fold_network(model)
    plan = plan_from_hls_model(hls_model)
    kernel_raw = quantize_constant(folded.layers[0].linear.kernel, plan.layers[0].types["weight"])
    assert symbolic_code.count("weight_t(") == np.count_nonzero(kernel_raw)
    assert output_code.count("weight_t(") == np.count_nonzero(
        quantize_constant(folded.output.kernel, plan.output.types["weight"])
    )


def test_passes_run_in_optimize_flow(converted):
    _, hls_model, _ = converted
    applied = set()
    for flow_group in hls_model._applied_flows:
        for passes in flow_group.values():
            applied |= set(passes)
    for name in (
        "fold_input_pruning",
        "apply_weight_pruning",
        "replace_pruned_unary",
        "replace_pruned_binary",
    ):
        assert f"vivado:{name}" in applied, name
    layer_classes = [layer.class_name for layer in hls_model.get_layers()]
    assert "SymbolNetInputPruning" not in layer_classes


def test_folded_layers_match_fold_network(converted):
    model, hls_model, _ = converted
    folded = fold_network(model)
    symbolic = next(layer for layer in hls_model.get_layers() if layer.class_name == "SymbolNetSymbolic")
    assert tuple(symbolic.get_attr("unary_operators")) == folded.layers[0].unary
    assert tuple(symbolic.get_attr("binary_operators")) == folded.layers[0].binary
    plan = plan_from_hls_model(hls_model)
    expected = quantize_constant(folded.layers[0].linear.kernel, plan.layers[0].types["weight"])
    live_columns = np.any(symbolic.get_attr("kernel_raw") != 0, axis=0)
    np.testing.assert_array_equal(symbolic.get_attr("kernel_raw")[:, live_columns], expected[:, live_columns])


def test_fold_summary_drops_pruned_work(converted):
    model, hls_model, _ = converted
    summary = fold_summary(hls_model)
    assert summary.before.functions["sin"] == 1
    assert summary.after.functions["sin"] == 0
    assert summary.after.functions["identity"] >= 2
    assert summary.before.functions["mul"] == 1
    assert summary.after.functions["mul"] == 0
    assert f"{SYMBOLIC}/sin" in summary.before.tables
    assert f"{SYMBOLIC}/sin" not in summary.after.tables
    assert summary.before.multiplies == 5 * 8 + 6 * 2 + 3  # both kernels, then square, mul and div
    assert summary.after.multiplies < summary.before.multiplies
    assert "multiplies" in str(summary)


def test_config_round_trip_changes_firmware(tmp_path, jets_x):
    model = make_model()
    config = config_from_symbolnet(model, granularity="name", calibration_data=jets_x)
    layer = config["LayerName"][SYMBOLIC]
    assert set(layer["Precision"]) >= {"weight", "bias", "accum", "linear", "result"}
    assert layer["LookupTables"]["exp"]["table_size"] == 1024
    layer["LookupTables"]["exp"]["table_size"] = 256
    layer["Precision"]["result"] = "ap_fixed<20,8,AP_RND,AP_SAT>"
    hls_model = convert_from_symbolnet(model, output_dir=str(tmp_path / "edited"), hls_config=config)
    hls_model.write()
    symbolic_code = compute_body(tmp_path / "edited")[0]
    assert "table_exp[256]" in symbolic_code
    defines = (tmp_path / "edited" / "firmware" / "defines.h").read_text()
    assert "ap_fixed<20,8,AP_RND,AP_SAT" in defines
    plan = plan_from_hls_model(hls_model)
    assert plan.layers[0].types["result"].cpp() == "ap_fixed<20,8,AP_RND,AP_SAT>"
    assert plan.layers[0].tables["exp"].size == 256


def test_model_granularity_config_converts(tmp_path, jets_x):
    model = make_model()
    config = config_from_symbolnet(model, granularity="model", calibration_data=jets_x)
    assert set(config) == {"Model"}
    assert config["Model"]["Precision"]["accum"] == "auto"
    assert {"exp", "div"} <= set(config["Model"]["LookupTables"])
    hls_model = convert_from_symbolnet(model, output_dir=str(tmp_path / "model"), hls_config=config)
    plan = plan_from_hls_model(hls_model)
    assert plan.layers[0].types["linear"].cpp() == config["Model"]["Precision"]["linear"]


def test_precision_from_data_never_overflows(jets_x):
    model = make_model()
    plan = make_precision_plan(model, calibration_data=jets_x)
    report = FixedPointModel(fold_network(model), plan).overflow_report(jets_x)
    assert report["overflows"] == {}
    assert (SYMBOLIC, "linear") in plan.observed
    assert SYMBOLIC in plan.summary()


def test_user_type_that_overflows_warns_with_layer_name(jets_x):
    model = make_model()
    config = {"LayerName": {SYMBOLIC: {"Precision": {"linear": "ap_fixed<8,1>"}}}}
    with pytest.warns(UserWarning, match=f"Layer '{SYMBOLIC}'.*linear type ap_fixed<8,1> overflows"):
        plan = make_precision_plan(model, hls_config=config, calibration_data=jets_x)
    assert (SYMBOLIC, "linear") in plan.user_given


def test_saturation_comes_from_default_precision(jets_x):
    plan = make_precision_plan(
        make_model(), calibration_data=jets_x, default_precision="ap_fixed<16,6,AP_RND,AP_SAT>"
    )
    for name in ("linear", "result"):
        assert plan.layers[0].types[name].overflow == "SAT"
        assert plan.layers[0].types[name].rounding == "RND"
        assert plan.layers[0].types[name].width == 16


def test_defaults_without_calibration_data():
    plan = make_precision_plan(make_model())
    assert plan.layers[0].types["linear"].cpp() == "ap_fixed<18,10>"
    assert plan.layers[0].tables["exp"].size == 1024
    assert plan.layers[0].tables["exp"].start <= -8.0


def test_vendor_build_files_and_missing_tool(converted):
    _, hls_model, project = converted
    project_tcl = (project / "project.tcl").read_text()
    assert 'set part "xcvu9p-flga2577-2-e"' in project_tcl
    assert "set clock_period 5" in project_tcl
    assert (project / "build_prj.tcl").exists()
    assert (project / "firmware" / "nnet_utils" / "nnet_symbolnet.h").exists()
    assert (project / "firmware" / "myproject.cpp").exists()
    if shutil.which("vitis-run"):
        pytest.skip("vitis-run is installed; the synth-marked test covers build()")
    with pytest.raises(Exception, match="Vitis installation not found"):
        hls_model.build()


@pytest.mark.synth
def test_vendor_build_reports(tmp_path, jets_x):
    if not shutil.which("vitis-run"):
        pytest.skip("vitis-run (Vitis HLS) not found")
    import hls4ml

    hls_model = convert_from_symbolnet(
        make_model(), output_dir=str(tmp_path / "build"), calibration_data=jets_x
    )
    hls_model.build(csim=False, synth=True)
    report = hls4ml.report.read_vivado_report(str(tmp_path / "build"))
    assert report is not None


def test_rejects_model_that_is_not_symbolnet(tmp_path):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(TypeError, match="SymbolNet"):
        convert_from_symbolnet(model, output_dir=str(tmp_path / "dense"))
    with pytest.raises(TypeError, match="SymbolNet"):
        convert_from_symbolnet(np.zeros(3), output_dir=str(tmp_path / "array"))


def test_fully_pruned_model_warns_and_is_constant(tmp_path, jets_x):
    model = make_model()
    model.get_layer("net_input_pruning").threshold.assign(np.ones(N_INPUTS, "float32"))
    with pytest.warns(UserWarning, match="fully pruned"):
        hls_model = convert_from_symbolnet(
            model, output_dir=str(tmp_path / "constant"), calibration_data=jets_x
        )
    hls_model.write()
    for body in compute_body(tmp_path / "constant"):
        assert "x[" not in body.split("compute(")[1].split("{", 1)[1]
    outputs = FixedPointModel(fold_network(model), plan_from_hls_model(hls_model)).predict(jets_x[:20])
    np.testing.assert_array_equal(outputs, np.broadcast_to(outputs[:1], outputs.shape))


def test_rejects_operator_without_hls_implementation(tmp_path, monkeypatch):
    import dataclasses

    from hls4ml_symbolnet import operators

    fake = dataclasses.replace(operators.UNARY_OPERATORS["sin"], name="sin_cordic", firmware="cordic")
    monkeypatch.setitem(operators.UNARY_OPERATORS, "sin_cordic", fake)
    model = build_symbolnet(3, 1, hidden=[(2, 0)], unary_operators=["sin_cordic", "sin"], seed=0)
    model(np.zeros((1, 3), "float32"))
    with pytest.raises(NotImplementedError, match="'sin_cordic' has firmware kind 'cordic'"):
        convert_from_symbolnet(model, output_dir=str(tmp_path / "cordic"))


def test_rejects_unwritable_output_dir(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(PermissionError, match="a_file"):
        convert_from_symbolnet(make_model(), output_dir=str(blocker / "project"))


@pytest.mark.parametrize("precision", ["ap_fixd<18,10>", "ap_fixed<18>", "banana"])
def test_rejects_unparsable_precision(tmp_path, precision):
    config = {"LayerName": {SYMBOLIC: {"Precision": {"result": precision}}}}
    with pytest.raises(ValueError, match=re.escape(repr(precision))):
        convert_from_symbolnet(make_model(), output_dir=str(tmp_path / "bad"), hls_config=config)


def test_rejects_unsupported_settings(tmp_path):
    model = make_model()
    with pytest.raises(NotImplementedError, match="io_stream"):
        convert_from_symbolnet(model, output_dir=str(tmp_path / "s"), io_type="io_stream")
    with pytest.raises(ValueError, match="form"):
        convert_from_symbolnet(model, output_dir=str(tmp_path / "f"), form="graph")
    with pytest.raises(ValueError, match="backend"):
        convert_from_symbolnet(model, output_dir=str(tmp_path / "b"), backend="Quartus")
    with pytest.raises(ValueError, match="table_size"):
        make_precision_plan(model, table_size=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        convert_from_symbolnet(model, output_dir=str(tmp_path / "ok"))
