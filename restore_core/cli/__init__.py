"""The `restore` command line: click for parsing, rich for display, one-line errors.

Every RestoreError becomes one line on standard error and exit code 1 (2 for usage errors);
no traceback reaches a user unless RESTORE_DEBUG=1 is set.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

import restore_core
from restore_core.data.datasets import DEFAULT_DATASET, Dataset, open_dataset
from restore_core.errors import RestoreError, UsageError
from restore_core.plugins.host import PluginHost, default_host

stderr = Console(stderr=True, highlight=False)


def _split(values: Sequence[str]) -> list[str]:
    """Accept repeated options and comma-separated lists; commas inside `name:k=v,k=v` stay."""
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if out and "=" in part and ":" not in part and ":" in out[-1]:
                out[-1] += "," + part  # a parameter of the previous spec
            else:
                out.append(part)
    return out


def _host(ctx: click.Context) -> PluginHost:
    return ctx.obj if isinstance(ctx.obj, PluginHost) else default_host()


def _dataset(host: PluginHost, spec: str) -> Dataset:
    return open_dataset(host.registry("dataset"), spec)


def _tile(value: str) -> int | str | None:
    if value == "auto":
        return "auto"
    try:
        size = int(value)
    except ValueError:
        raise UsageError(f"--tile must be a size in pixels, 0 (no tiling) or auto, not {value!r}") from None
    if size < 0 or 0 < size < 64:
        raise UsageError(f"--tile must be 0 (no tiling), auto, or at least 64 pixels, not {size}")
    return size or None


def _backends(host: PluginHost, specs: Sequence[str]) -> list[tuple[str, Any]]:
    """Resolve --backend: names/specs, `all` (every available one) or `auto` (the fastest available)."""
    registry = host.registry("backend")
    names = _split(specs) or ["auto"]
    if names in (["auto"], ["all"]):
        available = []
        for reg in registry:
            backend = registry.build(reg.name)
            if backend.unavailable() is None:
                available.append((backend.priority, reg.name, backend))
        if not available:
            raise UsageError("no inference backend is available on this machine")
        available.sort(key=lambda item: (-item[0], item[1]))
        chosen = available[:1] if names == ["auto"] else available
        return [(name, backend) for _, name, backend in chosen]
    out = []
    for spec in names:
        backend = registry.build(spec)
        backend.check()
        out.append((spec, backend))
    return out


def _restorers(host: PluginHost, specs: Sequence[str], backends: list[tuple[str, Any]],
               tile: int | str | None) -> list[Any]:
    """One Named per restorer, or per (network restorer, backend) pair."""
    from restore_core.bench.runner import Named
    from restore_core.components.network_restorer import NetworkRestorer

    out = []
    for spec in _split(specs):
        first = host.registry("restorer").build(spec)
        if not isinstance(first, NetworkRestorer):
            out.append(Named(spec, first))
            continue
        for i, (label, backend) in enumerate(backends):
            model = first if i == 0 else host.registry("restorer").build(spec)
            model.configure_inference(backend, tile)  # type: ignore[arg-type]
            out.append(Named(spec, model, label))
    return out


class RestoreGroup(click.Group):
    """The command group; its `main` turns every expected error into one line and an exit code."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             **extra: Any) -> Any:
        """Run a command; never show a traceback unless RESTORE_DEBUG=1."""
        debug = os.environ.get("RESTORE_DEBUG") == "1"
        previous = warnings.showwarning
        warnings.showwarning = _one_line_warning
        try:
            return super().main(args=args, prog_name=prog_name or "restore", standalone_mode=False,
                                **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            _error(exc.format_message(), exc.exit_code)
        except click.exceptions.Abort:
            _error("aborted", 130)
        except RestoreError as exc:
            if debug:
                raise
            _error(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _error("interrupted", 130)
        except Exception as exc:  # a bug: still one line, with a way to see more
            if debug:
                raise
            _error(f"internal error: {type(exc).__name__}: {exc} (RESTORE_DEBUG=1 shows the traceback)", 1)
        finally:
            warnings.showwarning = previous


def _error(message: str, code: int) -> None:
    first = " ".join(str(message).split())  # one line, whatever the message held
    click.echo(f"restore: error: {first}", err=True)
    sys.exit(code)


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                      file: Any = None, line: str | None = None) -> None:
    click.echo(f"restore: warning: {' '.join(str(message).split())}", err=True)


@click.group(cls=RestoreGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(restore_core.__version__, prog_name="restore")
def cli() -> None:
    """restore: benchmark, run and train image restorers; every component is a plugin."""


# ----------------------------------------------------------------------------------------- bench


@cli.group(invoke_without_command=True)
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
    if not _split(restorers):
        raise UsageError("bench needs --restorer (or a --suite that names restorers)")
    if not _split(degradations):
        raise UsageError("bench needs --degradation (or a --suite that names degradations)")
    if resume and out is None:
        raise UsageError("--resume needs --out DIR naming the run to continue")
    host = _host(ctx)
    r = _restorers(host, restorers, _backends(host, backends), _tile(tile))
    d = [Named(s, host.registry("degradation").build(s)) for s in _split(degradations)]
    m = [Named(s, host.registry("metric").build(s)) for s in _split(metrics)]
    sets = [_dataset(host, s).limit(limit).cropped(crop, crop_at) for s in _split(datasets)]
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
            done = _bench_parallel(r, d, sets, m, seed, limit, crop, crop_at, _tile(tile), jobs, done, store)
        total = sum(len(ds) for ds in sets) * len(d)
        with _progress(fmt == "table") as progress:
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

    with _progress(True) as progress:
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
            cells += ["skipped" if skipped_a else _fmt(va, digits), "skipped" if skipped_b else _fmt(vb, digits), diff]
        table.add_row(*cells)
    console = _wide_console()
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


def _wide_console() -> Console:
    """A console for standard output that does not squeeze tables when piped to a file."""
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=200)


TEXT_COLUMN_WIDTH = 24  # longer names (folder paths) fold onto more lines, never push numbers off


def _print_table(results: list[Any], metrics: list[str], seed: int, lower_is_better: set[str] | None = None) -> None:
    """Print the bench table, its skipped cells and the protocol the numbers follow."""
    console = _wide_console()
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
            text = Text(_fmt(out, digits))
            if out is not None and out == best.get((c.degradation, c.dataset, name)):
                text.stylize("bold green")
            gain = f"{out - inp:+.{digits}f}" if out is not None and inp is not None else "-"
            cells += [*([_fmt(inp, digits)] if with_inputs else []), text, gain]
        cells += [_fmt(c.seconds_per_image, 3), _fmt(c.megapixels_per_second, 2), _fmt(c.peak_extra_memory_mib, 1)]
        table.add_row(*cells)
    return table


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _progress(enabled: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=stderr, transient=True,
                    disable=not enabled or not stderr.is_terminal)


# ------------------------------------------------------------------------------------ list, plugins


@cli.command("list")
@click.pass_context
def list_components(ctx: click.Context) -> None:
    """List degradations, restorers, metrics, datasets and backends with the plugin each comes from."""
    host = _host(ctx)
    console = _wide_console()
    for kind in ("degradation", "restorer", "metric", "dataset", "backend"):
        table = Table(title=f"{kind}s", title_justify="left")
        for col in ("name", "also", "description", "plugin"):
            table.add_column(col)
        for reg in host.registry(kind):
            also = [*reg.aliases]
            if reg.shorthand:
                also.append(f"{reg.name}<{reg.shorthand}>")
            # plugin text is shown as is: Text never reads "[...]" in it as rich markup
            description = Text(reg.description)
            if kind == "backend":
                reason = host.registry("backend").build(reg.name).unavailable()
                description.append(f" (unavailable: {reason})" if reason else " (available)",
                                   style="red" if reason else "green")
            table.add_row(Text(reg.name), Text(", ".join(also)), description, Text(reg.plugin))
        if kind == "dataset":
            table.add_row("PATH", "", "any folder of PNG, JPEG, BMP or TIFF images", "")
        console.print(table)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--verify", is_flag=True,
              help="Check every local or cached file against its recorded checksum (reads them all).")
@click.pass_context
def datasets(ctx: click.Context, fmt: str, verify: bool) -> None:
    """Show every dataset: local (under RESTORE_DATA), cached, downloadable or missing."""
    from restore_core.data.datasets import DATA_ENV, PublicDataset, cache_root, data_root

    rows = []
    for reg in _host(ctx).registry("dataset"):
        entry = reg.factory
        row: dict[str, Any] = {"name": reg.name, "plugin": reg.plugin, "description": reg.description}
        if isinstance(entry, PublicDataset):
            found = entry.locate()
            size = sum((found.path / f).stat().st_size for f in entry.files) if found.path else None
            status = found.where
            if found.path is None:
                status = "downloadable" if entry.download_url and entry.verifiable else "missing"
            elif verify:
                corrupt = entry.corrupt_files(found.path)
                row["corrupt"] = corrupt
                status += (f", {len(corrupt)} corrupt ({corrupt[0]}{', ...' if len(corrupt) > 1 else ''})"
                           if corrupt else ", verified" if entry.verifiable else ", unverified (no checksums)")
            row.update(images=entry.count, mode=entry.mode, status=status,
                       path=str(found.path) if found.path else None, bytes=size, source=entry.source,
                       verified=entry.verifiable, citation=entry.citation)
        else:
            row.update(images=getattr(entry, "count", None), mode=getattr(entry, "mode", None),
                       status="built in", path=None, bytes=None, source=None)
        rows.append(row)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    root = data_root()
    table = Table(title=f"datasets ({DATA_ENV}={root if root else '<unset>'}; cache {cache_root()})",
                  title_justify="left")
    for col in ("name", "images", "mode", "status", "size", "source"):
        table.add_column(col, justify="right" if col in ("images", "size") else "left")
    colours = {"local": "green", "cache": "green", "built in": "green", "downloadable": "yellow",
               "missing": "red"}
    for row in rows:
        size = f"{row['bytes'] / 1e6:.1f} MB" if row["bytes"] else "-"
        state = row["status"].split(",")[0]
        status = Text(row["status"], style="red" if row.get("corrupt") else colours.get(state, "white"))
        table.add_row(Text(row["name"]), str(row["images"] or "-"), Text(row["mode"] or "-"), status, size,
                      Text(row["source"] or row["description"]))
    _wide_console().print(table)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def models(ctx: click.Context, fmt: str) -> None:
    """List the trained weights plugins ship, with what their model cards record."""
    from importlib import resources

    from restore_core.components.flops import flops_per_pixel
    from restore_core.components.network_restorer import NetworkRestorer
    from restore_core.train.weights import read_metadata

    rows = []
    for reg in _host(ctx).registry("restorer"):
        package = getattr(reg.factory, "weights_package", None)
        if not (isinstance(reg.factory, type) and issubclass(reg.factory, NetworkRestorer) and package):
            continue
        try:
            files = sorted(resources.files(package).iterdir(), key=lambda f: f.name)
        except (ModuleNotFoundError, FileNotFoundError):
            continue
        for file in files:
            if not file.name.endswith(".safetensors"):
                continue
            meta = read_metadata(Path(str(file)))
            if str(meta.get("restorer", "")).split(":")[0] != reg.name:
                continue  # a package may hold the weights of several restorers
            card = Path(str(file)).with_suffix(".md")
            cost = None
            if meta.get("restorer") and meta.get("channels"):
                model = _host(ctx).registry("restorer").build(str(meta["restorer"]))
                cost = flops_per_pixel(model.build_network(int(meta["channels"]))) / 1e6
            rows.append({"restorer": reg.name, "key": meta.get("key", file.name), "spec": meta.get("restorer"),
                         "degradation": meta.get("degradation"), "dataset": meta.get("dataset"),
                         "channels": meta.get("channels"), "step": meta.get("step"),
                         "val_psnr": meta.get("val_psnr"), "bytes": Path(str(file)).stat().st_size,
                         "mflops_per_pixel": None if cost is None else round(cost, 3),
                         "card": str(card) if card.is_file() else None})
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="shipped models", title_justify="left")
    for col in ("key", "restorer spec", "trained under", "data", "val PSNR", "MFLOP/px", "size", "model card"):
        table.add_column(col)
    for row in rows:
        table.add_row(Text(row["key"]), Text(str(row["spec"])), Text(str(row["degradation"])),
                      Text(str(row["dataset"])), _fmt(row["val_psnr"], 2), _fmt(row["mflops_per_pixel"], 2),
                      f"{row['bytes'] / 1e6:.2f} MB", Text(row["card"] or "-"))
    _wide_console().print(table)


@cli.group()
def plugin() -> None:
    """Make plugins: `restore plugin new NAME`."""


@plugin.command("new")
@click.argument("name")
@click.option("--dir", "parent", type=click.Path(path_type=Path), default=Path("."), show_default=True,
              help="Folder to create the package in.")
def plugin_new(name: str, parent: Path) -> None:
    """Create restore-plugin-NAME: a working restorer, its entry point and the conformance test."""
    from restore_core.plugins.scaffold import new_plugin

    root = new_plugin(name, parent)
    click.echo(f"created {root}; next: pip install -e '{root}[test]' && pytest {root}")


@cli.command()
@click.pass_context
def plugins(ctx: click.Context) -> None:
    """List plugins: distribution, version, hooks, and why a plugin failed."""
    host = _host(ctx)
    host.registry("restorer")  # run the hooks so hook failures are known
    table = Table(title="plugins", title_justify="left")
    for col in ("plugin", "distribution", "version", "hooks", "status"):
        table.add_column(col)
    unavailable: dict[str, list[str]] = {}  # a loaded plugin whose backend cannot run on this machine
    for reg in host.registry("backend"):
        reason = host.registry("backend").build(reg.name).unavailable()
        if reason:
            unavailable.setdefault(reg.plugin, []).append(f"backend {reg.name} unavailable here: {reason}")
    for info in host.plugins():
        status = Text("failed: " + "; ".join(info.failures), style="red") if info.failures else Text("ok")
        if info.name in unavailable and not info.failures:
            status.append("; " + "; ".join(unavailable[info.name]), style="yellow")
        table.add_row(Text(info.name), Text(info.distribution), Text(info.version), Text(", ".join(info.hooks)),
                      status)
    _wide_console().print(table)


# --------------------------------------------------------------------------------------------- run


@cli.command()
@click.argument("restorer")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="Output PNG (one input image) or folder.")
@click.option("--degrade", "degrade_spec", default=None,
              help="Degrade each clean input first with this spec (for demos).")
@click.option("--sigma", type=float, default=None, help="Noise sigma (0-255) of real noisy inputs.")
@click.option("--scale", type=int, default=None, help="Up-sampling factor for super-resolution.")
@click.option("--seed", default=0, show_default=True, help="Seed for --degrade.")
@click.option("-b", "--backend", default="auto", show_default=True, help="Inference backend for network restorers.")
@click.option("--tile", default="auto", show_default=True,
              help="Tile size in pixels for large images, 0 for none, auto from available memory.")
@click.pass_context
def run(ctx: click.Context, restorer: str, inputs: tuple[str, ...], output: Path,
        degrade_spec: str | None, sigma: float | None, scale: int | None, seed: int, backend: str,
        tile: str) -> None:
    """Restore images (files or folders) and write PNGs."""
    from restore_core.components.interfaces import DENOISING, SUPER_RESOLUTION, DegradationInfo
    from restore_core.data.seeding import image_generator
    from restore_core.imaging.io import IMAGE_SUFFIXES, list_images, read_image, write_png

    host = _host(ctx)
    chosen = _backends(host, [backend])
    if len(chosen) > 1:
        raise UsageError(f"restore run takes one backend, not {len(chosen)} ({', '.join(n for n, _ in chosen)}); "
                         "compare backends with restore bench --backend")
    model = _restorers(host, [restorer], chosen, _tile(tile))[0].component
    degradation = host.registry("degradation").build(degrade_spec) if degrade_spec else None
    files: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = list_images(p)
            if not found:
                raise UsageError(f"no images (PNG, JPEG, BMP, TIFF) in folder {item!r}")
            files.extend(found)
        else:
            files.append(p)
    suffix = output.suffix.lower()
    if suffix in IMAGE_SUFFIXES and suffix != ".png":
        raise UsageError(f"restore run writes PNG: name the output {output.with_suffix('.png').name!r}, "
                         f"not {output.name!r}")
    single = len(files) == 1 and suffix == ".png"
    if not single and suffix == ".png":
        raise UsageError(f"{len(files)} inputs need an output folder, not the file {str(output)!r}")
    targets = [output if single else output / f"{path.stem}.png" for path in files]
    # checked before anything is written: one output must never silently replace another, or an input
    seen: dict[Path, Path] = {}
    resolved_inputs = {f.resolve() for f in files}
    for path, target in zip(files, targets, strict=True):
        if target in seen:
            raise UsageError(f"{seen[target]} and {path} would both be written to {target}; "
                             "restore them into separate folders")
        seen[target] = path
        if target.resolve() in resolved_inputs:
            raise UsageError(f"{target} is an input; write the output elsewhere")
    for path, target in zip(files, targets, strict=True):
        image = read_image(path)
        if degradation is not None:
            gen = image_generator(seed, path.stem, degradation.spec())
            degraded = degradation.degrade(image, [gen])
            image, info = degraded.image, degraded.info
        elif scale is not None:
            info = DegradationInfo(SUPER_RESOLUTION, scale=scale)
        else:
            info = DegradationInfo(DENOISING, sigma=sigma)
        reason = model.supports(info, image.shape[1])
        if reason:
            raise UsageError(f"{restorer} cannot restore {path.name}: {reason}")
        restored = model.restore(image, info)
        write_png(target, restored)
        stderr.print(f"{path} -> {target}")


# ------------------------------------------------------------------------------------------- train


@cli.command()
@click.option("--recipe", type=click.Path(path_type=Path), default=None,
              help="A TOML training recipe (a .toml file in benchmarks/recipes/); options given here win.")
@click.option("-r", "--restorer", default=None, help="Trainable restorer spec, e.g. dncnn:layers=7.")
@click.option("-d", "--degradation", default=None, help="Degradation spec to train under.")
@click.option("--dataset", default=None, help="Dataset name (see `restore datasets`) or folder of clean images.")
@click.option("--channels", type=click.Choice(["1", "3"]), default="3", show_default=True,
              help="Train on gray (1) or colour (3) images.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Where the best weights (.safetensors) go; a model card goes beside them.")
@click.option("--val-count", default=8, show_default=True,
              help="Images held out of the training folder for validation (every k-th file).")
@click.option("--patch", default=40, show_default=True, help="Patch size (clean side).")
@click.option("--batch", default=32, show_default=True, help="Patches per step.")
@click.option("--steps", default=3000, show_default=True, help="Optimiser steps.")
@click.option("--lr", default=1e-3, show_default=True, help="Initial Adam learning rate.")
@click.option("--max-minutes", type=float, default=None, help="Wall-clock budget; the schedule follows it.")
@click.option("--warmup", type=click.IntRange(min=0), default=0, show_default=True,
              help="Steps of linear learning-rate warm-up.")
@click.option("--val-every", default=250, show_default=True, help="Validate every N steps.")
@click.option("--checkpoint", type=click.Path(path_type=Path), default=None,
              help="Resumable checkpoint file (resumed from when it exists).")
@click.option("--init", type=click.Path(path_type=Path), default=None,
              help="Start from these weights (.safetensors), e.g. a shallower DnCNN to deepen.")
@click.option("--seed", default=0, show_default=True)
@click.option("--bf16/--no-bf16", default=None, help="bf16 autocast (default: when the CPU has it).")
@click.option("--limit", type=click.IntRange(min=2), default=None, help="Use only the first N images.")
@click.option("--crop", type=click.IntRange(min=8), default=None, help="Crop every image to at most SIZE.")
@click.option("--crop-at", type=click.Choice(["centre", "corner"]), default="centre", show_default=True)
@click.option("--patience", type=click.IntRange(min=1), default=None,
              help="Stop after this many validations without a new best.")
@click.pass_context
def train(ctx: click.Context, **options: Any) -> None:
    """Train a restorer's network; keep the best weights by validation PSNR."""
    import torch

    from restore_core.components.interfaces import TrainableRestorer
    from restore_core.system.atomic_files import atomic_write_text
    from restore_core.train.loop import TrainConfig, cpu_has_native_bf16
    from restore_core.train.loop import train as run_training
    from restore_core.train.model_card import render_model_card
    from restore_core.train.weights import read_metadata

    recipe = options["recipe"]
    schedule: dict[str, Any] = {}
    if recipe is not None:
        from restore_core.train.recipes import load_recipe, merge_recipe

        options, schedule = merge_recipe(load_recipe(recipe), options, given=lambda key: (
            ctx.get_parameter_source(key) == click.core.ParameterSource.COMMANDLINE))
    for name in ("restorer", "degradation", "dataset", "out"):
        if options[name] is None:
            raise UsageError(f"train needs --{name} (or a --recipe that gives it)")
    restorer, degradation, dataset = options["restorer"], options["degradation"], options["dataset"]
    out, channels, val_count = Path(options["out"]), int(options["channels"]), options["val_count"]
    host = _host(ctx)
    model = host.registry("restorer").build(restorer)
    if not isinstance(model, TrainableRestorer):
        raise UsageError(f"restorer {restorer!r} has no network to train")
    deg = host.registry("degradation").build(degradation)
    data = _dataset(host, dataset).limit(options["limit"]).cropped(options["crop"], options["crop_at"])
    data = replace(data, mode="gray" if channels == 1 else "rgb")
    if len(data) < 2:
        raise UsageError(f"dataset {dataset!r} needs at least 2 images (training and validation)")
    k = max(2, len(data) // max(val_count, 1)) if val_count else 0
    val_idx = set(range(k // 2, len(data), k)[:val_count]) if k else set()

    def load(i: int) -> torch.Tensor:
        return (data.load(i)[0] * 255).round().to(torch.uint8)  # uint8 keeps large sets small in memory

    train_images = [load(i) for i in range(len(data)) if i not in val_idx]
    val_images = [load(i) for i in sorted(val_idx)] or train_images[:4]
    config = TrainConfig(**{k: options[k] for k in ("patch", "batch", "steps", "max_minutes", "val_every", "seed",
                                                    "bf16", "patience", "warmup")}, lr=float(options["lr"]), **schedule)
    init = Path(options["init"]) if options["init"] is not None else None
    if init is not None and not init.is_file():
        raise UsageError(f"initial weights {str(init)!r} do not exist")
    from restore_core.system.hardware import cpu_model

    command = "restore train " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["train"] else ""
    metadata = {"restorer": model.spec(), "degradation": deg.spec(), "dataset": dataset,
                "recipe": str(recipe) if recipe else None, "init": _shown_path(init),
                "earlier_stages": _earlier_stages(init),
                "train_images": len(train_images), "val_images": len(val_images),
                "command": command, "restore_version": restore_core.__version__,
                "torch": torch.__version__, "machine": f"{platform.machine()} {cpu_model()}",
                "threads": torch.get_num_threads(),
                "bf16": cpu_has_native_bf16() if config.bf16 is None else config.bf16}
    interactive = stderr.is_terminal
    last_log = [0.0]

    def on_progress(p: Any) -> None:
        if interactive:
            progress.update(task, completed=p.step, description=(
                f"loss {p.loss:.2e} val {p.val_psnr or p.best_psnr or 0:.2f} dB "
                f"{p.patches_per_second:.0f} patch/s"))
        elif p.val_psnr is not None or time.monotonic() - last_log[0] > 60:
            last_log[0] = time.monotonic()
            val = "" if p.val_psnr is None else f" val {p.val_psnr:.3f} dB (best {p.best_psnr:.3f})"
            click.echo(f"step {p.step}/{p.steps} {p.elapsed / 60:.1f} min loss {p.loss:.3e} "
                       f"lr {p.lr:.1e} {p.patches_per_second:.0f} patch/s{val}", err=True)

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=stderr, disable=not interactive) as progress:
        task = progress.add_task("training", total=config.steps)
        result = run_training(model, deg, train_images, val_images, channels, config, out,
                              metadata, options["checkpoint"], on_progress, init)
    summary = {"weights": str(out), "steps": result.steps, "best_val_psnr": round(result.best_psnr, 4),
               "best_step": result.best_step, "minutes": round(result.seconds / 60, 2),
               "patches_seen": result.patches_seen}
    history_path = out.with_suffix(".history.json")
    atomic_write_text(history_path, json.dumps({**summary, "metadata": metadata, "history": result.history},
                                               indent=1))
    card_meta = {**metadata, **read_metadata(out)} if out.is_file() else metadata
    atomic_write_text(out.with_suffix(".md"), render_model_card(summary, card_meta, result.history))
    click.echo(json.dumps(summary))


def _earlier_stages(init: Path | None) -> list[dict[str, Any]]:
    """The training stages behind the weights `init` (from its `.history.json`, when it has one), oldest
    first, so a card counts a model's whole training time however many runs it took."""
    if init is None:
        return []
    record = init.with_suffix(".history.json")
    if not record.is_file():
        return []
    try:
        earlier = json.loads(record.read_text())
        stage = {"weights": _shown_path(init), "minutes": float(earlier["minutes"]),
                 "steps": int(earlier["steps"]), "patches_seen": int(earlier["patches_seen"]),
                 "threads": earlier.get("metadata", {}).get("threads")}
        return [*earlier.get("metadata", {}).get("earlier_stages", []), stage]
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"the training record {str(record)!r} beside the initial weights is unreadable: "
                         f"{exc}; move it away to train without it") from exc


def _shown_path(path: Path | None) -> str | None:
    """`path` relative to the working folder when inside it, so records do not carry a home folder."""
    if path is None:
        return None
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------- entry


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `restore` console script."""
    cli.main(args=list(argv) if argv is not None else None)
