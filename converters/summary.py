"""Operation counts before and after folding, and firmware-versus-float comparisons."""

from __future__ import annotations

import collections
import dataclasses

import numpy as np
from hls4ml_symbolnet.converters import firmware_ops

__all__ = ["FoldSummary", "OperationCounts", "compare_with_float", "fold_summary"]


@dataclasses.dataclass
class OperationCounts:
    """Arithmetic of a firmware: multiplies, adds, operator nodes by name, lookup tables.

    ``functions`` counts operator nodes by operator name (``identity`` and ``add``
    included); ``tables`` maps ``"<layer>/<table>"`` to the number of entries.
    Multiplies and adds include those inside operators (``square``, ``mul``, the
    products of ``div`` and ``pow``, ``add``).
    """

    multiplies: int = 0
    adds: int = 0
    functions: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    tables: dict = dataclasses.field(default_factory=dict)

    @property
    def table_entries(self) -> int:
        return int(sum(self.tables.values()))

    def add_unary(self, name: str):
        self.functions[name] += 1
        if firmware_ops.unary_kind(name) == "multiply":
            self.multiplies += firmware_ops.unary_power(name) - 1

    def add_binary(self, name: str):
        self.functions[name] += 1
        kind = firmware_ops.binary_kind(name)
        if kind == "add":
            self.adds += 1
        else:
            self.multiplies += 1

    def add_linear(self, n_terms: np.ndarray, has_start: np.ndarray):
        """Count the products and sums of linear units with ``n_terms`` nonzero weights each."""
        self.multiplies += int(np.sum(n_terms))
        self.adds += int(np.sum(np.maximum(n_terms + has_start.astype(int) - 1, 0)))


@dataclasses.dataclass
class FoldSummary:
    """Operation counts of a network-form SymbolNet firmware before and after folding."""

    before: OperationCounts
    after: OperationCounts

    def __str__(self) -> str:
        rows = [
            ("multiplies", self.before.multiplies, self.after.multiplies),
            ("adds", self.before.adds, self.after.adds),
        ]
        names = sorted(set(self.before.functions) | set(self.after.functions))
        rows += [(f"node {name}", self.before.functions[name], self.after.functions[name]) for name in names]
        rows.append(("lookup tables", len(self.before.tables), len(self.after.tables)))
        rows.append(("table entries", self.before.table_entries, self.after.table_entries))
        lines = [f"{'operation':<24} {'before':>10} {'after':>10}", "-" * 46]
        lines += [f"{name:<24} {before:>10} {after:>10}" for name, before, after in rows]
        if self.after.tables:
            lines.append(
                "tables after folding: "
                + ", ".join(f"{k} ({v})" for k, v in sorted(self.after.tables.items()))
            )
        return "\n".join(lines)


def _unfolded_tables(node) -> dict[str, int]:
    from hls4ml_symbolnet.converters.precision import DEFAULT_TABLE_SIZE

    sizes = {}
    for name in node.get_attr("unfolded_tables", []):
        settings = node._table_settings(name)
        sizes[f"{node.name}/{name}"] = int(settings.get("table_size", DEFAULT_TABLE_SIZE))
    return sizes


def fold_summary(hls_model) -> FoldSummary:
    """Count the operations of a network-form model before and after the folding passes.

    "Before" is the trained model as the Keras layers compute it: every weight and bias,
    every operator as assigned, a table for each table operator. "After" is what the
    generated code computes.
    """
    from hls4ml_symbolnet.converters.node_view import symbolnet_chain
    from hls4ml_symbolnet.converters.passes import is_folded
    from hls4ml_symbolnet.converters.templates import used_tables

    chain = symbolnet_chain(hls_model)
    before, after = OperationCounts(), OperationCounts()
    for node in (*chain.symbolic, chain.output):
        if not is_folded(node):
            raise RuntimeError(f"Layer {node.name!r} is not folded; call fold_summary on a converted model.")
        n_in, n_units = node.get_attr("kernel").shape
        before.add_linear(np.full(n_units, n_in), np.ones(n_units, dtype=bool))
        kernel_raw = node.get_attr("kernel_raw")
        start = node.get_attr("accum_start_raw")
        start = node.get_attr("bias_raw") if start is None else start
        n_terms = np.count_nonzero(kernel_raw, axis=0)
        live_units = np.ones(n_units, dtype=bool)
        if node in chain.symbolic:
            live_units = _live_units(node)
            for name in node.get_attr("assigned_unary_operators"):
                before.add_unary(name)
            for name in node.get_attr("assigned_binary_operators"):
                before.add_binary(name)
            before.tables.update(_unfolded_tables(node))
            live = ~node.get_attr("dead_nodes")
            n_unary = node.get_attr("n_unary")
            for k, name in enumerate(node.get_attr("unary_operators")):
                if live[k]:
                    after.add_unary(name)
            for j, name in enumerate(node.get_attr("binary_operators")):
                if live[n_unary + j]:
                    after.add_binary(name)
            after.tables.update(
                {f"{node.name}/{name}": table.size for name, table in used_tables(node).items()}
            )
        has_start = np.array([int(v) != 0 for v in start], dtype=bool)
        after.add_linear(n_terms[live_units], has_start[live_units])
    return FoldSummary(before=before, after=after)


def _live_units(node) -> np.ndarray:
    live = ~node.get_attr("dead_nodes")
    n_unary = node.get_attr("n_unary")
    units = np.zeros(node.get_attr("kernel").shape[1], dtype=bool)
    units[:n_unary] = live[:n_unary]
    units[n_unary::2] = live[n_unary:]
    units[n_unary + 1 :: 2] = live[n_unary:]
    return units


def compare_with_float(reference_outputs, firmware_outputs) -> dict[str, float]:
    """Max absolute error and class agreement (argmax) of firmware against float outputs.

    Returns:
        ``{"max_abs_error": ..., "mean_abs_error": ..., "class_agreement": ...}``; the
        agreement is the fraction of samples whose argmax matches (1.0 for one output).
    """
    reference = np.asarray(reference_outputs, dtype=np.float64)
    firmware = np.asarray(firmware_outputs, dtype=np.float64).reshape(reference.shape)
    error = np.abs(firmware - reference)
    if reference.ndim == 2 and reference.shape[1] > 1:
        agreement = float(np.mean(np.argmax(reference, axis=1) == np.argmax(firmware, axis=1)))
    else:
        agreement = 1.0
    return {
        "max_abs_error": float(np.max(error)) if error.size else 0.0,
        "mean_abs_error": float(np.mean(error)) if error.size else 0.0,
        "class_agreement": agreement,
    }
