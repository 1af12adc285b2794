"""Genetic-programming baseline: one symbolic regressor per class, and its hls4ml firmware.

The classifier fits one regressor per class against that class's 0/1 target (one-vs-rest, the
one-hot targets SymbolNet regresses on) and predicts the class whose expression is largest.
Expressions use the input symbols ``x0 ... x{n-1}`` and are measured with
:func:`hls4ml_symbolnet.export.complexity`, like SymbolNet's.

Backends:

* ``"operon"`` (default): ``pyoperon`` (``pip install pyoperon``, the ``baselines`` extra), a C++
  GP engine with a scikit-learn interface that runs offline.
* ``"pysr"``: PySR, optional. It installs a Julia runtime at first use and so needs network
  access once; when it cannot be imported, :class:`GPBackendUnavailable` is raised.

Firmware goes through hls4ml's symbolic-expression path
(``hls4ml.converters.convert_from_symbolic_expression``). Every non-polynomial function becomes a
lookup table whose input range covers the function's arguments on calibration data, because the
open headers that ship with hls4ml 1.3.0 have no synthesizable ``hls::sin`` and friends. One
fixed-point type is used for every value, its integer bits sized from the same calibration data.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import pathlib
from collections.abc import Sequence

import numpy as np
import sympy

from hls4ml_symbolnet.export import complexity, evaluate_expressions, input_symbols

__all__ = [
    "DEFAULT_GP_OPERATORS",
    "GP_BACKENDS",
    "GPBackendUnavailable",
    "GPClassifier",
    "LUT_FUNCTIONS",
    "FirmwarePlan",
    "convert_gp_model",
    "fit_gp_classifier",
    "operon_to_sympy",
    "plan_firmware",
]

logger = logging.getLogger(__name__)

GP_BACKENDS = ("operon", "pysr")

DEFAULT_GP_OPERATORS = ("add", "sub", "mul", "sin", "cos")
"""Default GP operators. Each compiles in hls4ml's C simulation without vendor headers.

``"square"``, ``"exp"`` and ``"div"`` are also accepted, but are off by default. GP runs on the
jet data nested ``exp`` into values above 1e12, which no practical fixed-point type can represent, and
nested ``square`` into C++ products wider than ap_fixed's 1024-bit limit (see :func:`plan_firmware`).
"""

FIRMWARE_OPERATORS = ("add", "sub", "mul", "div", "sin", "cos", "exp", "square")

# Operator name -> pyoperon symbol; and -> PySR operator (binary, unary).
_OPERON_SYMBOLS = {
    "add": "add",
    "sub": "sub",
    "mul": "mul",
    "div": "div",
    "sin": "sin",
    "cos": "cos",
    "exp": "exp",
    "square": "square",
}
_PYSR_BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
_PYSR_UNARY = {"sin": "sin", "cos": "cos", "exp": "exp", "square": "square"}

LUT_FUNCTIONS = {sympy.sin: "sin", sympy.cos: "cos", sympy.exp: "exp"}
"""sympy functions that the firmware computes as lookup tables, with the C function that fills each table.

These are the functions whose table generator exists in the open headers of hls4ml 1.3.0
(``nnet::sin``, ``nnet::cos``, ``hls::exp``).
"""


class GPBackendUnavailable(RuntimeError):
    """The requested GP backend cannot be imported or started here."""


@dataclasses.dataclass(frozen=True)
class GPClassifier:
    """One expression per class; the predicted class is the one with the largest value.

    Attributes:
        expressions: sympy expressions in ``x0 ... x{n_features-1}``, one per class.
        n_features: number of input columns.
        backend: GP engine that found the expressions.
    """

    expressions: tuple[sympy.Expr, ...]
    n_features: int
    backend: str

    @property
    def n_classes(self) -> int:
        return len(self.expressions)

    def complexities(self) -> list[int]:
        """Complexity of each expression (nodes of ``sympy.preorder_traversal``)."""
        return [complexity(expression) for expression in self.expressions]

    def mean_complexity(self) -> float:
        return float(np.mean(self.complexities()))

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """Evaluate every expression on ``x`` in float64, shape ``(n_samples, n_classes)``."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"`x` must have shape (n_samples, {self.n_features}). Received: shape={x.shape}")
        with np.errstate(over="ignore", invalid="ignore"):
            return evaluate_expressions(list(self.expressions), x)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Return the class with the largest expression value for each row."""
        return np.argmax(np.nan_to_num(self.decision_function(x), nan=-np.inf), axis=1)


def _check_operators(names: Sequence[str]) -> tuple[str, ...]:
    names = (names,) if isinstance(names, str) else tuple(names)
    unknown = [name for name in names if name not in _OPERON_SYMBOLS]
    if unknown or not names:
        raise ValueError(
            f"Unknown GP operators {unknown or names!r}. Known operators: {', '.join(_OPERON_SYMBOLS)}."
        )
    if not any(name in _PYSR_BINARY for name in names):
        raise ValueError(
            f"GP operators need at least one binary operator (add, sub, mul, div). Received: {names}"
        )
    return names


def operon_to_sympy(text: str, n_features: int) -> sympy.Expr:
    """Parse a pyoperon infix model string into sympy, in the symbols ``x0 ... x{n-1}``.

    pyoperon writes powers as ``^``; the variables must already be named ``x0 ... x{n-1}``.
    """
    symbols = {symbol.name: symbol for symbol in input_symbols(n_features)}
    local = {**symbols, "sin": sympy.sin, "cos": sympy.cos, "exp": sympy.exp, "square": lambda v: v**2}
    try:
        expression = sympy.parse_expr(text.replace("^", "**"), local_dict=local, evaluate=True)
    except (SyntaxError, TypeError, sympy.SympifyError) as error:
        raise ValueError(f"Cannot parse the pyoperon model string {text!r}: {error}") from error
    unknown = {symbol.name for symbol in expression.free_symbols} - set(symbols)
    if unknown:
        raise ValueError(
            f"The pyoperon model uses unknown variables {sorted(unknown)}; expected x0..x{n_features - 1}."
        )
    return expression


def _fit_operon(x, target, operators, population_size, generations, max_length, seed, n_threads, max_time):
    try:
        from pyoperon.sklearn import SymbolicRegressor
    except ImportError as error:
        raise GPBackendUnavailable(
            "The GP backend 'operon' needs pyoperon: pip install 'hls4ml-symbolnet[baselines]' "
            "or pip install pyoperon."
        ) from error
    regressor = SymbolicRegressor(
        allowed_symbols=",".join([_OPERON_SYMBOLS[name] for name in operators] + ["constant", "variable"]),
        population_size=population_size,
        generations=generations,
        max_length=max_length,
        max_evaluations=10**9,
        objectives=["r2"],
        n_threads=n_threads,
        random_state=seed,
        max_time=max_time,
    )
    regressor.fit(x, target)
    names = [f"x{i}" for i in range(x.shape[1])]
    # 12 decimals: the default 3 turns small scale factors into 0.
    return operon_to_sympy(
        regressor.get_model_string(regressor.model_, precision=12, names=names), x.shape[1]
    )


def _fit_pysr(x, target, operators, population_size, generations, max_length, seed, n_threads, max_time):
    # NOTE: this path has not been run here, because PySR's Julia runtime cannot be downloaded
    # without network access.
    try:
        from pysr import PySRRegressor
    except Exception as error:  # noqa: BLE001 - importing PySR can fail in Julia set-up, not only ImportError
        raise GPBackendUnavailable(
            "The GP backend 'pysr' is unavailable: PySR must be installed (pip install pysr) and "
            "download its Julia runtime once with network access. "
            f"Import failed with: {error!r}. Use backend='operon'."
        ) from error
    regressor = PySRRegressor(
        binary_operators=[_PYSR_BINARY[name] for name in operators if name in _PYSR_BINARY],
        unary_operators=[_PYSR_UNARY[name] for name in operators if name in _PYSR_UNARY],
        population_size=population_size,
        niterations=generations,
        maxsize=max_length,
        random_state=seed,
        deterministic=True,
        parallelism="serial",
        timeout_in_seconds=max_time,
        progress=False,
        verbosity=0,
    )
    regressor.fit(x, target, variable_names=[f"x{i}" for i in range(x.shape[1])])
    expression = regressor.sympy()
    replacements = {symbol: sympy.Symbol(symbol.name, real=True) for symbol in expression.free_symbols}
    return expression.xreplace(replacements)


def fit_gp_classifier(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int | None = None,
    *,
    backend: str = "operon",
    operators: Sequence[str] = DEFAULT_GP_OPERATORS,
    population_size: int = 500,
    generations: int = 50,
    max_length: int = 30,
    seed: int = 0,
    n_threads: int = 1,
    max_time: int | None = None,
) -> GPClassifier:
    """Fit one GP regressor per class on ``(y == class)`` and return the expressions.

    Args:
        x: inputs, shape ``(n_samples, n_features)``, finite.
        y: integer class labels ``0 .. n_classes - 1``.
        n_classes: number of classes; ``max(y) + 1`` when None.
        backend: ``"operon"`` or ``"pysr"`` (optional; see the module docstring).
        operators: operator names from :data:`DEFAULT_GP_OPERATORS`, plus ``"div"``.
        population_size: GP population size.
        generations: generations (PySR: iterations) per class.
        max_length: maximum expression length in tree nodes before simplification.
        seed: seed of class ``c``'s run is ``seed + c``.
        n_threads: worker threads of the GP engine.
        max_time: wall-clock limit per class in seconds, or None.

    Raises:
        GPBackendUnavailable: the backend cannot be imported.
        ValueError: bad shapes, non-finite inputs, labels outside the classes, unknown operators.
    """
    if backend not in GP_BACKENDS:
        raise ValueError(f"`backend` must be one of {GP_BACKENDS}. Received: backend={backend!r}")
    operators = _check_operators(operators)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(f"`x` must be 2-D and `y` 1-D with as many rows. Received: x {x.shape}, y {y.shape}")
    if not np.isfinite(x).all():
        raise ValueError("`x` contains NaN or inf; remove or impute those rows before fitting.")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"`y` must hold integer class labels. Received dtype {y.dtype}.")
    n_classes = int(y.max()) + 1 if n_classes is None else int(n_classes)
    if n_classes < 2 or y.min() < 0 or y.max() >= n_classes:
        raise ValueError(
            f"`y` must hold labels 0..{n_classes - 1} with n_classes >= 2. Received labels {np.unique(y)}."
        )

    fit = _fit_operon if backend == "operon" else _fit_pysr
    expressions = []
    for label in range(n_classes):
        target = (y == label).astype(np.float64)
        expression = fit(
            x, target, operators, population_size, generations, max_length, seed + label, n_threads, max_time
        )
        logger.info("GP (%s) class %d: complexity %d", backend, label, complexity(expression))
        expressions.append(expression)
    return GPClassifier(expressions=tuple(expressions), n_features=x.shape[1], backend=backend)


@dataclasses.dataclass(frozen=True)
class FirmwarePlan:
    """Fixed-point type and lookup tables for the firmware of a list of expressions.

    Attributes:
        precision: the hls4ml type of every input, stored intermediate value and output, for
            example ``"ap_fixed<22,12,AP_RND,AP_SAT>"``.
        lut_functions: hls4ml's ``lut_functions`` argument: table name -> ``math_func``,
            ``range_start``, ``range_end``, ``table_size``.
        expressions: the expressions with each table function in place of its sympy function.
        max_abs_value: largest absolute value of any subexpression on the calibration data,
            table outputs at the range ends included.
    """

    precision: str
    lut_functions: dict[str, dict]
    expressions: tuple[sympy.Expr, ...]
    max_abs_value: float


MAX_TABLE_SIZE = 2**16

AP_MAX_WIDTH = 1024
"""Widest ap_fixed intermediate that the ap_types headers accept without ``AP_INT_MAX_W``."""


def _product_width(expression: sympy.Expr, width: int) -> int:
    """Return the bit width of the C++ intermediate that hls4ml's printer makes of ``expression``.

    ap_fixed arithmetic keeps full precision: a product is as wide as its factors together and a
    sum one bit wider than its widest term. Symbols, constants and table lookups have ``width``.
    """
    if expression.is_Atom or expression.is_Function:
        return width
    widths = [_product_width(argument, width) for argument in expression.args]
    if expression.is_Mul:
        return sum(widths)
    if expression.is_Pow and expression.exp.is_Integer and expression.exp > 0:
        return int(expression.exp) * widths[0]
    if expression.is_Add:
        return max(widths) + math.ceil(math.log2(len(widths)))
    return max(widths)


def _table_layout(low: float, high: float, step_bits: int) -> tuple[int, int, int]:
    """Return ``(start, end, size)`` of a table covering ``[low, high]`` with steps of ``2**-step_bits``.

    The ends are integers and the width a power of two, because hls4ml 1.3.0's
    ``nnet::lookup_table`` indexes with ``size / width`` stored as ``ap_fixed<20,16>``, which is
    exact only for such widths.
    """
    start = math.floor(low)
    width = 2 ** max(1, math.ceil(math.log2(max(high - start, 1e-9))))
    size = max(1024, width * 2**step_bits)
    if size > MAX_TABLE_SIZE:
        raise ValueError(
            f"A lookup table over [{low:.3g}, {high:.3g}] with steps of 2**-{step_bits} needs {size} "
            f"entries, more than {MAX_TABLE_SIZE}, because the expression takes extreme values on the "
            "calibration data."
        )
    return start, start + width, size


def plan_firmware(
    expressions: Sequence[sympy.Expr],
    calibration_data: np.ndarray,
    *,
    fractional_bits: int = 10,
    constant_bits: int = 8,
    table_step_bits: int = 7,
    max_width: int = 48,
) -> FirmwarePlan:
    """Choose the fixed-point type and lookup tables of the expressions' firmware from data.

    Each function in :data:`LUT_FUNCTIONS` gets one table named ``<function>_lut``, shared by
    all its calls, whose range covers all its arguments on ``calibration_data`` in steps of
    ``2**-table_step_bits`` (at least 1024 entries). The table contains the function at the lower
    end of each step, because the index truncates. The integer
    bits (sign included) cover every subexpression value seen and the table contents, plus one
    bit of margin. The fractional bits are at least ``fractional_bits``, and more where a
    float constant needs them to keep ``constant_bits`` significant bits. Values outside the
    type saturate (``AP_SAT``) and conversions round (``AP_RND``).

    Raises:
        ValueError: a subexpression is not finite on the data, a function has no firmware
            form, the type would be wider than ``max_width`` bits, or a product in the C++
            expression would be wider than :data:`AP_MAX_WIDTH` bits.
    """
    x = np.asarray(calibration_data, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0 or not np.isfinite(x).all():
        raise ValueError(
            f"`calibration_data` must be a finite 2-D array with at least one row. Received shape {x.shape}."
        )
    for value, name in (
        (fractional_bits, "fractional_bits"),
        (constant_bits, "constant_bits"),
        (table_step_bits, "table_step_bits"),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"`{name}` must be an integer >= 0. Received: {name}={value!r}")
    symbols = input_symbols(x.shape[1])

    def values_of(expression: sympy.Expr) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            value = sympy.lambdify(symbols, expression, modules="numpy")(*x.T)
        return np.broadcast_to(np.asarray(value, dtype=np.float64), (len(x),))

    max_abs = float(np.max(np.abs(x)))
    min_constant = math.inf
    argument_ranges: dict = {}
    for expression in expressions:
        for node in sympy.preorder_traversal(expression):
            if node.is_Atom:
                if isinstance(node, sympy.Float) and node != 0:
                    min_constant = min(min_constant, abs(float(node)))
                    max_abs = max(max_abs, abs(float(node)))
                continue
            values = values_of(node)
            if not np.isfinite(values).all():
                raise ValueError(
                    f"The subexpression {node} is not finite on the calibration data, so no fixed-point "
                    "type can represent it."
                )
            max_abs = max(max_abs, float(np.max(np.abs(values))))
            if node.func in LUT_FUNCTIONS:
                argument = values_of(node.args[0])
                low, high = argument_ranges.get(node.func, (np.inf, -np.inf))
                argument_ranges[node.func] = (
                    min(low, float(argument.min())),
                    max(high, float(argument.max())),
                )
            elif node.is_Function:
                raise ValueError(
                    f"The function {node.func} has no firmware form; GP operators with firmware: "
                    f"{', '.join(FIRMWARE_OPERATORS)}."
                )

    lut_functions = {}
    replacements = {}
    for function, (low, high) in argument_ranges.items():
        start, end, table_size = _table_layout(low, high, table_step_bits)
        name = f"{LUT_FUNCTIONS[function]}_lut"
        lut_functions[name] = {
            "math_func": LUT_FUNCTIONS[function],
            "range_start": start,
            "range_end": end,
            "table_size": table_size,
        }
        table_values = function(sympy.Float(start)), function(sympy.Float(end))
        max_abs = max([max_abs, float(end - start)] + [abs(float(value)) for value in table_values])
        replacements[function] = sympy.Function(name)

    integer_bits = math.ceil(math.log2(max_abs + 1.0)) + 2
    fraction = int(fractional_bits)
    if math.isfinite(min_constant):
        fraction = max(fraction, math.ceil(-math.log2(min_constant)) + int(constant_bits))
    width = integer_bits + fraction
    if width > max_width:
        raise ValueError(
            f"The expressions need ap_fixed<{width},{integer_bits}> on the calibration data (largest "
            f"|value| {max_abs:.3g}, smallest constant {min_constant:.3g}), wider than "
            f"max_width={max_width}. "
            "Refit with fewer or other operators, or raise max_width."
        )
    converted = tuple(
        expression.replace(lambda e: e.func in replacements, lambda e: replacements[e.func](*e.args))
        for expression in expressions
    )
    for index, expression in enumerate(converted):
        intermediate = _product_width(expression, width)
        if intermediate > AP_MAX_WIDTH:
            raise ValueError(
                f"Expression {index} builds a {intermediate}-bit intermediate product in C++ at "
                f"ap_fixed<{width},{integer_bits}>, above ap_fixed's {AP_MAX_WIDTH}-bit limit. "
                "Refit with a smaller max_length or without 'square'."
            )
    return FirmwarePlan(
        precision=f"ap_fixed<{width},{integer_bits},AP_RND,AP_SAT>",
        lut_functions=lut_functions,
        expressions=converted,
        max_abs_value=max_abs,
    )


def convert_gp_model(
    classifier: GPClassifier | Sequence[sympy.Expr],
    output_dir: str | os.PathLike,
    calibration_data: np.ndarray,
    *,
    fractional_bits: int = 10,
    table_step_bits: int = 7,
    part: str = "xcvu9p-flga2577-2-e",
    clock_period: float = 5,
    project_name: str = "myproject",
):
    """Convert GP expressions to an hls4ml ``ModelGraph`` through hls4ml's symbolic-expression path.

    The model compiles with g++ and the open headers that ship with hls4ml
    (``hls_include_path=''``), so ``compile()`` and ``predict()`` work without a vendor tool;
    ``build()`` needs Vivado or Vitis HLS. The chosen :class:`FirmwarePlan` is stored on the
    returned model as ``symbolnet_firmware_plan``.

    Args:
        classifier: a :class:`GPClassifier` or a list of expressions in ``x0 ... x{n-1}``.
        output_dir: folder of the HLS project.
        calibration_data: inputs that size the type and the tables (a few thousand rows).
        fractional_bits, table_step_bits: see :func:`plan_firmware`.
        part, clock_period: FPGA part and clock period in ns.
        project_name: HLS project name.
    """
    import hls4ml

    expressions = list(classifier.expressions if isinstance(classifier, GPClassifier) else classifier)
    calibration_data = np.asarray(calibration_data, dtype=np.float64)
    plan = plan_firmware(
        expressions, calibration_data, fractional_bits=fractional_bits, table_step_bits=table_step_bits
    )
    output_dir = pathlib.Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    logger.info("GP firmware: %s, tables %s", plan.precision, plan.lut_functions)
    hls_model = hls4ml.converters.convert_from_symbolic_expression(
        list(plan.expressions),
        n_symbols=calibration_data.shape[1],
        lut_functions=plan.lut_functions,
        output_dir=str(output_dir),
        project_name=project_name,
        precision=plan.precision,
        part=part,
        clock_period=clock_period,
        # An empty path compiles against the open headers shipped with hls4ml.
        hls_include_path="",
        hls_libs_path="",
    )
    hls_model.symbolnet_firmware_plan = plan
    return hls_model
