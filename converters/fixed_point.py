"""Fixed-point numbers as the generated firmware computes them, in numpy integers.

A value of type ``ap_fixed<W, I>`` is stored as its raw integer ``r`` with
``value = r * 2**-(W - I)``. Every function here works on raw integers, so results
are exact and can be compared bit for bit with the C simulation.

Semantics, matching the ``ap_fixed`` headers that hls4ml 1.3.0 ships
(``templates/vivado/ap_types``):

* Sums and products of fixed-point values are exact because ``ap_fixed`` widens the
  result type. A value changes only when it is assigned to a narrower type.
* Assignment drops fractional bits by the type's rounding mode and then handles the
  integer range by its overflow mode (see :func:`requantize`).
* Conversion from ``float``/``double`` is exact before those two steps.
* Constants that the generator writes into the firmware (weights, biases, table
  entries) are rounded to the nearest value of their type, ties to even, and
  saturated to its range, whatever the type's own modes; they are then written as
  exact decimal literals, so the firmware sees the same values.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

__all__ = [
    "OVERFLOW_MODES",
    "ROUNDING_MODES",
    "FixedType",
    "LookupTable",
    "build_table",
    "exact_array",
    "quantize_constant",
    "quantize_float",
    "requantize",
    "to_float",
]

ROUNDING_MODES = ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_INF", "RND_MIN_INF", "RND_CONV")
OVERFLOW_MODES = ("WRAP", "SAT", "SAT_ZERO", "SAT_SYM")

# Widths up to this many bits are computed in int64; wider intermediate values use
# Python integers (numpy object arrays), which are exact at any width.
_INT64_BITS = 62


@dataclasses.dataclass(frozen=True)
class FixedType:
    """An ``ap_fixed<width, integer, AP_<rounding>, AP_<overflow>>`` type.

    ``integer`` counts the sign bit for signed types, as in ``ap_fixed``.
    ``rounding`` is one of :data:`ROUNDING_MODES` and ``overflow`` one of
    :data:`OVERFLOW_MODES` (without the ``AP_`` prefix).
    """

    width: int
    integer: int
    signed: bool = True
    rounding: str = "TRN"
    overflow: str = "WRAP"

    def __post_init__(self):
        if self.width < 1:
            raise ValueError(f"A fixed-point type needs width >= 1. Received: width={self.width}")
        if self.rounding not in ROUNDING_MODES:
            raise ValueError(
                f"Unknown rounding mode {self.rounding!r}. Known modes: {', '.join(ROUNDING_MODES)}"
            )
        if self.overflow not in OVERFLOW_MODES:
            raise ValueError(
                f"Unknown overflow mode {self.overflow!r}. Known modes: {', '.join(OVERFLOW_MODES)}"
            )

    @property
    def frac(self) -> int:
        """Number of fractional bits, ``width - integer``."""
        return self.width - self.integer

    @property
    def min_raw(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_raw(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def min_value(self) -> float:
        return math.ldexp(self.min_raw, -self.frac)

    @property
    def max_value(self) -> float:
        return math.ldexp(self.max_raw, -self.frac)

    @property
    def lsb(self) -> float:
        """Value of one least significant bit, ``2**-frac``."""
        return math.ldexp(1.0, -self.frac)

    def cpp(self) -> str:
        """C++ spelling, e.g. ``ap_fixed<18,10>`` or ``ap_fixed<16,6,AP_RND,AP_SAT>``."""
        name = "ap_fixed" if self.signed else "ap_ufixed"
        args = [str(self.width), str(self.integer)]
        if self.rounding != "TRN" or self.overflow != "WRAP":
            args += [f"AP_{self.rounding}", f"AP_{self.overflow}"]
        return f"{name}<{','.join(args)}>"

    def __str__(self) -> str:
        return self.cpp()

    def with_integer(self, integer: int, width: int | None = None) -> FixedType:
        """Return the same type with other integer bits and, if given, another width."""
        return dataclasses.replace(
            self, integer=int(integer), width=int(width if width is not None else self.width)
        )

    @classmethod
    def from_precision(cls, precision) -> FixedType:
        """Convert an hls4ml ``FixedPrecisionType`` or ``IntegerPrecisionType``.

        Raises:
            NotImplementedError: for floating-point types or a nonzero saturation-bit count.
        """
        from hls4ml.model.types import FixedPrecisionType, IntegerPrecisionType

        if isinstance(precision, FixedPrecisionType):
            if precision.saturation_bits:
                raise NotImplementedError(
                    f"Fixed-point types with saturation bits are not supported. Received: {precision}"
                )
            return cls(
                width=int(precision.width),
                integer=int(precision.integer),
                signed=bool(precision.signed),
                rounding=precision.rounding_mode.name,
                overflow=precision.saturation_mode.name,
            )
        if isinstance(precision, IntegerPrecisionType):
            return cls(
                width=int(precision.width), integer=int(precision.width), signed=bool(precision.signed)
            )
        raise NotImplementedError(
            "SymbolNet firmware uses fixed-point types only. "
            f"Received: {precision} ({type(precision).__name__})"
        )

    def to_precision(self):
        """Return the equivalent hls4ml ``FixedPrecisionType``."""
        from hls4ml.model.types import FixedPrecisionType

        return FixedPrecisionType(
            width=self.width,
            integer=self.integer,
            signed=self.signed,
            rounding_mode=self.rounding,
            saturation_mode=self.overflow,
        )


def exact_array(values, bits: int) -> np.ndarray:
    """Return integer ``values`` as int64 when ``bits`` fit, else as exact Python integers."""
    array = np.asarray(values)
    if bits <= _INT64_BITS:
        if array.dtype == object:
            return array.astype(np.int64)
        return array.astype(np.int64, copy=False)
    if array.dtype == object:
        return array
    return np.array([int(v) for v in array.ravel()], dtype=object).reshape(array.shape)


def _round_shifted(raw: np.ndarray, shift: int, rounding: str) -> np.ndarray:
    """Divide raw integers by ``2**shift`` (shift > 0) with an ``ap_fixed`` rounding mode."""
    quotient = raw >> shift  # floor division for negative values too
    remainder = raw - (quotient << shift)
    half = 1 << (shift - 1)
    negative = raw < 0
    above = remainder > half
    tie = remainder == half
    inexact = remainder != 0
    if rounding == "TRN":
        bump = np.zeros(raw.shape, dtype=bool)
    elif rounding == "TRN_ZERO":
        bump = negative & inexact
    elif rounding == "RND":
        bump = above | tie
    elif rounding == "RND_ZERO":
        bump = above | (tie & negative)
    elif rounding == "RND_MIN_INF":
        bump = above
    elif rounding == "RND_INF":
        bump = above | (tie & ~negative)
    elif rounding == "RND_CONV":
        bump = above | (tie & ((quotient & 1) == 1))
    else:  # validated in FixedType
        raise ValueError(f"Unknown rounding mode {rounding!r}")
    if quotient.dtype == object:
        return quotient + bump.astype(object)
    return quotient + bump.astype(np.int64)


def _apply_overflow(raw: np.ndarray, fixed_type: FixedType, overflows: list | None) -> np.ndarray:
    low, high = fixed_type.min_raw, fixed_type.max_raw
    if fixed_type.overflow == "SAT_SYM" and fixed_type.signed:
        low = -high  # ap_fixed's symmetric saturation also moves the most negative value to -max
    outside = (raw < low) | (raw > high)
    if overflows is not None:
        overflows.append(int(np.count_nonzero(outside)))
    if not np.any(outside):
        return raw
    mode = fixed_type.overflow
    if mode == "WRAP":
        modulus = 1 << fixed_type.width
        wrapped = raw & (modulus - 1)
        if fixed_type.signed:
            wrapped = np.where(wrapped > high, wrapped - modulus, wrapped)
        return wrapped
    if mode in ("SAT", "SAT_SYM"):
        return np.where(raw < low, low, np.where(raw > high, high, raw))
    if mode == "SAT_ZERO":
        return np.where(outside, 0, raw)
    raise ValueError(f"Unknown overflow mode {mode!r}")


def requantize(raw, frac: int, fixed_type: FixedType, overflows: list | None = None) -> np.ndarray:
    """Assign exact values ``raw * 2**-frac`` to ``fixed_type``, as ``ap_fixed`` assignment does.

    Fractional bits beyond the type are dropped by its rounding mode:

    * ``TRN``: toward minus infinity; ``TRN_ZERO``: toward zero;
    * ``RND``: to nearest, ties toward plus infinity; ``RND_ZERO``: ties toward zero;
      ``RND_MIN_INF``: ties toward minus infinity; ``RND_INF``: ties away from zero;
      ``RND_CONV``: ties to even.

    Then the type's overflow mode handles values outside its range. ``WRAP`` keeps the
    low ``width`` bits (two's complement) and ``SAT`` clips to the range. ``SAT_SYM``
    clips to ``[-max, max]``, so the most negative value becomes ``-max`` too.
    ``SAT_ZERO`` sets the value to 0.

    Args:
        raw: integer array, int64 or Python integers.
        frac: fractional bits of ``raw``.
        fixed_type: target type.
        overflows: optional list; the number of out-of-range values is appended to it.

    Returns:
        Raw integers of ``fixed_type``, int64 when its width fits.
    """
    raw = np.asarray(raw)
    shift = frac - fixed_type.frac
    if shift < 0:
        raw = exact_array(raw, _bit_length(raw) - shift) << (-shift)
    elif shift > 0:
        raw = _round_shifted(raw, shift, fixed_type.rounding)
    result = _apply_overflow(raw, fixed_type, overflows)
    return exact_array(result, fixed_type.width + 1)


def _bit_length(raw: np.ndarray) -> int:
    if raw.size == 0:
        return 1
    if raw.dtype == object:
        return max(int(v).bit_length() for v in raw.ravel()) + 1
    largest = int(np.max(np.abs(raw.astype(np.float64))))
    return largest.bit_length() + 1


def _check_finite(values: np.ndarray, description: str):
    if not np.all(np.isfinite(values)):
        bad = np.argwhere(~np.isfinite(values))[:5].tolist()
        raise ValueError(
            f"{description} contains NaN or inf at positions {bad}. Remove or replace those values."
        )


def quantize_float(values, fixed_type: FixedType, overflows: list | None = None) -> np.ndarray:
    """Convert float values to ``fixed_type`` as ``ap_fixed``'s constructor from ``double`` does.

    The float64 value is taken exactly, then rounded and range-handled by the type's
    modes (see :func:`requantize`).
    """
    values = np.asarray(values, dtype=np.float64)
    _check_finite(values, "Fixed-point input")
    # Scale so that the result keeps one more fractional bit than any mode needs to see
    # ties: floor(v * 2**(frac + 1)) plus a sticky bit for the dropped remainder.
    scaled = np.ldexp(values, fixed_type.frac)
    floor = np.floor(scaled)
    fraction = scaled - floor  # exact: both are float64 with the same exponent range
    # Express as a raw integer with 2 extra fractional bits: half and sticky.
    floor_int = _float_to_int(floor)
    extra = np.where(fraction > 0.5, 3, np.where(fraction == 0.5, 2, np.where(fraction > 0, 1, 0)))
    raw = (exact_array(floor_int, _bit_length(floor_int) + 3) << 2) + extra
    return requantize(raw, fixed_type.frac + 2, fixed_type, overflows)


def _float_to_int(values: np.ndarray) -> np.ndarray:
    if values.size == 0 or np.max(np.abs(values)) < 2.0**_INT64_BITS:
        return values.astype(np.int64)
    return np.array([int(v) for v in values.ravel()], dtype=object).reshape(values.shape)


def quantize_constant(values, fixed_type: FixedType) -> np.ndarray:
    """Round constants to the nearest value of ``fixed_type`` (ties to even), saturating.

    This is how weights, biases and table entries are written into the firmware,
    independent of the type's own rounding and overflow modes. ``+inf`` and ``-inf``
    saturate; NaN raises ``ValueError``.
    """
    values = np.asarray(values, dtype=np.float64)
    if np.any(np.isnan(values)):
        raise ValueError(
            "A constant for the firmware is NaN; check the operator's guard for this input range."
        )
    scaled = np.clip(np.ldexp(values, fixed_type.frac), fixed_type.min_raw - 1.0, fixed_type.max_raw + 1.0)
    raw = _float_to_int(np.rint(scaled))
    return np.clip(raw, fixed_type.min_raw, fixed_type.max_raw).astype(np.int64)


def to_float(raw, fixed_type_or_frac) -> np.ndarray:
    """Return the float64 values of raw integers (exact when they fit in 53 bits)."""
    frac = fixed_type_or_frac.frac if isinstance(fixed_type_or_frac, FixedType) else int(fixed_type_or_frac)
    raw = np.asarray(raw)
    if raw.dtype == object:
        raw = raw.astype(np.float64)
    return np.ldexp(raw.astype(np.float64), -frac)


@dataclasses.dataclass(frozen=True)
class LookupTable:
    """A lookup table of ``size`` samples of a function, as the firmware stores it.

    Samples sit at ``start + i * step`` for ``i = 0 .. size - 1``, where ``step`` is a
    power of two no smaller than the input type's LSB and ``start`` is a multiple of
    ``step``. Entry ``i`` is the function at that sample, rounded to ``entry_type`` by
    :func:`quantize_constant`.

    Indexing, on the raw integer ``r`` of the input (of ``input_type``; its absolute
    value when ``abs_input`` is True):
    ``index = clip((r - start_raw + half) >> shift, 0, size - 1)`` with
    ``step = 2**shift`` LSBs and ``half = 2**(shift - 1)`` (0 when ``shift == 0``),
    i.e. the nearest sample, ties toward the higher one; inputs beyond either end use
    the end sample.

    Attributes:
        name: table name, e.g. ``"sin"``, ``"div"``, ``"pow_log"``, ``"pow_exp"``.
        function: name of the tabulated function, for reports.
        input_type: type whose raw integer is indexed.
        abs_input: True when the table is indexed by the absolute value of the input.
        start_raw: first sample in units of the input LSB.
        shift: ``log2(step / LSB)``, >= 0.
        entry_type: type of the entries.
        entries: raw integers of the entries, int64, length ``size``.
    """

    name: str
    function: str
    input_type: FixedType
    abs_input: bool
    start_raw: int
    shift: int
    entry_type: FixedType
    entries: np.ndarray = dataclasses.field(repr=False, compare=False)

    @property
    def size(self) -> int:
        return int(self.entries.shape[0])

    @property
    def step(self) -> float:
        return math.ldexp(1.0, self.shift - self.input_type.frac)

    @property
    def start(self) -> float:
        return math.ldexp(self.start_raw, -self.input_type.frac)

    @property
    def stop(self) -> float:
        """Last sample point."""
        return self.start + (self.size - 1) * self.step

    def samples(self) -> np.ndarray:
        return self.start + np.arange(self.size) * self.step

    def index(self, raw, clamped: list | None = None) -> np.ndarray:
        """Table index of raw input integers (already absolute when ``abs_input``)."""
        raw = exact_array(raw, self.input_type.width + 2)
        half = (1 << (self.shift - 1)) if self.shift > 0 else 0
        index = (raw - self.start_raw + half) >> self.shift
        outside = (index < 0) | (index > self.size - 1)
        if clamped is not None:
            clamped.append(int(np.count_nonzero(outside)))
        return np.clip(index, 0, self.size - 1).astype(np.int64)

    def lookup(self, raw, clamped: list | None = None) -> np.ndarray:
        """Raw entries for raw inputs (already absolute when ``abs_input``)."""
        return self.entries[self.index(raw, clamped)]

    def describe(self) -> str:
        return (
            f"{self.name}: {self.function} on {'|x|' if self.abs_input else 'x'} in "
            f"[{self.start:g}, {self.stop:g}], {self.size} entries of {self.entry_type}, step {self.step:g}"
        )


def build_table(
    name: str,
    function: Callable[[np.ndarray], np.ndarray],
    function_name: str,
    input_type: FixedType,
    value_range: tuple[float, float],
    size: int,
    entry_type: FixedType,
    abs_input: bool = False,
) -> LookupTable:
    """Build a :class:`LookupTable` whose samples cover ``value_range``.

    The step is the smallest power of two (at least one LSB of ``input_type``) for which
    ``size`` samples starting at ``value_range[0]`` rounded down to the step reach
    ``value_range[1]``. The range is first clipped to the range of ``input_type``
    (to ``[0, max]`` for an ``abs_input`` table).

    Raises:
        ValueError: if ``size`` is not a power of two >= 2, or the range is reversed
            or not finite.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 2 or size & (size - 1):
        raise ValueError(
            f"Lookup table {name!r}: `table_size` must be a power of two >= 2. Received: {size!r}"
        )
    low, high = (float(v) for v in value_range)
    if not (math.isfinite(low) and math.isfinite(high)) or high < low:
        raise ValueError(
            f"Lookup table {name!r}: `range` must be two finite numbers [low, high] with low <= high. "
            f"Received: {list(value_range)}"
        )
    type_low = 0.0 if abs_input else input_type.min_value
    type_high = -input_type.min_value if (abs_input and input_type.signed) else input_type.max_value
    low = min(max(low, type_low), type_high)
    high = min(max(high, low), type_high)
    lsb = input_type.lsb
    span_lsb = (high - low) / lsb
    shift = 0
    if span_lsb > size - 1:
        shift = max(0, math.ceil(math.log2(span_lsb / (size - 1))))
    while True:
        step_lsb = 1 << shift
        start_raw = math.floor(low / lsb / step_lsb) * step_lsb
        if (start_raw + (size - 1) * step_lsb) * lsb >= high:
            break
        shift += 1
    samples = (start_raw + np.arange(size, dtype=np.float64) * step_lsb) * lsb
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        values = np.asarray(function(samples), dtype=np.float64)
    entries = quantize_constant(values, entry_type)
    return LookupTable(
        name=name,
        function=function_name,
        input_type=input_type,
        abs_input=abs_input,
        start_raw=int(start_raw),
        shift=int(shift),
        entry_type=entry_type,
        entries=entries,
    )
