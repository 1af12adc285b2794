"""Fixed-point arithmetic of the firmware model: rounding, overflow, tables, the numpy reference."""

import pathlib
import shutil
import subprocess

import numpy as np
import pytest
from hls4ml_symbolnet.converters.fixed_point import (
    OVERFLOW_MODES,
    ROUNDING_MODES,
    FixedType,
    build_table,
    quantize_constant,
    quantize_float,
    requantize,
    to_float,
)

# Values -1.5 ... 1.5 in quarter steps, rounded to integers by each mode.
ROUNDING_CASES = {
    "TRN": [-2, -2, -1, -1, -1, 0, 0, 0, 1, 1],
    "TRN_ZERO": [-1, -1, 0, 0, 0, 0, 0, 0, 1, 1],
    "RND": [-1, -1, -1, 0, 0, 0, 1, 1, 1, 2],
    "RND_ZERO": [-1, -1, -1, 0, 0, 0, 0, 1, 1, 1],
    "RND_INF": [-2, -1, -1, -1, 0, 0, 1, 1, 1, 2],
    "RND_MIN_INF": [-2, -1, -1, -1, 0, 0, 0, 1, 1, 1],
    "RND_CONV": [-2, -1, -1, 0, 0, 0, 0, 1, 1, 2],
}
QUARTERS = np.array([-6, -5, -3, -2, -1, 1, 2, 3, 5, 6])  # raw integers with 2 fractional bits

# Raw values -10 -9 -8 7 8 9 assigned to a 4-bit signed integer type.
OVERFLOW_CASES = {
    "WRAP": [6, 7, -8, 7, -8, -7],
    "SAT": [-8, -8, -8, 7, 7, 7],
    "SAT_ZERO": [0, 0, -8, 7, 0, 0],
    "SAT_SYM": [-7, -7, -7, 7, 7, 7],
}


@pytest.mark.parametrize("mode", ROUNDING_MODES)
def test_requantize_rounding_mode(mode):
    target = FixedType(8, 8, rounding=mode)
    result = requantize(QUARTERS, 2, target)
    np.testing.assert_array_equal(result, ROUNDING_CASES[mode])


@pytest.mark.parametrize("mode", OVERFLOW_MODES)
def test_requantize_overflow_mode(mode):
    counts = []
    result = requantize(np.array([-10, -9, -8, 7, 8, 9]), 0, FixedType(4, 4, overflow=mode), counts)
    np.testing.assert_array_equal(result, OVERFLOW_CASES[mode])
    expected_overflows = 5 if mode == "SAT_SYM" else 4
    assert sum(counts) == expected_overflows


def test_requantize_wide_values_use_python_integers():
    raw = np.array([(1 << 70) + 3, -(1 << 70) - 3], dtype=object)
    result = requantize(raw, 2, FixedType(80, 80, rounding="RND"))
    assert [int(v) for v in result] == [(1 << 68) + 1, -(1 << 68) - 1]


def test_quantize_float_matches_requantize_of_exact_value():
    values = np.array([0.3, -0.3, 2.71828, -7.9, 0.0078125])
    fixed_type = FixedType(12, 4, rounding="RND_CONV", overflow="SAT")
    wide = quantize_float(values, FixedType(70, 8))  # 62 fractional bits hold these doubles exactly
    np.testing.assert_array_equal(quantize_float(values, fixed_type), requantize(wide, 62, fixed_type))


def test_quantize_float_rejects_nan():
    with pytest.raises(ValueError, match="NaN or inf"):
        quantize_float(np.array([0.0, np.nan]), FixedType(8, 4))


def test_quantize_constant_ties_to_even_and_saturates():
    fixed_type = FixedType(6, 3)  # LSB 1/8, range [-4, 3.875]
    raw = quantize_constant([0.0625, 0.1875, 10.0, -np.inf, -4.0], fixed_type)
    np.testing.assert_array_equal(raw, [0, 2, 31, -32, -32])


def test_fixed_type_round_trips_through_hls4ml_precision():
    for text in ("ap_fixed<18,10>", "ap_fixed<14,6,AP_RND_CONV,AP_SAT>", "ap_ufixed<8,3,AP_RND,AP_SAT_SYM>"):
        from hls4ml.backends import get_backend

        parsed = FixedType.from_precision(get_backend("Vivado").convert_precision_string(text))
        assert parsed.cpp() == text
        assert FixedType.from_precision(parsed.to_precision()) == parsed


def test_table_step_is_power_of_two():
    input_type = FixedType(18, 4)
    table = build_table("sin", np.sin, "sin", input_type, (-1.3, 2.2), 256, FixedType(18, 2))
    assert table.start <= -1.3
    assert table.stop >= 2.2
    assert np.log2(table.step) == int(np.log2(table.step))
    assert table.step >= input_type.lsb
    np.testing.assert_allclose(
        to_float(table.entries, table.entry_type), np.sin(table.samples()), atol=2**-16
    )


def test_table_size_must_be_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        build_table("exp", np.exp, "exp", FixedType(18, 4), (-1, 1), 1000, FixedType(18, 4))


def test_table_index_picks_nearest_sample_and_clamps():
    input_type = FixedType(10, 4)  # LSB 1/64
    table = build_table("f", lambda v: v, "x", input_type, (0.0, 0.9375), 16, FixedType(16, 4))
    assert table.step == 1 / 16
    values = np.array([-5.0, 0.0, 0.03, 0.032, 0.5, 7.9])
    raw = quantize_float(values, input_type)
    clamped = []
    index = table.index(raw, clamped)
    np.testing.assert_array_equal(index, [0, 0, 0, 1, 8, 15])
    assert sum(clamped) == 2


def test_abs_table_starts_at_zero():
    input_type = FixedType(12, 4)
    table = build_table(
        "div", lambda a: 1 / (0.001 + a), "1/(0.001+|x|)", input_type, (0.0, 3.0), 64, FixedType(18, 11), True
    )
    assert table.start == 0.0
    assert table.abs_input
    assert to_float(table.entries[:1], table.entry_type)[0] == pytest.approx(1000.0, abs=2**-7)


@pytest.mark.slow
def test_rounding_and_overflow_match_ap_fixed_headers(tmp_path):
    """Compile a C++ program against hls4ml's ap_types and compare every mode pair bit for bit."""
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("g++ not found")
    import hls4ml

    include = pathlib.Path(hls4ml.__file__).parent / "templates" / "vivado" / "ap_types"
    values = np.arange(-6.0, 6.0001, 1 / 32)
    modes = [(r, o) for r in ROUNDING_MODES for o in OVERFLOW_MODES]
    lines = [
        '#include "ap_fixed.h"',
        "#include <cstdio>",
        "template <class T> void show(double d) {",
        "    T direct = d; ap_int<T::width> a = direct.range(T::width - 1, 0);",
        "    ap_fixed<16, 8> wide = d; T assigned = wide;",
        "    ap_int<T::width> b = assigned.range(T::width - 1, 0);",
        '    printf("%d %d\\n", a.to_int(), b.to_int());',
        "}",
        "int main() {",
        "    const double values[] = {" + ", ".join(repr(float(v)) for v in values) + "};",
    ]
    for rounding, overflow in modes:
        lines.append(f"    for (double d : values) show<ap_fixed<6, 3, AP_{rounding}, AP_{overflow}> >(d);")
    lines += ["    return 0;", "}"]
    source = tmp_path / "modes.cpp"
    source.write_text("\n".join(lines))
    binary = tmp_path / "modes"
    subprocess.run(
        [compiler, "-std=c++11", "-O1", f"-I{include}", str(source), "-o", str(binary)], check=True
    )
    output = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout
    results = np.array(output.split(), dtype=np.int64).reshape(len(modes), len(values), 2)
    wide = quantize_float(values, FixedType(16, 8))
    for index, (rounding, overflow) in enumerate(modes):
        fixed_type = FixedType(6, 3, rounding=rounding, overflow=overflow)
        np.testing.assert_array_equal(
            quantize_float(values, fixed_type), results[index, :, 0], err_msg=str(fixed_type)
        )
        np.testing.assert_array_equal(
            requantize(wide, 8, fixed_type), results[index, :, 1], err_msg=str(fixed_type)
        )
