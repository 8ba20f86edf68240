"""`restore bench`, `restore bench compare`, `restore bench report`: parse, call the bench API, render."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from restore_core.cli.context import host_of, progress_bar, stderr, wide_console
from restore_core.errors import CellsFailedError, UsageError

DEFAULT_DATASET = "skimage"  # restore_core.bench.plan.DEFAULT_DATASET, without importing the benchmark to --help


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
@click.option("--resume", is_flag=True,
              help="Continue the run in --out, skipping what it already holds (failed cells are retried).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run independent cells in N worker processes (scores identical; timings shared).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where cells run: this process (or --jobs workers), or Ray tasks (pip install "
                   "'restore-framework[ray]').")
@click.option("--address", default=None,
              help="With --executor ray: the cluster to join (auto, or ray://HOST:10001); default a local instance.")
@click.option("--shard", default=None, metavar="I/N",
              help="Measure only images I, I+N, I+2N, ... of each dataset (0 <= I < N); `bench merge` joins shards.")
@click.option("--fail-fast", is_flag=True,
              help="Stop at the first component that raises, instead of marking its cell failed and going on.")
@click.pass_context
def bench(ctx: click.Context, restorers: tuple[str, ...], degradations: tuple[str, ...],
          datasets: tuple[str, ...], metrics: tuple[str, ...], suite: Path | None, fmt: str, seed: int,
          limit: int | None, crop: int | None, crop_at: str, backends: tuple[str, ...], tile: str,
          out: Path | None, resume: bool, jobs: int, executor: str, address: str | None, shard: str | None,
          fail_fast: bool) -> None:
    """Score every restorer x degradation x dataset (x backend) combination; store and print it.

    A component that raises marks its cell failed (named with its plugin, the image and the error);
    the rest of the matrix runs and the exit code is 1. Subcommands: `restore bench compare RUN_A
    RUN_B`, `restore bench report RUN`.
    """
    if ctx.invoked_subcommand is not None:
        return
    from rich.text import Text

    from restore_core.bench import tables
    from restore_core.bench.plan import BenchPlan
    from restore_core.bench.runner import command_line, run_plan
    from restore_core.bench.store import default_run_dir, remove_if_empty
    from restore_core.plugins.specs import parse_tile
    from restore_core.system import settings

    def given(name: str, value: Any) -> Any:
        """The option's value when the command line gave it, else None (a suite's value then wins)."""
        return value if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE else None

    plan = BenchPlan.from_options(suite, restorers=restorers, degradations=degradations,
                                  datasets=given("datasets", datasets), metrics=given("metrics", metrics),
                                  backends=given("backends", backends), seed=given("seed", seed), limit=limit,
                                  crop=crop, crop_at=crop_at, tile=parse_tile(tile), shard=_shard(shard))
    if address is not None and executor != "ray":
        raise UsageError("--address names a Ray cluster: give it with --executor ray")
    if resume and out is None:
        raise UsageError("--resume needs --out DIR naming the run to continue")
    run_dir = out if out is not None else default_run_dir(settings.runs_root())
    fresh = not run_dir.exists()
    try:
        with progress_bar(fmt == "table") as progress:
            task = progress.add_task("bench", total=None)
            result = run_plan(plan, run_dir, lambda p: progress.update(task, completed=p.completed, total=p.total,
                                                                       description=p.description),
                              host=host_of(ctx), resume=resume, jobs=jobs, fail_fast=fail_fast,
                              command=command_line(), executor=executor, address=address)
    except BaseException:
        if fresh:  # a run that failed before measuring anything leaves no empty run folder behind
            remove_if_empty(run_dir)
        raise
    render_result(result, fmt)
    if result.inference:  # on standard error: it says what this machine chose, not what the run measured
        stderr.print(Text(tables.inference_text(result.inference), style="dim"))
    stderr.print(f"[dim]results stored in {run_dir}[/]")
    if result.failed:
        first = result.failed[0]
        raise CellsFailedError(f"{len(result.failed)} cell{'s' if len(result.failed) > 1 else ''} failed "
                               f"(first: {first.failed}); the rest are stored in {run_dir}, and "
                               "--resume retries the failed ones")


def _shard(value: str | None) -> tuple[int, int] | None:
    """Parse --shard I/N."""
    if value is None:
        return None
    i, slash, n = value.partition("/")
    try:
        if not slash:
            raise ValueError
        return int(i), int(n)
    except ValueError:
        raise UsageError(f"--shard is I/N (e.g. 0/4), not {value!r}") from None


def render_result(result: Any, fmt: str) -> None:
    """Print a BenchResult as a table (with notes, protocol and column text), JSON or CSV."""
    from rich.measure import Measurement
    from rich.text import Text

    from restore_core.bench import tables

    rows = result.rows(rounded=fmt != "table")
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if fmt == "csv":
        click.echo(tables.csv_text(rows), nl=False)
        return
    console = wide_console()
    # the roomiest layout that fits: in a narrow (80-column) terminal the rules go and the columns close
    # up, then the input columns go, before rich would cut a number short
    for inputs, gap in ((True, None), (True, 1), (True, 0), (False, 1), (False, 0)):
        table = tables.rich_table(tables.summary_table(rows, result.metrics, result.metric_directions,
                                                       inputs=inputs), "restore bench", gap)
        if Measurement.get(console, console.options.update_width(10_000), table).maximum <= console.width:
            break
    console.print(table)
    if not inputs:
        console.print("[dim]input scores left out to fit the terminal: input = value - gain "
                      "(--format json or csv has every column)[/]")
    for note in tables.notes(result.cells):
        console.print(Text(note))

    console.print(Text(tables.protocol_text(result.plan.seed), style="dim"))
    console.print(Text(tables.columns_text(result.metric_directions), style="dim"))


@bench.command("compare")
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def bench_compare(run_a: Path, run_b: Path, fmt: str) -> None:
    """Print the per-cell differences between two runs: each metric in A, in B, and B's gain over A."""
    from rich.text import Text

    from restore_core.bench import tables
    from restore_core.bench.compare import compare, compare_rows, compare_table

    comparison = compare(run_a, run_b)
    if fmt == "json":
        click.echo(json.dumps(compare_rows(comparison), indent=2))
        return
    table, notes = compare_table(comparison)
    console = wide_console()
    console.print(tables.rich_table(table, f"A: {run_a}  B: {run_b}"))
    for note in notes:
        console.print(Text(note))
    console.print(Text(tables.compare_note(comparison.directions), style="dim"))


@bench.command("merge")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path), help="The merged run directory (new).")
def bench_merge(runs: tuple[Path, ...], out: Path) -> None:
    """Merge runs of one plan made apart (shards, other machines) into one run directory."""
    from restore_core.bench.merge import merge_runs

    merged = merge_runs(list(runs), out)
    click.echo(f"merged {len(runs)} runs ({merged} records) into {out}")


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
