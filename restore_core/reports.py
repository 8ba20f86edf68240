"""Reports of benchmark runs: comparison of two runs, and HTML/Markdown reports with tables,
visual comparison grids and plots (plots need matplotlib: `pip install restore-framework[report]`).

Everything here reads a run directory (see `results_store`); nothing is recomputed.
"""

from __future__ import annotations

import base64
import html
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from restore_core.atomic_files import atomic_path, atomic_write_text
from restore_core.results_store import latest, read_manifest, read_results
from restore_core.runner import SKIPPED, CellResult, sample_dir

CellKey = tuple[str, str | None, str, str]  # restorer, backend, degradation, dataset


def load_cells(run: Path) -> tuple[dict[str, Any], dict[CellKey, CellResult], list[str]]:
    """Aggregate a run's stored results into cells, in the order the run measured them."""
    manifest = read_manifest(run)
    metrics = list(manifest.get("matrix", {}).get("metrics", []))
    cells: dict[CellKey, CellResult] = {}
    for record in latest(read_results(run)):
        key = (record["restorer"], record.get("backend"), record["degradation"], record["dataset"])
        cell = cells.setdefault(key, CellResult(key[0], key[2], key[3], key[1]))
        if record["image"] == SKIPPED:
            cell.skipped = record.get("skipped")
        else:
            cell.add(record)
    return manifest, cells, metrics


def compare_runs(run_a: Path, run_b: Path) -> list[dict[str, Any]]:
    """One row per cell present in either run: each metric's mean in A and in B, and timing."""
    _, cells_a, metrics_a = load_cells(run_a)
    _, cells_b, metrics_b = load_cells(run_b)
    metrics = [m for m in metrics_a if m in metrics_b] or sorted(set(metrics_a) | set(metrics_b))
    rows = []
    for key in [*cells_a, *(k for k in cells_b if k not in cells_a)]:
        a, b = cells_a.get(key), cells_b.get(key)
        row: dict[str, Any] = {"restorer": key[0], "backend": key[1], "degradation": key[2], "dataset": key[3],
                               "images_a": a.images if a else 0, "images_b": b.images if b else 0}
        for name in metrics:
            row[f"{name}_a"] = a.mean(name) if a else None
            row[f"{name}_b"] = b.mean(name) if b else None
        row["seconds_per_image_a"] = a.seconds_per_image if a else None
        row["seconds_per_image_b"] = b.seconds_per_image if b else None
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------ writing


def write_report(run: Path, out: Path, html: bool = True, markdown: bool = False) -> list[Path]:
    """Write report.html and/or report.md (with plots as PNGs) for `run` into `out`."""
    manifest, cells, metrics = load_cells(run)
    out.mkdir(parents=True, exist_ok=True)
    plots = _plots(cells, metrics, out)
    written = []
    if html:
        written.append(atomic_write_text(out / "report.html", _html(run, manifest, cells, metrics, plots)))
    if markdown:
        written.append(atomic_write_text(out / "report.md", _markdown(run, out, manifest, cells, metrics, plots)))
    return written


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _digits(metric: str) -> int:
    return 2 if metric.startswith("psnr") else 4


def _summary_rows(cells: dict[CellKey, CellResult], metrics: list[str]) -> tuple[list[str], list[list[str]]]:
    head = ["restorer", "backend", "degradation", "dataset", "images"]
    for m in metrics:
        head += [f"{m} in", m, "gain"]
    head += ["s/image (median)", "MP/s", "peak MiB"]
    rows = []
    for c in cells.values():
        if c.skipped:
            continue
        row = [c.restorer, c.backend or "-", c.degradation, c.dataset, str(c.images)]
        for m in metrics:
            out, inp = c.mean(m), c.mean(m, of_input=True)
            d = _digits(m)
            row += [_fmt(inp, d), _fmt(out, d), "-" if out is None or inp is None else f"{out - inp:+.{d}f}"]
        row += [_fmt(c.seconds_per_image, 3), _fmt(c.megapixels_per_second, 2), _fmt(c.peak_memory_mib, 0)]
        rows.append(row)
    return head, rows


def _best_per_column(head: list[str], rows: list[list[str]], metrics: list[str]) -> set[tuple[int, int]]:
    """(row, column) of the best restored value of each metric within each (degradation, dataset)."""
    best: set[tuple[int, int]] = set()
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        groups[(row[2], row[3])].append(i)
    for m in metrics:
        col = head.index(m)
        pick = max if _higher_is_better(m) else min
        for members in groups.values():
            values = [(float(rows[i][col]), i) for i in members if rows[i][col] != "-"]
            if values:
                best.add((pick(values)[1], col))
    return best


def _higher_is_better(metric: str) -> bool:
    """Whether the metric a spec names prefers higher values (unknown metrics: yes)."""
    from restore_core.plugin_host import default_host

    try:
        return bool(getattr(default_host().registry("metric").build(metric), "higher_is_better", True))
    except Exception:  # a metric from a plugin that is not installed here
        return True


def _image_tables(cells: dict[CellKey, CellResult], metrics: list[str]) -> list[tuple[str, list[str], list[list[str]]]]:
    tables = []
    for c in cells.values():
        if c.skipped or not c.images:
            continue
        head = ["image", *metrics, "s"]
        rows = []
        for i, image in enumerate(c.image_ids):
            rows.append([image, *(_fmt(c.scores[m][i], _digits(m)) for m in metrics if m in c.scores),
                         _fmt(c.seconds[i], 3)])
        title = f"{c.restorer}" + (f" [{c.backend}]" if c.backend else "") + f" x {c.degradation} on {c.dataset}"
        tables.append((title, head, rows))
    return tables


def _grids(run: Path, cells: dict[CellKey, CellResult], metrics: list[str]) -> list[dict[str, Any]]:
    """One grid per (dataset, degradation) whose sample crops exist."""
    grids = []
    seen = set()
    for c in cells.values():
        if (c.dataset, c.degradation) in seen:
            continue
        seen.add((c.dataset, c.degradation))
        folder = sample_dir(run / "samples", c.dataset, c.degradation)
        info_file = folder / "info.json"
        if not info_file.is_file():
            continue
        info = json.loads(info_file.read_text())
        image = info["image"]
        tiles = [("clean", folder / "clean.png", "")]
        first = metrics[0] if metrics else None
        degraded_score = ""
        for other in cells.values():
            if (other.dataset, other.degradation) == (c.dataset, c.degradation) and image in other.image_ids and first:
                value = other.input_scores.get(first, [None] * len(other.image_ids))
                idx = other.image_ids.index(image)
                if idx < len(value) and value[idx] is not None:
                    degraded_score = f"{first} {value[idx]:.{_digits(first)}f}"
                break
        tiles.append(("degraded", folder / "degraded.png", degraded_score))
        for name, file in info.get("restored", {}).items():
            score = ""
            for other in cells.values():
                label = other.restorer if other.backend is None else f"{other.restorer} [{other.backend}]"
                if (label, other.dataset, other.degradation) == (name, c.dataset, c.degradation) and \
                        image in other.image_ids and first in other.scores:
                    score = f"{first} {other.scores[first][other.image_ids.index(image)]:.{_digits(first)}f}"
            tiles.append((name, folder / file, score))
        grids.append({"dataset": c.dataset, "degradation": c.degradation, "image": image,
                      "tiles": [t for t in tiles if t[1].is_file()]})
    return grids


def _plots(cells: dict[CellKey, CellResult], metrics: list[str], out: Path) -> list[Path]:
    """PSNR against noise sigma per restorer, and quality against speed; [] without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    quality = "psnr" if "psnr" in metrics else (metrics[0] if metrics else None)
    if quality is None:
        return []
    written = []
    by_sigma: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for c in cells.values():
        sigma = _sigma(c.degradation)
        if sigma is not None and c.mean(quality) is not None:
            label = c.restorer + (f" [{c.backend}]" if c.backend else "")
            by_sigma[(c.dataset, label)].append((sigma, c.mean(quality)))  # type: ignore[arg-type]
    if any(len(v) > 1 for v in by_sigma.values()):
        fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
        for (dataset, label), points in sorted(by_sigma.items()):
            points.sort()
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=f"{label} ({dataset})")
        ax.set_xlabel("noise sigma (0-255)")
        ax.set_ylabel(f"{quality} (dB)" if quality.startswith("psnr") else quality)
        ax.set_title(f"{quality} against noise level")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        written.append(_save(fig, out / "plot-quality-vs-sigma.png"))
        plt.close(fig)
    points = [(c.seconds_per_image, c.mean(quality), c) for c in cells.values()
              if not c.skipped and c.seconds_per_image and c.mean(quality) is not None]
    if points:
        fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
        for seconds, value, c in points:
            ax.scatter(seconds, value)
            ax.annotate(f"{c.restorer}{'[' + c.backend + ']' if c.backend else ''} {c.degradation}",
                        (seconds, value), fontsize=6, xytext=(3, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("seconds per image (median, log scale)")
        ax.set_ylabel(quality)
        ax.set_title(f"{quality} against speed")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        written.append(_save(fig, out / "plot-quality-vs-speed.png"))
        plt.close(fig)
    return written


def _save(fig: Any, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def _sigma(degradation: str) -> float | None:
    """The noise sigma a degradation spec names (through the registry), or None."""
    from restore_core.plugin_host import default_host
    from restore_core.training import probe_info

    try:
        info = probe_info(default_host().registry("degradation").build(degradation), 3)
    except Exception:  # a degradation from a plugin that is not installed here: no sigma to plot
        return None
    return info.sigma if info.scale == 1 else None


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}
td:nth-child(-n+4),th:nth-child(-n+4){text-align:left}.best{font-weight:bold;color:#0a6a0a}
.grid{display:flex;flex-wrap:wrap;gap:10px}.grid figure{margin:0;text-align:center;font-size:12px}
.grid img{width:240px;height:240px;image-rendering:pixelated;border:1px solid #999}
code{background:#f3f3f3;padding:1px 4px}details{margin:.3em 0}
"""


def _html_table(head: list[str], rows: list[list[str]], best: set[tuple[int, int]] | None = None) -> str:
    best = best or set()
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for i, row in enumerate(rows):
        tds = "".join(f"<td{' class=best' if (i, j) in best else ''}>{html.escape(v)}</td>" for j, v in enumerate(row))
        out.append(f"<tr>{tds}</tr>")
    return "\n".join(out) + "</table>"


def _protocol() -> str:
    return ("Noise is drawn per image from a generator seeded by (seed, image id, degradation spec) and is not "
            "clipped before restoration; the degraded input is scored clipped to [0, 1]; outputs are clipped to "
            "[0, 1]; metrics are computed in float64 on [0, 1] without rounding to 8 bits; channel=auto scores RGB "
            "without border crop for denoising and the BT.601 Y channel with `scale` pixels cropped for "
            "super-resolution. Times are medians of restore calls after one warm-up, excluding I/O and scoring.")


def _html(run: Path, manifest: dict[str, Any], cells: dict[CellKey, CellResult], metrics: list[str],
          plots: list[Path]) -> str:
    env = manifest.get("environment", {})
    head, rows = _summary_rows(cells, metrics)
    parts = [f"<!doctype html><html><head><meta charset=utf-8><title>restore bench report: {html.escape(run.name)}"
             f"</title><style>{_CSS}</style></head><body>",
             f"<h1>restore bench report</h1><p>Run <code>{html.escape(str(run))}</code>"
             + (f", command <code>{html.escape(manifest['command'])}</code>" if manifest.get("command") else "")
             + f". restore {html.escape(str(env.get('restore')))}, torch {html.escape(str(env.get('torch')))}, "
             f"{html.escape(str(env.get('machine')))}, {env.get('torch_threads')} threads"
             + (f", CUDA {html.escape(str(env.get('cuda')))}" if env.get("cuda") else "")
             + f", git {html.escape(str(env.get('git_commit') or 'unknown'))[:12]}, started "
             f"{html.escape(str(env.get('started')))}.</p>",
             f"<p><small>{html.escape(_protocol())}</small></p>", "<h2>Summary</h2>",
             _html_table(head, rows, _best_per_column(head, rows, metrics))]
    skipped = [c for c in cells.values() if c.skipped]
    if skipped:
        parts.append("<ul>" + "".join(f"<li>skipped {html.escape(c.restorer)} x {html.escape(c.degradation)} on "
                                      f"{html.escape(c.dataset)}: {html.escape(c.skipped or '')}</li>"
                                      for c in skipped) + "</ul>")
    if plots:
        parts.append("<h2>Plots</h2>" + "".join(f'<img alt="{p.stem}" src="{_data_uri(p)}">' for p in plots))
    grids = _grids(run, cells, metrics)
    if grids:
        parts.append("<h2>Visual comparison</h2><p>Centre crops of the first image of each set, shown at 1.5x; "
                     "the score under each is for the whole image.</p>")
        for g in grids:
            parts.append(f"<h3>{html.escape(g['dataset'])}, {html.escape(g['degradation'])}: "
                         f"{html.escape(g['image'])}</h3><div class=grid>")
            for name, path, score in g["tiles"]:
                parts.append(f'<figure><img alt="{html.escape(name)}" src="{_data_uri(path)}">'
                             f"<figcaption>{html.escape(name)}<br>{html.escape(score)}</figcaption></figure>")
            parts.append("</div>")
    parts.append("<h2>Per image</h2>")
    for title, head_i, rows_i in _image_tables(cells, metrics):
        parts.append(f"<details><summary>{html.escape(title)}</summary>{_html_table(head_i, rows_i)}</details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _markdown(run: Path, out: Path, manifest: dict[str, Any], cells: dict[CellKey, CellResult],
              metrics: list[str], plots: list[Path]) -> str:
    env = manifest.get("environment", {})
    head, rows = _summary_rows(cells, metrics)
    parts = [f"# restore bench report: {run.name}", "",
             (f"Command: `{manifest['command']}`. " if manifest.get("command") else "")
             + f"restore {env.get('restore')}, torch {env.get('torch')}, {env.get('machine')}, "
             f"{env.get('torch_threads')} threads" + (f", CUDA {env.get('cuda')}" if env.get("cuda") else "")
             + f", started {env.get('started')}.", "", _protocol(), "", "## Summary", "", _md_table(head, rows), ""]
    for c in cells.values():
        if c.skipped:
            parts.append(f"- skipped {c.restorer} x {c.degradation} on {c.dataset}: {c.skipped}")
    for p in plots:
        parts += ["", f"![{p.stem}]({p.relative_to(out).as_posix()})"]
    for g in _grids(run, cells, metrics):
        parts += ["", f"## {g['dataset']}, {g['degradation']}: {g['image']}", "",
                  "| " + " | ".join(f"{name} {score}".strip() for name, _, score in g["tiles"]) + " |",
                  "|" + "---|" * len(g["tiles"]),
                  "| " + " | ".join(f"![{name}]({_relative(path, out)})" for name, path, _ in g["tiles"]) + " |"]
    return "\n".join(parts) + "\n"


def _relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()
