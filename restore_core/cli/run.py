"""`restore run`: restore image files or folders and write PNGs (`restore_core.restoring.restore_files`)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.progress import TaskID

from restore_core.cli.context import host_of, progress_bar, stderr
from restore_core.errors import UsageError


@click.command()
@click.argument("arguments", nargs=-1, required=True, metavar="[RESTORER] INPUTS...")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="Output PNG (one input image) or folder.")
@click.option("--degrade", "degrade_spec", default=None,
              help="Degrade each clean input first with this spec (for demos).")
@click.option("--sigma", default=None,
              help="Noise sigma (0-255) of real noisy inputs, or auto to estimate it per image.")
@click.option("--scale", type=int, default=None, help="Up-sampling factor for super-resolution.")
@click.option("--seed", default=0, show_default=True, help="Seed for --degrade.")
@click.option("--mask", default=None, help="Restore only where this mask image is white (same size as the input).")
@click.option("--region", default=None, help="Restore only this rectangle, X,Y,W,H in pixels.")
@click.option("--feather", default=8, show_default=True,
              help="Pixels over which a --mask or --region fades into the untouched image.")
@click.option("-b", "--backend", default="auto", show_default=True, help="Inference backend for network restorers.")
@click.option("--tile", default="auto", show_default=True,
              help="Tile size in pixels for large images, 0 for none, auto from available memory.")
@click.option("--max-pixels", type=click.IntRange(min=1), default=None,
              help="Refuse an image whose output has more pixels than this  [default: 67108864, 8192x8192]")
@click.option("--strength", type=float, default=1.0, show_default=True,
              help="How much of what the restorer removes to take away: 0 keeps the input, 1 is the restorer's "
                   "output, up to 2 smooths more.")
@click.option("--bit-depth", type=click.Choice(["8", "16"]), default=None,
              help="Bits per sample of the PNGs written  [default: the input's: 16 for 16-bit and float files, else 8]")
@click.pass_context
def run(ctx: click.Context, arguments: tuple[str, ...], output: Path,
        degrade_spec: str | None, sigma: str | None, scale: int | None, seed: int, mask: str | None,
        region: str | None, feather: int, backend: str, tile: str, max_pixels: int | None,
        strength: float, bit_depth: str | None) -> None:
    """Restore images (files or folders) and write PNGs.

    With no RESTORER named (`restore run photo.jpg -o out.png`), the real-noise model `real` removes
    camera noise.
    """
    from restore_core.restoring import MAX_PIXELS, restore_files, split_restorer

    restorer, inputs = split_restorer(arguments, host_of(ctx))
    with progress_bar(True) as progress:  # tiles of a large image, in a terminal only
        tasks: dict[Path, TaskID] = {}

        def on_tile(path: Path, done: int, total: int) -> None:
            if path not in tasks:
                tasks[path] = progress.add_task(f"{path.name} tiles", total=total)
            progress.update(tasks[path], completed=done)

        restore_files(restorer, inputs, output, degradation=degrade_spec, seed=seed, sigma=_sigma(sigma),
                      scale=scale, mask=mask, region=region, feather=feather, backend=backend, tile=tile,
                      host=host_of(ctx), max_pixels=max_pixels or MAX_PIXELS, on_tile=on_tile,
                      bit_depth=int(bit_depth) if bit_depth else None, strength=strength,
                      on_written=lambda path, target: stderr.print(f"{path} -> {target}"),
                      on_ready=lambda text: stderr.print(f"[dim]{escape(text)}[/]"),
                      on_estimated=lambda path, value: stderr.print(f"estimated sigma {value:.1f} for {path.name}"))


def _sigma(value: str | None) -> float | str | None:
    """--sigma: a level (0-255) or auto."""
    if value is None or value.strip().lower() == "auto":
        return value
    try:
        return float(value)
    except ValueError:
        raise UsageError(f"--sigma is a noise level (0-255) or auto, not {value!r}") from None
