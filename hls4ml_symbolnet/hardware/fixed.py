"""Fixed-point types in the ``ap_fixed`` conventions of Vivado/Vitis HLS.

A :class:`FixedType` is ``ap_fixed<width, integer, rounding, saturation>`` (or ``ap_ufixed``):
``integer`` counts the sign bit, so ``ap_fixed<16,6>`` has 10 fractional bits and covers
``[-32, 32 - 2**-10]``. Values are stored as integer codes: ``value = code * 2**-fractional``.

Modes, with their ``ap_fixed`` meaning:

* rounding ``TRN`` (toward minus infinity), ``TRN_ZERO`` (toward zero), and to the nearest
  value with ties toward plus infinity (``RND``), toward zero (``RND_ZERO``), away from zero
  (``RND_INF``), toward minus infinity (``RND_MIN_INF``) or to even (``RND_CONV``, as QKeras
  and ``tf.round`` do);
* saturation ``WRAP`` (two's complement wrap-around), ``SAT`` (clip to the type's range),
  ``SAT_SYM`` (clip to ``[-max, max]``) and ``SAT_ZERO`` (out-of-range values become 0).
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

__all__ = ["FixedType", "as_fixed_type"]

ROUNDING_MODES = ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_INF", "RND_MIN_INF", "RND_CONV")
SATURATION_MODES = ("WRAP", "SAT", "SAT_SYM", "SAT_ZERO")

# Codes are held in int64, so a type and the wrap-around arithmetic on it must fit in 62 bits.
MAX_WIDTH = 60

_TYPE_PATTERN = re.compile(r"^\s*(?:ap_)?(u?)fixed\s*<\s*([^>]*)>\s*$", re.IGNORECASE)


def _normalise_mode(value, allowed: tuple[str, ...], argument: str) -> str:
    text = str(getattr(value, "name", value)).strip().upper()
    if text.startswith("AP_"):
        text = text[3:]
    if text not in allowed:
        raise ValueError(
            f"Unsupported `{argument}` {value!r}. Supported: {', '.join(allowed)} "
            f"(with or without the AP_ prefix)."
        )
    return text


@dataclasses.dataclass(frozen=True)
class FixedType:
    """A fixed-point type ``ap_fixed<width, integer>`` or ``ap_ufixed<width, integer>``.

    Args:
        width: total number of bits, 1 to 60.
        integer: integer bits including the sign bit; may be negative or exceed ``width``.
        signed: False for ``ap_ufixed``.
        rounding: one of ``ROUNDING_MODES`` (see the module docstring), ``"TRN"`` by default.
        saturation: one of ``SATURATION_MODES``, ``"WRAP"`` by default.
    """

    width: int
    integer: int
    signed: bool = True
    rounding: str = "TRN"
    saturation: str = "WRAP"

    def __post_init__(self):
        if int(self.width) != self.width or not 1 <= self.width <= MAX_WIDTH:
            raise ValueError(
                f"`width` must be an integer from 1 to {MAX_WIDTH}. Received: width={self.width!r}"
            )
        if int(self.integer) != self.integer:
            raise ValueError(f"`integer` must be an integer. Received: integer={self.integer!r}")
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "integer", int(self.integer))
        object.__setattr__(self, "signed", bool(self.signed))
        object.__setattr__(self, "rounding", _normalise_mode(self.rounding, ROUNDING_MODES, "rounding"))
        object.__setattr__(
            self, "saturation", _normalise_mode(self.saturation, SATURATION_MODES, "saturation")
        )

    @classmethod
    def parse(cls, text: str) -> FixedType:
        """Parse a type such as ``"ap_fixed<16,6>"`` or ``"ap_ufixed<6,0,AP_RND_CONV,AP_SAT>"``."""
        match = _TYPE_PATTERN.match(str(text))
        if match is None:
            raise ValueError(
                f"Cannot parse fixed-point type {text!r}. Expected e.g. 'ap_fixed<16,6>' or "
                "'ap_ufixed<6,0,AP_RND_CONV,AP_SAT>'."
            )
        unsigned, body = match.groups()
        fields = [field.strip() for field in body.split(",")]
        if not 2 <= len(fields) <= 4:
            raise ValueError(
                f"Cannot parse fixed-point type {text!r}: expected 2 to 4 fields in <>, found {len(fields)}."
            )
        try:
            width, integer = int(fields[0]), int(fields[1])
        except ValueError:
            raise ValueError(
                f"Cannot parse fixed-point type {text!r}: width and integer bits must be integers."
            )
        rounding = fields[2] if len(fields) > 2 else "TRN"
        saturation = fields[3] if len(fields) > 3 else "WRAP"
        return cls(width, integer, signed=not unsigned, rounding=rounding, saturation=saturation)

    @classmethod
    def from_hls4ml(cls, precision) -> FixedType:
        """Convert an hls4ml ``FixedPrecisionType`` (or ``IntegerPrecisionType``) to a FixedType."""
        saturation_bits = getattr(precision, "saturation_bits", None)
        if saturation_bits not in (None, 0):
            raise NotImplementedError(
                f"hls4ml type {precision} uses saturation_bits, which is not supported."
            )
        rounding = getattr(precision, "rounding_mode", None) or "TRN"
        saturation = getattr(precision, "saturation_mode", None) or "WRAP"
        return cls(precision.width, precision.integer, precision.signed, rounding, saturation)

    @property
    def fractional(self) -> int:
        """Number of fractional bits, ``width - integer`` (negative for coarse integer types)."""
        return self.width - self.integer

    @property
    def step(self) -> float:
        return 2.0**-self.fractional

    @property
    def min_code(self) -> int:
        return -(2 ** (self.width - 1)) if self.signed else 0

    @property
    def max_code(self) -> int:
        return 2 ** (self.width - 1) - 1 if self.signed else 2**self.width - 1

    @property
    def min_value(self) -> float:
        return self.min_code * self.step

    @property
    def max_value(self) -> float:
        return self.max_code * self.step

    @property
    def kif(self) -> tuple[int, int, int]:
        """``(sign bit, integer bits without the sign, fractional bits)``: da4ml's ``k, i, f``."""
        return int(self.signed), self.integer - int(self.signed), self.fractional

    def __str__(self) -> str:
        name = "ap_fixed" if self.signed else "ap_ufixed"
        return f"{name}<{self.width},{self.integer},AP_{self.rounding},AP_{self.saturation}>"

    def with_modes(self, rounding: str | None = None, saturation: str | None = None) -> FixedType:
        """Return the same width and integer bits with other rounding or saturation modes."""
        return dataclasses.replace(
            self,
            rounding=self.rounding if rounding is None else rounding,
            saturation=self.saturation if saturation is None else saturation,
        )

    def quantize_codes(self, codes: np.ndarray, fractional: int) -> np.ndarray:
        """Convert integer codes with ``fractional`` fractional bits to codes of this type."""
        codes = np.asarray(codes, dtype=np.int64)
        shift = fractional - self.fractional
        if shift <= 0:
            return self._overflow(codes << -shift)
        quotient = codes >> shift
        remainder = codes - (quotient << shift)
        half = 1 << (shift - 1)
        bump = _round_up(
            self.rounding, quotient, remainder > half, remainder == half, remainder != 0, codes < 0
        )
        return self._overflow(quotient + bump)

    def _overflow(self, codes: np.ndarray) -> np.ndarray:
        low, high = self.min_code, self.max_code
        if self.saturation == "SAT":
            return np.clip(codes, low, high)
        if self.saturation == "SAT_SYM":
            return np.clip(codes, -high if self.signed else 0, high)
        if self.saturation == "SAT_ZERO":
            return np.where((codes < low) | (codes > high), 0, codes)
        modulus = 1 << self.width
        return (codes - low) % modulus + low

    def codes_from_float(self, values: np.ndarray) -> np.ndarray:
        """Quantize float values to codes of this type with its rounding and saturation modes.

        Raises:
            ValueError: if a value is NaN, or infinite with ``WRAP`` saturation.
        """
        values = np.asarray(values, dtype=np.float64)
        if np.any(np.isnan(values)):
            raise ValueError(f"Cannot quantize NaN to {self}. Remove or replace NaN values first.")
        # Scaling by a power of two is exact, and so are floor, the fraction and fmod on float64.
        scaled = values * 2.0**self.fractional
        floor = np.floor(scaled)
        fraction = scaled - floor
        odd = np.mod(floor, 2.0) == 1.0
        bump = _round_up(self.rounding, odd, fraction > 0.5, fraction == 0.5, fraction != 0, values < 0)
        rounded = floor + bump
        if self.saturation == "WRAP":
            if np.any(np.isinf(values)):
                raise ValueError(f"Cannot wrap an infinite value into {self}. Use a saturating type.")
            rounded = np.mod(rounded - self.min_code, 2.0**self.width) + self.min_code
        elif self.saturation == "SAT_ZERO":
            rounded = np.where((rounded < self.min_code) | (rounded > self.max_code), 0.0, rounded)
        else:
            rounded = np.clip(rounded, self.min_code - 1, self.max_code + 1)
        return self._overflow(rounded.astype(np.int64))

    def quantize(self, values: np.ndarray) -> np.ndarray:
        """Quantize float values to this type and return them as float64."""
        return self.codes_from_float(values) * self.step


def _round_up(rounding: str, quotient, above, tie, inexact, negative) -> np.ndarray:
    """Return 1 where rounding the floor ``quotient`` moves it up by one step, else 0.

    ``above``, ``tie`` and ``inexact`` compare the dropped remainder with half a step and
    with zero. Only ``RND_CONV`` reads ``quotient`` (its parity), which may also be given as
    a bool array that is True for odd quotients.
    """
    if rounding == "TRN":
        bump = np.zeros_like(inexact, dtype=bool)
    elif rounding == "TRN_ZERO":
        bump = negative & inexact
    elif rounding == "RND":
        bump = above | tie
    elif rounding == "RND_ZERO":
        bump = above | (tie & negative)
    elif rounding == "RND_INF":
        bump = above | (tie & ~negative)
    elif rounding == "RND_MIN_INF":
        bump = above
    else:
        odd = quotient if np.asarray(quotient).dtype == bool else (np.asarray(quotient) & 1) == 1
        bump = above | (tie & odd)
    return np.asarray(bump).astype(np.int64)


def as_fixed_type(value: FixedType | str, argument: str = "type") -> FixedType:
    """Accept a FixedType or its ``ap_fixed<...>`` spelling."""
    if isinstance(value, FixedType):
        return value
    if isinstance(value, str):
        return FixedType.parse(value)
    raise TypeError(
        f"`{argument}` must be a FixedType or a string such as 'ap_fixed<16,6>'. "
        f"Received: {argument}={value!r} of type {type(value).__name__}"
    )
