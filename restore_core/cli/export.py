"""`restore export`: write a network restorer's trained network as ONNX (`components.onnx_export`)."""

from __future__ import annotations

from pathlib import Path

import click

from restore_core.cli.context import host_of


@click.command()
@click.argument("restorer")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The .onnx file to write.")
@click.option("--channels", type=click.Choice(["1", "3"]), default="3", show_default=True,
              help="Image channels the weights are for: 1 (gray) or 3 (colour); SRCNN always runs on Y.")
@click.option("--sigma", type=float, default=None, help="Noise sigma (0-255) of a non-blind denoiser's weights.")
@click.option("--scale", type=int, default=None, help="Up-sampling factor of super-resolution weights.")
@click.option("--image", "image_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Real image to check the export on (default: the first scikit-image photograph).")
@click.pass_context
def export(ctx: click.Context, restorer: str, output: Path, channels: str, sigma: float | None,
           scale: int | None, image_path: Path | None) -> None:
    """Export a network restorer to ONNX (dynamic height and width, BatchNorm folded), checked against eager.

    The configuration is a spec, e.g. `restore export dncnn:layers=17 --channels 1 --sigma 25 -o m.onnx`.
    With onnxruntime installed the file is checked against eager PyTorch on a random input and
    on a real image, and the largest difference is printed; a difference beyond 1e-4 writes nothing.
    """
    from restore_core.components.network_restorer import NetworkRestorer
    from restore_core.components.onnx_export import export_restorer
    from restore_core.errors import UsageError
    from restore_core.restoring import degradation_info

    host = host_of(ctx)
    model = host.registry("restorer").build(restorer)
    if not isinstance(model, NetworkRestorer):
        networks = [r.name for r in host.registry("restorer")
                    if isinstance(host.registry("restorer").build(r.name), NetworkRestorer)]
        raise UsageError(f"{restorer} has no network to export; restore export takes a network restorer "
                         f"({', '.join(sorted(networks))})")
    info = degradation_info(sigma=sigma, scale=scale, restorer=model)
    reason = model.supports(info, int(channels))
    if reason:
        raise UsageError(f"cannot export {restorer}: {reason}")
    image, name = _check_image(host, image_path, int(channels))
    report = export_restorer(model, info, int(channels), output, image, name)
    click.echo(f"wrote {report.path} ({report.size_bytes / 2**20:.1f} MiB): ONNX opset {report.opset}, input "
               f"(batch, {report.channels}, height, width) with batch, height and width dynamic, "
               f"{report.batchnorms_left} BatchNorm left")
    if report.checked_with is None:
        click.echo("not checked against eager: onnxruntime is not installed; pip install 'restore-framework[onnx]'")
    else:
        click.echo(f"max |{report.checked_with} - eager|: {report.random_difference:.1e} on a random 96x80 input, "
                   f"{report.image_difference:.1e} on {report.image}")


def _check_image(host, path: Path | None, channels: int):
    """The real image the export is checked on, and its name."""
    from restore_core.imaging.io import read_image

    if path is not None:
        return read_image(path, "gray" if channels == 1 else "rgb"), path.name
    dataset = host.registry("dataset").build("skimage-gray" if channels == 1 else "skimage").limit(1).cropped(256)
    name, image = next(iter(dataset))
    return image, f"{name} (scikit-image, 256x256 centre crop)"
