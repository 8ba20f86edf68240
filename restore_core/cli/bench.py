"""`restore bench`, `restore bench compare`, `restore bench report`."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from restore_core.cli.context import TEXT_COLUMN_WIDTH, fmt_number, host_of, progress_bar, stderr, wide_console
from restore_core.data.datasets import DEFAULT_DATASET, Dataset
from restore_core.errors import UsageError
from restore_core.plugins.specs import (
    build_backends,
    build_restorers,
    open_dataset_spec,
    parse_tile,
    split_specs,
)


@click.group(invoke_without_command=True)
@click.option("-r", "--restorer", "restorers", multiple=True,
              help="Restorer spec(s), e.g. dncnn,identity or dncnn:layers=7.")
@click.option("-d", "--degradation", "degradations", multiple=True,
              help="Degradation spec(s), e.g. gaussian25 or x3.")
@click.option("--dataset", "datasets", multiple=True, default=(DEFAULT_DATASET,), show_default=True,
              help="Dataset name(s) (see `restore datasets`) or folder path(s).")
@click.option("-m", "--metric", "metrics", multiple=True, default=("psnr", "ssim"), show_default=True,
              help="Metric spec(s).")
@click.option("--suite", type=click.Path(path_type=Path), default=None,
              help="A TOML suite naming the matrix (a .toml file in benchmarks/); options given here win.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="Output format on standard output.")
@click.option("--seed", default=0, show_default=True, help="Seed the per-image degradations derive from.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use only the first N images.")
@click.option("--crop", type=click.IntRange(min=8), default=None,
              help="Crop every image to at most SIZE x SIZE (quick runs).")
@click.option("--crop-at", type=click.Choice(["centre", "corner"]), default="centre", show_default=True,
              help="Where --crop takes its window.")
@click.option("-b", "--backend", "backends", multiple=True, default=("auto",), show_default=True,
              help="Inference backend(s) for network restorers: names, `all`, or `auto` (fastest available).")
@click.option("--tile", default="auto", show_default=True,
              help="Tile size in pixels for large images, 0 for none, auto from available memory.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Run directory for the results store (default: a new one under ./restore-runs/).")
@click.option("--resume", is_flag=True, help="Continue the run in --out, skipping what it already holds.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run independent cells in N worker processes (scores identical; timings shared).")
@click.pass_context
def bench(ctx: click.Context, restorers: tuple[str, ...], degradations: tuple[str, ...],
          datasets: tuple[str, ...], metrics: tuple[str, ...], suite: Path | None, fmt: str, seed: int,
          limit: int | None, crop: int | None, crop_at: str, backends: tuple[str, ...], tile: str,
          out: Path | None, resume: bool, jobs: int) -> None:
    """Score every restorer x degradation x dataset (x backend) combination; store and print it.

    Subcommands: `restore bench compare RUN_A RUN_B`, `restore bench report RUN`.
    """
    if ctx.invoked_subcommand is not None:
        return
    from restore_core.bench.runner import Named, preflight, run_benchmark
    from restore_core.bench.store import RunStore, default_run_dir, environment, latest, read_results, result_key

    if suite is not None:
        from restore_core.bench.suites import load_suite

        loaded = load_suite(suite)

        def given(name: str) -> bool:
            return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE

        restorers = restorers if given("restorers") else loaded.restorers
        degradations = degradations if given("degradations") else loaded.degradations
        datasets = datasets if given("datasets") else loaded.datasets
        metrics = metrics if given("metrics") or not loaded.metrics else loaded.metrics
        backends = backends if given("backends") or not loaded.backends else loaded.backends
        seed = seed if given("seed") or loaded.seed is None else loaded.seed
    if not split_specs(restorers):
        raise UsageError("bench needs --restorer (or a --suite that names restorers)")
    if not split_specs(degradations):
        raise UsageError("bench needs --degradation (or a --suite that names degradations)")
    if resume and out is None:
        raise UsageError("--resume needs --out DIR naming the run to continue")
    host = host_of(ctx)
    r = build_restorers(host, restorers, build_backends(host, backends), parse_tile(tile))
    d = [Named(s, host.registry("degradation").build(s)) for s in split_specs(degradations)]
    m = [Named(s, host.registry("metric").build(s)) for s in split_specs(metrics)]
    sets = [open_dataset_spec(host, s).limit(limit).cropped(crop, crop_at) for s in split_specs(datasets)]
    if not m or not sets:
        raise UsageError("bench needs at least one metric and one dataset")
    matrix = {"restorers": [[x.label, x.backend] for x in r], "degradations": [x.label for x in d],
              "datasets": [x.name for x in sets], "metrics": [x.label for x in m], "seed": seed,
              "limit": limit, "crop": crop, "crop_at": crop_at if crop else None}
    run_dir = out if out is not None else default_run_dir(Path(os.environ.get("RESTORE_RUNS", "restore-runs")))
    manifest = {"matrix": matrix, "suite": str(suite) if suite else None, "tile": tile, "jobs": jobs,
                "command": "restore " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["bench"] else None,
                "environment": environment(),
                "plugins": [{"name": p.name, "distribution": p.distribution, "version": p.version}
                            for p in host.plugins()]}
    channels = sorted({ds.load(0).shape[1] for ds in sets if len(ds)})
    unprepared = preflight(r, d, channels)
    with RunStore.create(run_dir, manifest, resume) as store:
        done = {result_key(rec): rec for rec in latest(read_results(run_dir))} if resume else {}
        if jobs > 1:
            done = _bench_parallel(r, d, sets, m, seed, limit, crop, crop_at, parse_tile(tile), jobs, done, store)
        total = sum(len(ds) for ds in sets) * len(d)
        with progress_bar(fmt == "table") as progress:
            task = progress.add_task("bench", total=total)
            results = run_benchmark(r, d, sets, m, seed=seed, store=store, done=done, samples=run_dir / "samples",
                                    unprepared=unprepared,
                                    on_image=lambda label, _n: progress.update(task, advance=1, description=label))
    rows = [_row(c, [x.label for x in m]) for c in results]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    elif fmt == "csv":
        click.echo(_csv(rows), nl=False)
    else:
        _print_table(results, [x.label for x in m], seed,
                     lower_is_better={x.label for x in m if not getattr(x.component, "higher_is_better", True)})
    stderr.print(f"[dim]results stored in {run_dir}[/]")


def _bench_parallel(r: list[Any], d: list[Any], sets: list[Dataset], m: list[Any], seed: int, limit: int | None,
                    crop: int | None, crop_at: str, tile: int | str | None, jobs: int, done: dict[Any, Any],
                    store: Any) -> dict[Any, Any]:
    """Run every cell in worker processes; return the store's records by key for the final serial pass.

    Each record is appended to the store as soon as its worker has measured it, so a killed run keeps
    every finished image, not only finished cells.
    """
    import torch

    from restore_core.bench.parallel import CellTask, run_parallel
    from restore_core.bench.runner import SKIPPED
    from restore_core.bench.store import result_key

    threads = max(1, torch.get_num_threads() // jobs)
    sizes = {ds.name: len(ds) for ds in sets}
    tasks = [CellTask(x.label, x.backend, tile, deg.label, ds.name, limit, crop, crop_at,
                      tuple(y.label for y in m), seed, threads) for ds in sets for deg in d for x in r]
    merged = dict(done)
    counted: dict[CellTask, int] = {}  # images of each cell the progress bar has advanced by

    def keep(cell: CellTask, record: dict[str, Any]) -> None:
        store.append(record)
        merged[result_key(record)] = record
        if record["image"] != SKIPPED:
            counted[cell] = counted.get(cell, 0) + 1
            progress.update(bar, advance=1, description=f"{cell.dataset} {cell.degradation} {cell.restorer}")

    def finished(cell: CellTask) -> None:  # images already stored, or a skipped cell: count them now
        progress.advance(bar, sizes[cell.dataset] - counted.get(cell, 0))
        counted[cell] = sizes[cell.dataset]

    with progress_bar(True) as progress:
        bar = progress.add_task(f"bench: {len(tasks)} cells in {jobs} processes",
                                total=sum(sizes[t.dataset] for t in tasks))
        run_parallel(tasks, jobs, done, keep, finished)
    return merged


@bench.command("compare")
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def bench_compare(run_a: Path, run_b: Path, fmt: str) -> None:
    """Print the per-cell differences between two runs: each metric in A, in B, and B minus A."""
    from restore_core.bench.report import compare_cells, compare_runs

    if fmt == "json":
        click.echo(json.dumps(compare_runs(run_a, run_b), indent=2))
        return
    metrics, pairs = compare_cells(run_a, run_b)
    table = Table(title=Text(f"{run_b} minus {run_a}"), title_justify="left")
    for col in ("restorer", "backend", "degradation", "dataset"):
        table.add_column(col, overflow="fold")
    table.add_column("images\nA/B", justify="right", no_wrap=True)
    for name in metrics:
        table.add_column(f"{name}\nA", justify="right", no_wrap=True)
        table.add_column(f"{name}\nB", justify="right", no_wrap=True)
        table.add_column("diff", justify="right", no_wrap=True)
    notes = []
    for (restorer, backend, degradation, dataset), a, b in pairs:
        skipped_a, skipped_b = a.skipped if a else None, b.skipped if b else None
        label = f"{restorer} x {degradation} on {dataset}"
        if skipped_a and skipped_b:  # nothing to compare: said once, below the table
            notes.append(f"skipped in A and B: {label}: {skipped_a}" if skipped_a == skipped_b else
                         f"skipped in A and B: {label}: A: {skipped_a}; B: {skipped_b}")
            continue
        notes += [f"skipped in {run}: {label}: {why}" for run, why in (("A", skipped_a), ("B", skipped_b)) if why]
        images = "/".join("skipped" if c is not None and c.skipped else "-" if c is None else str(c.images)
                          for c in (a, b))
        cells: list[Any] = [Text(restorer), Text(backend or "-"), Text(degradation), Text(dataset), images]
        for name in metrics:
            va, vb = (a.mean(name) if a else None), (b.mean(name) if b else None)
            digits = 2 if name.startswith("psnr") else 4
            diff = "-" if va is None or vb is None else f"{vb - va:+.{digits + 1}f}"
            cells += ["skipped" if skipped_a else fmt_number(va, digits),
                      "skipped" if skipped_b else fmt_number(vb, digits), diff]
        table.add_row(*cells)
    console = wide_console()
    console.print(table)
    for note in notes:
        console.print(Text(note))


@bench.command("report")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--html", "html_out", is_flag=True, help="Write report.html (self-contained).")
@click.option("--markdown", "md_out", is_flag=True, help="Write report.md with PNG plots beside it.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Folder for the report (default: RUN).")
def bench_report(run: Path, html_out: bool, md_out: bool, out: Path | None) -> None:
    """Write a report of a run: summary and per-image tables, comparison grids, plots."""
    from restore_core.bench.report import write_report

    if not html_out and not md_out:
        html_out = True
    for path in write_report(run, out or run, html=html_out, markdown=md_out):
        click.echo(str(path))


def _row(cell: Any, metrics: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"restorer": cell.restorer, "backend": cell.backend, "degradation": cell.degradation,
                           "dataset": cell.dataset, "images": cell.images}
    for name in metrics:
        out, inp = cell.mean(name), cell.mean(name, of_input=True)
        row[name] = _round(out)
        row[f"{name}_input"] = _round(inp)
        row[f"{name}_gain"] = _round(out - inp) if out is not None and inp is not None else None
    row["seconds_per_image"] = _round(cell.seconds_per_image)
    row["megapixels_per_second"] = _round(cell.megapixels_per_second)
    row["peak_memory_mib"] = cell.peak_extra_memory_mib  # the older name of the next key, kept for scripts
    row["peak_extra_memory_mib"] = cell.peak_extra_memory_mib
    row["skipped"] = cell.skipped
    return row


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["restorer"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()




def _print_table(results: list[Any], metrics: list[str], seed: int, lower_is_better: set[str] | None = None) -> None:
    """Print the bench table, its skipped cells and the protocol the numbers follow."""
    console = wide_console()
    # the roomiest layout that fits: in a narrow (80-column) terminal the rules go and the columns close
    # up, then the input columns go, before rich would cut a number short
    for with_inputs, gap in ((True, None), (True, 1), (True, 0), (False, 1), (False, 0)):
        table = _bench_table(results, metrics, lower_is_better or set(), with_inputs, gap)
        if Measurement.get(console, console.options.update_width(10_000), table).maximum <= console.width:
            break
    console.print(table)
    if not with_inputs:
        console.print("[dim]input scores left out to fit the terminal: input = value - gain "
                      "(--format json or csv has every column)[/]")
    for c in results:
        if c.skipped:
            console.print(Text(f"skipped {c.restorer} x {c.degradation} on {c.dataset}: {c.skipped}"))
    console.print(Text(f"protocol: per-image noise from seed {seed}, degraded input not clipped (scored clipped "
                       "as 'in'; a super-resolution input is scored after bicubic up-sampling to the target "
                       "size, so bicubic's gain is 0); outputs clipped to [0, 1]; metrics in float64 on [0, 1]; "
                       "auto channel: denoising RGB without crop, super-resolution BT.601 Y with `scale` pixels "
                       "cropped", style="dim"))
    console.print(Text("columns: the best value of each metric per degradation and dataset in bold; s/image: "
                       "median restore time after one untimed warm-up; MP/s: output megapixels per second of "
                       "restore time; extra MiB: peak memory during a restore call minus the memory in use just "
                       "before it, the largest over the cell's images (CPU: resident memory; CUDA backends: "
                       "allocated device memory)", style="dim"))


def _bench_table(results: list[Any], metrics: list[str], lower_is_better: set[str], with_inputs: bool = True,
                 gap: int | None = None) -> Table:
    """The bench table: one row per measured cell, the best value of each metric per group in bold.

    `gap` None draws the usual boxed table with one-line headers; a number of spaces draws no vertical
    rules and two-line headers, to fit a narrow terminal.
    """
    from rich import box

    if gap is None:
        table = Table(title="restore bench", title_justify="left")
    else:
        table = Table(title="restore bench", title_justify="left", box=box.SIMPLE_HEAD, padding=(0, gap),
                      collapse_padding=True, pad_edge=False, show_edge=False)
    sep = " " if gap is None else "\n"
    with_backend = any(c.backend for c in results)
    for col in ("restorer", *(["backend"] if with_backend else []), "degradation", "dataset"):
        table.add_column(col, overflow="fold", max_width=TEXT_COLUMN_WIDTH)
    table.add_column("images", justify="right", no_wrap=True)
    for name in metrics:
        if with_inputs:
            table.add_column(f"{name}{sep}in", justify="right", no_wrap=True)
        table.add_column(name, justify="right", no_wrap=True)
        table.add_column("gain" if gap is None else f"{name}\ngain", justify="right", no_wrap=True)
    for header in ("s/image", "MP/s", f"extra{sep}MiB"):
        table.add_column(header.replace("/", "/\n") if gap is not None and header == "s/image" else header,
                         justify="right", no_wrap=True)
    done = [c for c in results if not c.skipped]
    best: dict[tuple[str, str, str], float] = {}  # (degradation, dataset, metric) -> best mean
    for c in done:
        for name in metrics:
            value = c.mean(name)
            if value is None:
                continue
            key = (c.degradation, c.dataset, name)
            pick = min if name in lower_is_better else max
            best[key] = value if key not in best else pick(best[key], value)
    for c in done:
        cells: list[Any] = [Text(c.restorer), *([Text(c.backend or "-")] if with_backend else []),
                            Text(c.degradation), Text(c.dataset), str(c.images)]
        for name in metrics:
            out, inp = c.mean(name), c.mean(name, of_input=True)
            digits = 2 if name.startswith("psnr") else 4
            text = Text(fmt_number(out, digits))
            if out is not None and out == best.get((c.degradation, c.dataset, name)):
                text.stylize("bold green")
            gain = f"{out - inp:+.{digits}f}" if out is not None and inp is not None else "-"
            cells += [*([fmt_number(inp, digits)] if with_inputs else []), text, gain]
        cells += [fmt_number(c.seconds_per_image, 3), fmt_number(c.megapixels_per_second, 2),
                  fmt_number(c.peak_extra_memory_mib, 1)]
        table.add_row(*cells)
    return table


