"""Reports of benchmark runs: HTML and Markdown with summary and per-image tables, visual comparison
grids and plots (plots need matplotlib: `pip install restore-framework[report]`).

Everything here reads a run directory (see `restore_core.bench.store`); nothing is recomputed, and
each metric's direction comes from the run's manifest, so a report reads right even where the
metric's plugin is no longer installed. Tables are rendered by `restore_core.bench.tables`.
"""

from __future__ import annotations

import base64
import html
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from restore_core.bench import tables
from restore_core.bench.records import CellKey, CellResult
from restore_core.bench.samples import SAMPLE_LAYOUT, sample_dir
from restore_core.bench.store import StoredRun, load_run, read_records
from restore_core.system.atomic_files import atomic_path, atomic_write_text
from restore_core.system.hardware import cpu_label


def _machine(env: dict) -> str:
    """The machine a run was measured on: CPU model and extensions where recorded (older runs: arch)."""
    if not env.get("cpu"):
        return str(env.get("machine"))
    return cpu_label(env["cpu"], env.get("cpu_extensions") or [])


def load_cells(run: Path) -> tuple[dict[str, Any], dict[CellKey, CellResult], list[str]]:
    """A run's manifest, its cells in the order measured, and its metrics."""
    stored = load_run(run)
    return stored.manifest, stored.cells, stored.metrics


# ------------------------------------------------------------------------------------ writing


def write_report(run: Path, out: Path, html: bool = True, markdown: bool = False) -> list[Path]:
    """Write report.html and/or report.md (with plots as PNGs) for `run` into `out`."""
    stored = load_run(run)
    inputs = _input_figures(run, stored.metrics)
    out.mkdir(parents=True, exist_ok=True)
    plots = _plots(stored.cells, stored.metrics, out)
    written = []
    if html:
        written.append(atomic_write_text(out / "report.html", _html(stored, plots, inputs)))
    if markdown:
        written.append(atomic_write_text(out / "report.md", _markdown(stored, out, plots, inputs)))
    return written


InputKey = tuple[str, str, str]  # dataset, degradation, image


def _input_figures(run: Path, metrics: list[str]) -> dict[InputKey, dict[str, float]]:
    """Each image's scores of the degraded input itself, from whichever record of it has them.

    Read from the records rather than `CellResult.input_scores`, which drops missing values and so
    loses the image each value belongs to. A super-resolution input has scores (after bicubic
    up-sampling to the target size) only in runs made since the runner started scoring it.
    """
    figures: dict[InputKey, dict[str, float]] = {}
    for record in read_records(run):
        if record.kind != "image":
            continue
        found = figures.setdefault((record.cell.dataset, record.cell.degradation, record.image or ""), {})
        for name, value in record.input_metrics.items():
            if name in metrics and value is not None:
                found.setdefault(name, float(value))
    return figures


def _quality_metric(metrics: list[str]) -> str | None:
    """The metric grids and plots show: PSNR where the run measured it, else the first."""
    if "psnr" in metrics:
        return "psnr"
    return next((m for m in metrics if m.startswith("psnr")), metrics[0] if metrics else None)


def _groups(cells: dict[CellKey, CellResult]) -> dict[tuple[str, str], list[CellResult]]:
    """The measured cells of each (dataset, degradation), in the order the run measured them."""
    groups: dict[tuple[str, str], list[CellResult]] = {}
    for c in cells.values():
        if not c.skipped and c.images:
            groups.setdefault((c.dataset, c.degradation), []).append(c)
    return groups


def _image_tables(cells: dict[CellKey, CellResult], metrics: list[str],
                  inputs: dict[InputKey, dict[str, float]]) -> list[tuple[str, list[str], list[list[str]]]]:
    """One table per (dataset, degradation): a row per image, the input's scores, then each restorer's."""
    found = []
    for (dataset, degradation), members in _groups(cells).items():
        images = list(dict.fromkeys(image for c in members for image in c.image_ids))
        # an input column only where some image has that score (super-resolution runs may have none)
        input_metrics = [m for m in metrics if any(m in inputs.get((dataset, degradation, i), {}) for i in images)]
        head = ["image", *(f"{m} in" for m in input_metrics),
                *(f"{c.label} {m}" for c in members for m in metrics if m in c.scores)]
        positions = [{image: i for i, image in enumerate(c.image_ids)} for c in members]
        rows = []
        for image in images:
            given = inputs.get((dataset, degradation, image), {})
            row = [image, *(tables.fmt(given.get(m), tables.digits(m)) for m in input_metrics)]
            for c, at in zip(members, positions, strict=True):
                for m in metrics:
                    if m in c.scores:
                        i = at.get(image)
                        row.append(tables.fmt(c.scores[m][i] if i is not None and i < len(c.scores[m]) else None,
                                        tables.digits(m)))
            rows.append(row)
        found.append((f"{dataset}, {degradation}", head, rows))
    return found


def _grids(run: Path, cells: dict[CellKey, CellResult], metrics: list[str],
           inputs: dict[InputKey, dict[str, float]]) -> list[dict[str, Any]]:
    """One grid per (dataset, degradation) whose samples exist: tiles of (name, PNG, caption)."""
    grids = []
    quality = _quality_metric(metrics)
    for (dataset, degradation), members in _groups(cells).items():
        folder = sample_dir(run / "samples", dataset, degradation)
        info_file = folder / "info.json"
        if not info_file.is_file():
            continue
        info = json.loads(info_file.read_text())
        image = info["image"]
        scale = info.get("scale") or _scale(degradation)
        tiles = [("clean", folder / "clean.png", "")]
        degraded_score = inputs.get((dataset, degradation, image), {}).get(quality) if quality else None
        caption = "" if quality is None else (f"{quality} not stored" if degraded_score is None else
                                              f"{quality} {degraded_score:.{tables.digits(quality)}f}")
        if scale and scale > 1 and degraded_score is not None:
            caption += " (bicubic-upsampled)"
        tiles.append(("degraded" if not scale or scale == 1 else f"degraded (x{scale} input)",
                      folder / "degraded.png", caption))
        by_label = {c.label: c for c in members}
        for name, file in info.get("restored", {}).items():
            c = by_label.get(name)
            score = ""
            if c is not None and quality in c.scores and image in c.image_ids:
                i = c.image_ids.index(image)
                if i < len(c.scores[quality]):
                    score = f"{quality} {c.scores[quality][i]:.{tables.digits(quality)}f}"
            tiles.append((name, folder / file, score))
        tiles = [t for t in tiles if t[1].is_file()]
        if not tiles:
            continue
        legacy = info.get("layout") != SAMPLE_LAYOUT
        size = _png_size(tiles[0][1])
        # every tile of a grid is drawn at one size, the first's (older runs' 160-px crops at 1.5x)
        display = (round(size[0] * 1.5), round(size[1] * 1.5)) if legacy else size
        grids.append({"dataset": dataset, "degradation": degradation, "image": image, "tiles": tiles,
                      "legacy": legacy, "display": display, "scale": scale or 1, "info": info})
    return grids


def _grid_note(grid: dict[str, Any]) -> str:
    """What a grid's tiles show, in one paragraph."""
    info = grid["info"]
    if grid["legacy"]:
        note = ("Centre crops of the first image, shown at 1.5x (samples saved by an older version); "
                "the score under each is for the whole image.")
    else:
        y, x, side = info["crop"]
        note = (f"Each tile: the whole image (reduced to at most {info.get('overview')} px) with a {side} px "
                f"region outlined where the clean image has the most detail (at y={y}, x={x}), and below it "
                f"that region enlarged {info.get('zoom')}x by nearest-neighbour; the score under each is for "
                f"the whole image.")
    if grid["scale"] > 1:
        note += (" The degraded tile is the low-resolution input enlarged by nearest-neighbour; its score is "
                 "that of the input after bicubic up-sampling to the target size (as the `bicubic` restorer "
                 "does).")
    return note


def _png_size(path: Path) -> tuple[int, int]:
    """The (width, height) of a PNG, from its header (no decoding)."""
    with path.open("rb") as f:
        head = f.read(24)
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf"]
_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def _plots(cells: dict[CellKey, CellResult], metrics: list[str], out: Path) -> list[Path]:
    """PSNR against each swept degradation parameter (sigma, peak, quality...) per restorer, and
    quality against speed; [] without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
    except ImportError:
        return []
    quality = _quality_metric(metrics)
    if quality is None:
        return []
    measured = [c for c in cells.values() if not c.skipped and c.mean(quality) is not None]
    # one colour per restorer and one marker per dataset, the same in both plots
    labels = list(dict.fromkeys(c.label for c in measured))
    datasets = list(dict.fromkeys(c.dataset for c in measured))
    colour = {name: _COLOURS[i % len(_COLOURS)] for i, name in enumerate(labels)}
    marker = {name: _MARKERS[i % len(_MARKERS)] for i, name in enumerate(datasets)}
    unit = f"{quality} (dB)" if quality.startswith("psnr") else quality

    def style(dataset: str) -> str:
        return "-" if datasets.index(dataset) % 2 == 0 else "--"

    def legend(fig: Any, lines: bool) -> None:
        # outside the axes, so no label ever covers a point or leaves the figure
        handles = [Line2D([], [], color=colour[n], marker="o", linestyle="-" if lines else "", label=n)
                   for n in labels]
        if len(datasets) > 1:
            handles += [Line2D([], [], color="#444", marker=marker[d], linestyle=style(d) if lines else "", label=d)
                        for d in datasets]
        fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False)

    written = []
    # one figure per swept parameter (sigma, peak, quality...), one panel per degradation family
    # sweeping it: scores are plotted against the parameter that varies between a family's degradations
    for param, panels in _sweeps(measured, quality).items():
        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels) + 2.4, 4.2), dpi=110,
                                 layout="constrained", squeeze=False)
        for ax, (family, lines) in zip(axes.flat, panels.items(), strict=True):
            for (label, dataset), points in lines.items():
                points.sort()
                ax.plot([p[0] for p in points], [p[1] for p in points], color=colour[label],
                        marker=marker[dataset], linestyle=style(dataset))
            ax.set_title(family, fontsize=10)
            ax.set_xlabel(_PARAM_LABELS.get(param, param))
            ax.grid(alpha=0.3)
        axes.flat[0].set_ylabel(unit)
        fig.suptitle(f"{quality} against {_PARAM_LABELS.get(param, param)}", fontsize=11)
        legend(fig, lines=True)
        written.append(_save(fig, out / f"plot-quality-vs-{param.replace('_', '-')}.png"))
        plt.close(fig)
    timed = [c for c in measured if c.seconds_per_image]
    if timed:
        # one panel per degradation: scores of different noise levels or scales are not comparable
        degradations = list(dict.fromkeys(c.degradation for c in timed))
        columns = min(3, len(degradations))
        rows = -(-len(degradations) // columns)
        fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns + 1.8, 3.0 * rows + 0.4), dpi=110,
                                 layout="constrained", squeeze=False, sharex=True)
        seconds = [c.seconds_per_image for c in timed]
        log = max(seconds) / min(seconds) >= 10  # type: ignore[type-var, operator]
        for ax, degradation in zip(axes.flat, degradations, strict=False):
            for c in timed:
                if c.degradation == degradation:
                    ax.scatter(c.seconds_per_image, c.mean(quality), color=colour[c.label],
                               marker=marker[c.dataset], s=36, edgecolors="black", linewidths=0.4, zorder=3)
            ax.set_title(degradation, fontsize=10)
            ax.grid(alpha=0.3)
            if log:
                ax.set_xscale("log")
            ax.margins(x=0.15, y=0.15)
        for ax in list(axes.flat)[len(degradations):]:
            ax.set_visible(False)
        fig.supxlabel("seconds per image (median" + (", log scale)" if log else ")"), fontsize=10)
        fig.supylabel(unit, fontsize=10)
        fig.suptitle(f"{quality} against speed", fontsize=11)
        legend(fig, lines=False)
        written.append(_save(fig, out / "plot-quality-vs-speed.png"))
        plt.close(fig)
    return written


def _save(fig: Any, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


_PARAM_LABELS = {"sigma": "noise sigma (0-255)", "peak": "Poisson peak (photons at white)",
                 "quality": "JPEG quality", "amount": "fraction of impulse samples",
                 "speckle": "speckle sigma (relative)", "kernel_sigma": "blur kernel sigma (pixels)",
                 "kernel_length": "motion length (pixels)", "kernel_size": "kernel side (pixels)", "scale": "scale"}


def _sweeps(measured: list[CellResult], quality: str) -> dict[str, dict[str, dict[tuple[str, str], list]]]:
    """{parameter: {family: {(restorer, dataset): [(value, score)]}}} for every family whose
    degradations differ in exactly that one numeric parameter (gaussian15/25/50: sigma)."""
    described = {d: _described(d) for d in dict.fromkeys(c.degradation for c in measured)}
    # a family is a name with one set of parameters: blur with a Gaussian kernel (kernel_sigma) and
    # blur with a motion kernel (kernel_length) are two, each plotted against its own parameter
    families: dict[tuple[str, tuple[str, ...]], dict[str, dict[str, float]]] = defaultdict(dict)
    for spec, found in described.items():
        if found is not None:
            families[(found[0], tuple(sorted(found[1])))][spec] = found[1]
    out: dict[str, dict[str, dict[tuple[str, str], list]]] = defaultdict(dict)
    for (family, names), specs in families.items():
        keys = set().union(*(p.keys() for p in specs.values()))
        varying = sorted(k for k in keys if len({p.get(k) for p in specs.values()}) > 1)
        if len(specs) < 2 or len(varying) != 1:  # two parameters varying at once: no one axis to plot
            continue
        param = varying[0]
        lines: dict[tuple[str, str], list] = defaultdict(list)
        for c in measured:
            if c.degradation in specs and param in specs[c.degradation]:
                lines[(c.label, c.dataset)].append((specs[c.degradation][param], c.mean(quality)))
        if any(len(v) > 1 for v in lines.values()):
            if family in out[param]:  # the same name sweeping the same parameter with other parameters
                family = f"{family} ({', '.join(n for n in names if n != param)})"
            out[param][family] = dict(lines)
    return dict(out)


def _described(degradation: str) -> tuple[str, dict[str, float]] | None:
    """A degradation spec's family (its registered names joined by +) and its numeric parameters,
    from the DegradationInfo it attaches (through the registry); None if it cannot be built here."""
    from restore_core.plugins.host import default_host
    from restore_core.plugins.registry import split_chain
    from restore_core.train.loop import probe_info

    registry = default_host().registry("degradation")
    try:
        family = "+".join(registry.parse(stage)[0].name for stage in split_chain(degradation))
        info = probe_info(registry.build(degradation), 3)
    except Exception:  # a degradation from a plugin that is not installed here, or too big to probe
        return None
    return family, info.scalar_params()


def _scale(degradation: str) -> int | None:
    """The up-sampling factor a degradation spec implies (through the registry), or None."""
    from restore_core.plugins.host import default_host
    from restore_core.train.loop import probe_info

    try:
        return probe_info(default_host().registry("degradation").build(degradation), 3).scale
    except Exception:  # a degradation from a plugin that is not installed here
        return None


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}
td:nth-child(-n+4),th:nth-child(-n+4){text-align:left}.best{font-weight:bold;color:#0a6a0a}
.images td:nth-child(n+2),.images th:nth-child(n+2){text-align:right}
.grid{display:flex;flex-wrap:nowrap;overflow-x:auto;gap:10px;padding-bottom:6px}
.grid figure{flex:none;margin:0;text-align:center;font-size:12px}
.grid img{display:block;image-rendering:pixelated;border:1px solid #999}
code{background:#f3f3f3;padding:1px 4px}details{margin:.3em 0}
"""


def _summary(stored: StoredRun) -> tables.Table:
    """The summary table of a stored run, every cell's backend shown."""
    rows = tables.json_rows(stored.cells.values(), stored.directions, rounded=False)
    return tables.summary_table(rows, stored.metrics, stored.directions, backend=True)


def _about(stored: StoredRun) -> list[str]:
    """The protocol and column paragraphs under a report's heading."""
    seed = stored.manifest.get("matrix", {}).get("seed")
    return [tables.protocol_text(seed), tables.columns_text(stored.directions)]


def _html(stored: StoredRun, plots: list[Path], inputs: dict[InputKey, dict[str, float]]) -> str:
    run, manifest, cells, metrics = stored.path, stored.manifest, stored.cells, stored.metrics
    env = manifest.get("environment", {})
    parts = [f"<!doctype html><html><head><meta charset=utf-8><title>restore bench report: {html.escape(run.name)}"
             f"</title><style>{_CSS}</style></head><body>",
             f"<h1>restore bench report</h1><p>Run <code>{html.escape(str(run))}</code>"
             + (f", command <code>{html.escape(manifest['command'])}</code>" if manifest.get("command") else "")
             + f". restore {html.escape(str(env.get('restore')))}, torch {html.escape(str(env.get('torch')))}, "
             f"{html.escape(_machine(env))}, {env.get('torch_threads')} threads"
             + (f", CUDA {html.escape(str(env.get('cuda')))}" if env.get("cuda") else "")
             + f", git {html.escape(str(env.get('git_commit') or 'unknown'))[:12]}, started "
             f"{html.escape(str(env.get('started')))}.</p>",
             *(f"<p><small>{html.escape(text)}</small></p>" for text in _about(stored)), "<h2>Summary</h2>",
             tables.html(_summary(stored))]
    notes = tables.notes(cells.values())
    if notes:
        parts.append("<ul>" + "".join(f"<li>{html.escape(note)}</li>" for note in notes) + "</ul>")
    if plots:
        parts.append("<h2>Plots</h2>" + "".join(f'<img alt="{p.stem}" src="{_data_uri(p)}">' for p in plots))
    grids = _grids(run, cells, metrics, inputs)
    if grids:
        parts.append("<h2>Visual comparison</h2>")
        for g in grids:
            width, height = g["display"]
            parts.append(f"<h3>{html.escape(g['dataset'])}, {html.escape(g['degradation'])}: "
                         f"{html.escape(g['image'])}</h3><p><small>{html.escape(_grid_note(g))}</small></p>"
                         "<div class=grid>")
            for name, path, score in g["tiles"]:
                parts.append(f'<figure style="width:{width + 2}px"><img alt="{html.escape(name)}" width={width} '
                             f'height={height} src="{_data_uri(path)}">'
                             f"<figcaption>{html.escape(name)}<br>{html.escape(score)}</figcaption></figure>")
            parts.append("</div>")
    parts.append("<h2>Per image</h2>")
    for title, head_i, rows_i in _image_tables(cells, metrics, inputs):
        parts.append(f"<details><summary>{html.escape(title)} ({_count(len(rows_i))})</summary>"
                     f"{tables.html_rows(head_i, rows_i, css_class='images')}</details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _markdown(stored: StoredRun, out: Path, plots: list[Path], inputs: dict[InputKey, dict[str, float]]) -> str:
    run, manifest, cells, metrics = stored.path, stored.manifest, stored.cells, stored.metrics
    env = manifest.get("environment", {})
    parts = [f"# restore bench report: {run.name}", "",
             (f"Command: `{manifest['command']}`. " if manifest.get("command") else "")
             + f"restore {env.get('restore')}, torch {env.get('torch')}, {_machine(env)}, "
             f"{env.get('torch_threads')} threads" + (f", CUDA {env.get('cuda')}" if env.get("cuda") else "")
             + f", started {env.get('started')}.", "", *(p for text in _about(stored) for p in (text, "")),
             "## Summary", "", tables.markdown(_summary(stored), bold_best=True), ""]
    parts += [f"- {note}" for note in tables.notes(cells.values())]
    for p in plots:
        parts += ["", f"![{p.stem}]({p.relative_to(out).as_posix()})"]
    for g in _grids(run, cells, metrics, inputs):
        # a table of one row of images keeps a grid on one line; its header names the tiles
        parts += ["", f"## {g['dataset']}, {g['degradation']}: {g['image']}", "", _grid_note(g), "",
                  "| " + " | ".join(name for name, _, _ in g["tiles"]) + " |",
                  "|" + ":---:|" * len(g["tiles"]),
                  "| " + " | ".join(f"![{_alt(name)}]({_relative(path, out)})" for name, path, _ in g["tiles"]) + " |",
                  "| " + " | ".join(score or " " for _, _, score in g["tiles"]) + " |"]
    per_image = _image_tables(cells, metrics, inputs)
    if per_image:
        parts += ["", "## Per image"]
    for title, head_i, rows_i in per_image:
        # folded, as in the HTML: a full set is dozens of rows per degradation
        parts += ["", f"<details><summary>{title} ({_count(len(rows_i))})</summary>", "",
                  tables.markdown_rows(head_i, rows_i),
                  "", "</details>"]
    return "\n".join(parts) + "\n"


def _count(images: int) -> str:
    return f"{images} image" + ("" if images == 1 else "s")


def _alt(name: str) -> str:
    """A tile name as Markdown alt text: brackets (of `dncnn [optimized]`) would end it early in some renderers."""
    return name.replace("[", "(").replace("]", ")")


def _relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()
