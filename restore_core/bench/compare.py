"""Comparing two stored runs cell by cell: each metric in A, in B, and B's improvement over A.

The improvement follows each metric's direction as run B recorded it (else run A's), so a positive
gain is always B doing better. Cells present in one run only are shown with '-' on the other side;
a cell skipped in both is a note, not a row of zeros.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from restore_core.bench.records import CellKey, CellResult
from restore_core.bench.store import load_run
from restore_core.bench.tables import Table, compare_columns, fmt, improvement, signed

CellPair = tuple[CellKey, CellResult | None, CellResult | None]


@dataclass
class Comparison:
    """Two runs' cells, paired, with the metrics both measured and their directions."""

    run_a: Path
    run_b: Path
    metrics: list[str]
    directions: dict[str, bool]
    pairs: list[CellPair]


def compare(run_a: Path, run_b: Path) -> Comparison:
    """Pair every cell of either run; the metrics compared are those both measured, else either's."""
    a, b = load_run(run_a), load_run(run_b)
    metrics = [m for m in a.metrics if m in b.metrics] or sorted(set(a.metrics) | set(b.metrics))
    directions = {m: b.directions.get(m, a.directions.get(m, True)) for m in metrics}
    keys = [*a.cells, *(k for k in b.cells if k not in a.cells)]
    return Comparison(run_a, run_b, metrics, directions, [(k, a.cells.get(k), b.cells.get(k)) for k in keys])


def compare_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """One JSON row per cell: image counts, each metric in A and B and B's gain, and timing."""
    rows = []
    for key, a, b in comparison.pairs:
        row: dict[str, Any] = {"restorer": key.restorer, "backend": key.backend, "degradation": key.degradation,
                               "dataset": key.dataset, "images_a": a.images if a else 0,
                               "images_b": b.images if b else 0}
        for name in comparison.metrics:
            va, vb = (a.mean(name) if a else None), (b.mean(name) if b else None)
            row[f"{name}_a"], row[f"{name}_b"] = va, vb
            row[f"{name}_gain"] = improvement(vb, va, comparison.directions[name])
        row["seconds_per_image_a"] = a.seconds_per_image if a else None
        row["seconds_per_image_b"] = b.seconds_per_image if b else None
        rows.append(row)
    return rows


def compare_table(comparison: Comparison) -> tuple[Table, list[str]]:
    """The comparison as a table, and notes on cells skipped or failed in either run."""
    columns = compare_columns(comparison.metrics)
    rows, notes = [], []
    for key, a, b in comparison.pairs:
        why_a, why_b = _why(a), _why(b)
        label = f"{key.restorer} x {key.degradation} on {key.dataset}"
        if why_a and why_b:  # nothing to compare: said once, below the table
            notes.append(f"{why_a[0]} in A and B: {label}: {why_a[1]}" if why_a == why_b else
                         f"not measured in A and B: {label}: A: {why_a[0]}: {why_a[1]}; B: {why_b[0]}: {why_b[1]}")
            continue
        notes += [f"{why[0]} in {run}: {label}: {why[1]}" for run, why in (("A", why_a), ("B", why_b)) if why]
        images = "/".join(_images(c) for c in (a, b))
        row = [key.restorer, key.backend or "-", key.degradation, key.dataset, images]
        for name in comparison.metrics:
            va, vb = (a.mean(name) if a else None), (b.mean(name) if b else None)
            places = columns[len(row)].places or 2
            row += [why_a[0] if why_a else fmt(va, places), why_b[0] if why_b else fmt(vb, places),
                    signed(improvement(vb, va, comparison.directions[name]), places + 1)]
        rows.append(row)
    return Table(columns, rows), notes


def _why(cell: CellResult | None) -> tuple[str, str] | None:
    """('skipped', reason) or ('failed', reason) for a cell without full scores, else None."""
    if cell is None:
        return None
    if cell.skipped:
        return ("skipped", cell.skipped)
    if cell.failed and not cell.images:
        return ("failed", cell.failed)
    return None


def _images(cell: CellResult | None) -> str:
    if cell is None:
        return "-"
    return "skipped" if cell.skipped else str(cell.images)
