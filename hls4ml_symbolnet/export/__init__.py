"""Expression export: sympy first; strings, LaTeX and numpy evaluation derive from it."""

from hls4ml_symbolnet.export.sympy import (
    complexity,
    evaluate_expressions,
    expression_error,
    input_symbols,
    round_constants,
    to_latex,
    to_strings,
    to_sympy,
)

__all__ = [
    "complexity",
    "evaluate_expressions",
    "expression_error",
    "input_symbols",
    "round_constants",
    "to_latex",
    "to_strings",
    "to_sympy",
]
