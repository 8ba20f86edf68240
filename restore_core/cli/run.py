"""`restore run`: restore image files or folders and write PNGs (`restore_core.restoring.restore_files`)."""

from __future__ import annotations

from pathlib import Path

import click

from restore_core.cli.context import host_of, stderr


@click.command()
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
    from restore_core.restoring import restore_files

    restore_files(restorer, inputs, output, degradation=degrade_spec, seed=seed, sigma=sigma, scale=scale,
                  backend=backend, tile=tile, host=host_of(ctx),
                  on_written=lambda path, target: stderr.print(f"{path} -> {target}"))
