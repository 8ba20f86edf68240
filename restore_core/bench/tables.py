"""The one place benchmark results are rendered: rows, best values, digits, gains and protocol text,
for the terminal (rich), JSON, CSV, Markdown and HTML.

Everything starts from cells (`restore_core.bench.records.CellResult`) and each metric's direction
(`higher_is_better`, recorded in a run's manifest so a report reads right without the metric's
plugin). Invariants:

- a gain is an improvement in the metric's own direction: output minus input for a metric where
  higher is better, input minus output where lower is better; so a positive gain is always good;
- the best value of each metric is marked within each (degradation, dataset), by direction;
- PSNR-like metrics (`psnr*`) show 2 decimals, others 4; JSON keeps 4 decimals of everything;
- JSON rows hold only finite numbers (JSON has no infinity or NaN: `json.dumps` would write
  `Infinity`, which no strict parser reads): a value that is not finite, such as the PSNR of an
  exact output, is null there, and the row's `not_finite` lists those keys with `inf`, `-inf` or
  `nan`, so a null that means "infinite" is told apart from one that means "not measured".
"""

from __future__ import annotations

import csv
import html as html_lib
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from rich.table import Table as RichTable

    from restore_core.bench.records import CellResult

Style = Literal["terminal", "record"]
Directions = dict[str, bool]  # metric label -> higher is better


def digits(metric: str) -> int:
    """Decimals a metric is shown with: 2 for PSNR-like (dB), 4 for the rest."""
    return 2 if metric.startswith("psnr") else 4


def fmt(value: float | None, places: int) -> str:
    """`value` with `places` decimals, or '-' when there is none."""
    return "-" if value is None else f"{value:.{places}f}"


def signed(value: float | None, places: int) -> str:
    """`value` with its sign and `places` decimals, or '-'."""
    return "-" if value is None else f"{value:+.{places}f}"


def improvement(new: float | None, old: float | None, higher_is_better: bool) -> float | None:
    """How much better `new` is than `old` in the metric's direction (None when either is missing)."""
    if new is None or old is None:
        return None
    return new - old if higher_is_better else old - new


def _round4(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _exact(value: float | None) -> float | None:
    return value


# ------------------------------------------------------------------------------------------ rows


def json_rows(cells: Iterable[CellResult], directions: Directions, rounded: bool = True) -> list[dict[str, Any]]:
    """One JSON-ready row per cell: each metric's mean, its input's and the gain, timing and memory.

    JSON keeps 4 decimals; tables are made from unrounded rows (`rounded=False`), so a figure is
    rounded once, to the places it is shown with.
    """
    _round = _round4 if rounded else _exact
    rows = []
    for cell in cells:
        row: dict[str, Any] = {"restorer": cell.restorer, "backend": cell.backend, "degradation": cell.degradation,
                               "dataset": cell.dataset, "images": cell.images}
        for name, higher in directions.items():
            out, inp = cell.mean(name), cell.mean(name, of_input=True)
            row[name] = _round(out)
            row[f"{name}_input"] = _round(inp)
            row[f"{name}_gain"] = _round(improvement(out, inp, higher))
        row["seconds_per_image"] = _round(cell.seconds_per_image)
        row["megapixels_per_second"] = _round(cell.megapixels_per_second)
        row["peak_memory_mib"] = cell.peak_extra_memory_mib  # the older name of the next key, kept for scripts
        row["peak_extra_memory_mib"] = cell.peak_extra_memory_mib
        row["skipped"] = cell.skipped
        if cell.failed:
            row["failed"] = cell.failed
        if rounded:
            _finite_only(row)
        rows.append(row)
    return rows


def _finite_only(row: dict[str, Any]) -> None:
    """Replace the row's non-finite numbers with None, naming each in `not_finite` (see the module rules)."""
    odd = {key: str(value) for key, value in row.items() if isinstance(value, float) and not math.isfinite(value)}
    if odd:
        row.update(dict.fromkeys(odd))
        row["not_finite"] = odd


def csv_text(rows: Sequence[dict[str, Any]]) -> str:
    """Rows as CSV with a header line (every key of the first row)."""
    buf = io.StringIO()
    names = list(dict.fromkeys(k for row in rows for k in row)) if rows else ["restorer"]
    writer = csv.DictWriter(buf, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    # a mapping (`not_finite`) becomes `key=value` pairs: one cell, no Python repr in a CSV
    writer.writerows({k: " ".join(f"{a}={b}" for a, b in v.items()) if isinstance(v, dict) else v
                      for k, v in row.items()} for row in rows)
    return buf.getvalue()


# ----------------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Column:
    """A column of the summary table: which row key it shows, how, and its headers."""

    key: str
    header: str  # one line, for wide layouts, Markdown and HTML
    narrow: str  # two lines at most, for a narrow terminal
    places: int | None = None  # None: text; a number: decimals
    sign: bool = False
    metric: str | None = None  # set on a metric's output column: the column whose best is marked
    text: bool = False


@dataclass
class Table:
    """A rendered-agnostic table: headers, cell strings, and which cells hold a best value."""

    columns: list[Column]
    rows: list[list[str]]
    best: set[tuple[int, int]] = field(default_factory=set)

    @property
    def head(self) -> list[str]:
        """The one-line headers."""
        return [c.header for c in self.columns]


def summary_columns(metrics: Sequence[str], *, style: Style = "terminal", backend: bool = True,
                    inputs: bool = True) -> list[Column]:
    """The columns of a summary: names, each metric's input, output and gain, then timing.

    `record` is the layout of benchmarks/results records (a gain named after its metric, seconds
    only); `terminal` is the layout of `restore bench` and of reports.
    """
    cols = [Column("restorer", "restorer", "restorer", text=True)]
    if backend:
        cols.append(Column("backend", "backend", "backend", text=True))
    cols += [Column("degradation", "degradation", "degradation", text=True),
             Column("dataset", "dataset", "dataset", text=True), Column("images", "images", "images")]
    for m in metrics:
        d = digits(m)
        if inputs:
            cols.append(Column(f"{m}_input", f"{m} in", f"{m}\nin", d))
        cols.append(Column(m, m, m, d, metric=m))
        # records (benchmarks/results) show gains unsigned, as they always have
        cols.append(Column(f"{m}_gain", f"{m} gain" if style == "record" else "gain", f"{m}\ngain", d,
                           sign=style != "record"))
    cols.append(Column("seconds_per_image", "s/image", "s/\nimage", 3))
    if style == "terminal":
        cols += [Column("megapixels_per_second", "MP/s", "MP/s", 2),
                 Column("peak_extra_memory_mib", "extra MiB", "extra\nMiB", 1)]
    return cols


def summary_table(rows: Sequence[dict[str, Any]], metrics: Sequence[str], directions: Directions, *,
                  style: Style = "terminal", backend: bool | None = None, inputs: bool = True) -> Table:
    """The summary of a run from its JSON rows: measured cells only, best values marked per group."""
    shown = [r for r in rows if not r.get("skipped") and r.get("images")]
    with_backend = any(r.get("backend") for r in rows) if backend is None else backend
    columns = summary_columns(metrics, style=style, backend=with_backend, inputs=inputs)
    table = Table(columns, [[_cell(row, c) for c in columns] for row in shown])
    best = best_values(shown, metrics, directions)
    for i, row in enumerate(shown):
        for j, c in enumerate(columns):
            if c.metric is not None and row.get(c.key) is not None \
                    and row[c.key] == best.get((row["degradation"], row["dataset"], c.metric)):
                table.best.add((i, j))
    return table


def _cell(row: dict[str, Any], column: Column) -> str:
    value = row.get(column.key)
    if column.text:
        return str(value) if value is not None else "-"
    if column.places is None:
        return "-" if value is None else str(value)
    return signed(value, column.places) if column.sign else fmt(value, column.places)


def best_values(rows: Iterable[dict[str, Any]], metrics: Sequence[str],
                directions: Directions) -> dict[tuple[str, str, str], float]:
    """The best value of each metric within each (degradation, dataset), by the metric's direction."""
    best: dict[tuple[str, str, str], float] = {}
    for row in rows:
        for name in metrics:
            value = row.get(name)
            if value is None:
                continue
            key = (row["degradation"], row["dataset"], name)
            pick = max if directions.get(name, True) else min
            best[key] = value if key not in best else pick(best[key], value)
    return best


def notes(cells: Iterable[CellResult]) -> list[str]:
    """One line per skipped or failed cell, saying why."""
    out = []
    for c in cells:
        if c.skipped:
            out.append(f"skipped {c.restorer} x {c.degradation} on {c.dataset}: {c.skipped}")
        elif c.failed:
            measured = f" (after {c.images} image{'s' if c.images != 1 else ''})" if c.images else ""
            out.append(f"failed {c.label} x {c.degradation} on {c.dataset}{measured}: {c.failed}")
    return out


# ------------------------------------------------------------------------------------ protocol


def inference_text(inference: dict[str, str]) -> str:
    """Which backend, precision and memory format each network restorer ran with."""
    return "ran with: " + "; ".join(f"{label}: {text}" for label, text in inference.items())


def protocol_text(seed: int | None) -> str:
    """How the figures were made: noise, clipping, scoring and channels."""
    return (f"protocol: per-image noise from seed {seed}, degraded input not clipped (scored clipped as 'in'; a "
            "super-resolution input is scored after bicubic up-sampling to the target size, so bicubic's gain is "
            "0); outputs clipped to [0, 1]; metrics in float64 on [0, 1]; auto channel: denoising RGB without crop, "
            "super-resolution BT.601 Y with `scale` pixels cropped")


def columns_text(directions: Directions | None = None) -> str:
    """What the columns measure, naming any metric where lower is better."""
    lower = [m for m, higher in (directions or {}).items() if not higher]
    direction = (f"; gain: the improvement over the input in each metric's direction (input minus output for "
                 f"{', '.join(lower)}, where lower is better)" if lower else "")
    return ("columns: the best value of each metric per degradation and dataset in bold" + direction
            + "; s/image: median restore time after one untimed warm-up; MP/s: output megapixels per second of "
            "restore time; extra MiB: peak memory during a restore call minus the memory in use just before it, "
            "the largest over the cell's images (CPU: resident memory; CUDA backends: allocated device memory)")


# ----------------------------------------------------------------------------------- renderers


def markdown(table: Table, bold_best: bool = False) -> str:
    """A Markdown pipe table (best values in bold when asked)."""
    lines = ["| " + " | ".join(table.head) + " |", "|" + "---|" * len(table.columns)]
    for i, row in enumerate(table.rows):
        cells = [f"**{v}**" if bold_best and (i, j) in table.best else v for j, v in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_rows(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown pipe table of plain strings."""
    return markdown(Table([Column(h, h, h, text=True) for h in head], [list(r) for r in rows]))


def html(table: Table, css_class: str | None = None) -> str:
    """An HTML table; best values get class `best`."""
    opening = f"<table class={css_class}>" if css_class else "<table>"
    out = [opening + "<tr>" + "".join(f"<th>{html_lib.escape(h)}</th>" for h in table.head) + "</tr>"]
    for i, row in enumerate(table.rows):
        tds = "".join(f"<td{' class=best' if (i, j) in table.best else ''}>{html_lib.escape(v)}</td>"
                      for j, v in enumerate(row))
        out.append(f"<tr>{tds}</tr>")
    return "\n".join(out) + "</table>"


def html_rows(head: Sequence[str], rows: Sequence[Sequence[str]], css_class: str | None = None) -> str:
    """An HTML table of plain strings."""
    return html(Table([Column(h, h, h, text=True) for h in head], [list(r) for r in rows]), css_class)


TEXT_COLUMN_WIDTH = 24  # longer names (folder paths) fold onto more lines, never push numbers off


def rich_table(table: Table, title: str, gap: int | None = None) -> RichTable:
    """A rich table for the terminal, best values in bold green.

    `gap` None draws the usual boxed table with one-line headers; a number of spaces draws no vertical
    rules and two-line headers, to fit a narrow terminal.
    """
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text

    if gap is None:
        out = RichTable(title=title, title_justify="left")
    else:
        out = RichTable(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, gap),
                        collapse_padding=True, pad_edge=False, show_edge=False)
    for c in table.columns:
        if c.text:
            out.add_column(c.header, overflow="fold", max_width=TEXT_COLUMN_WIDTH)
        else:
            out.add_column(c.header if gap is None else c.narrow, justify="right", no_wrap=True)
    for i, row in enumerate(table.rows):
        # plugin text is shown as is: Text never reads "[...]" in a name as rich markup
        cells: list[Any] = []
        for j, (c, v) in enumerate(zip(table.columns, row, strict=True)):
            if not (c.text or c.metric):
                cells.append(v)
                continue
            text = Text(v)
            if (i, j) in table.best:
                text.stylize("bold green")
            cells.append(text)
        out.add_row(*cells)
    return out


# ---------------------------------------------------------------------------------- comparison


def compare_columns(metrics: Sequence[str]) -> list[Column]:
    """Columns of `bench compare`: the cell, image counts, then each metric in A, in B and B's gain."""
    cols = [Column(k, k, k, text=True) for k in ("restorer", "backend", "degradation", "dataset")]
    cols.append(Column("images", "images A/B", "images\nA/B", text=True))
    for m in metrics:
        cols += [Column(f"{m}_a", f"{m} A", f"{m}\nA", digits(m)), Column(f"{m}_b", f"{m} B", f"{m}\nB", digits(m)),
                 Column(f"{m}_gain", "gain", "gain", digits(m) + 1, sign=True)]
    return cols


def compare_note(directions: Directions) -> str:
    """What the gain of a comparison means, naming any metric where lower is better."""
    lower = [m for m, higher in directions.items() if not higher]
    return "gain: B's improvement over A in each metric's direction" + (
        f" (A minus B for {', '.join(lower)}, where lower is better; B minus A for the rest)" if lower
        else " (B minus A)")
