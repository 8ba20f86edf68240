"""`restore run`: restore image files or folders and write PNGs."""

from __future__ import annotations

from pathlib import Path

import click

from restore_core.cli.context import host_of, stderr
from restore_core.errors import UsageError
from restore_core.plugins.specs import (
    build_backends,
    build_restorers,
    parse_tile,
)


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
    from restore_core.components.interfaces import DENOISING, SUPER_RESOLUTION, DegradationInfo
    from restore_core.data.seeding import image_generator
    from restore_core.imaging.io import IMAGE_SUFFIXES, list_images, read_image, write_png

    host = host_of(ctx)
    chosen = build_backends(host, [backend])
    if len(chosen) > 1:
        raise UsageError(f"restore run takes one backend, not {len(chosen)} ({', '.join(n for n, _ in chosen)}); "
                         "compare backends with restore bench --backend")
    model = build_restorers(host, [restorer], chosen, parse_tile(tile))[0].component
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

