"""Restoring images from Python: one image (`restore_image`) or files and folders (`restore_files`,
which `restore run` calls).

Invariants:

- Components are built from spec strings only through `restore_core.plugins.specs`, so a restorer
  here runs exactly as it does in `restore bench` (same backend choice, same tiling).
- Tensors are float32 (N, C, H, W); files are read and written only through `restore_core.imaging.io`.
  A degraded input may leave [0, 1]; what a restorer returns is in [0, 1].
- `restore_files` plans every output before it writes one: no output replaces another output or an
  input, and each PNG is written atomically, so a failure leaves only complete files behind.
- With a degradation, each image's noise comes from `image_generator(seed, stem, spec)`: the same
  noise `restore bench` uses on that image, whatever the order or the other inputs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from restore_core.components.interfaces import DENOISING, SUPER_RESOLUTION, DegradationInfo, Restorer
from restore_core.errors import UsageError

if TYPE_CHECKING:  # torch loads when an image is restored, not when this module is imported
    import torch

    from restore_core.components.interfaces import Degradation
    from restore_core.plugins.host import PluginHost

def build_restorer(spec: str, *, backend: str = "auto", tile: int | str | None = "auto",
                   host: PluginHost | None = None) -> Restorer:
    """Build one restorer from its spec, on one backend (`auto`: the fastest available), tiled by `tile`."""
    from restore_core.plugins.host import default_host
    from restore_core.plugins.specs import build_backends, build_restorers, parse_tile, split_specs

    host = host if host is not None else default_host()
    if len(split_specs([spec])) != 1:
        raise UsageError(f"restoring takes one restorer, not {spec!r}; compare restorers with `restore bench`")
    chosen = build_backends(host, [backend])
    if len(chosen) > 1:
        raise UsageError(f"restoring takes one backend, not {len(chosen)} ({', '.join(n for n, _ in chosen)}); "
                         "compare backends with `restore bench --backend`")
    return build_restorers(host, [spec], chosen, parse_tile(str(0 if tile is None else tile)))[0].component


def degradation_info(*, sigma: float | None = None, scale: int | None = None) -> DegradationInfo:
    """What a restorer may know about real degraded inputs: super-resolution by `scale`, else noise `sigma`."""
    if scale is not None:
        return DegradationInfo(SUPER_RESOLUTION, scale=scale)
    return DegradationInfo(DENOISING, sigma=sigma)


def restore_image(restorer: str | Restorer, image: torch.Tensor | str | os.PathLike[str], *,
                  sigma: float | None = None, scale: int | None = None, info: DegradationInfo | None = None,
                  backend: str = "auto", tile: int | str | None = "auto",
                  host: PluginHost | None = None) -> torch.Tensor:
    """Restore a float32 (N, C, H, W) image (or an image file) with a restorer spec or a built restorer.

    `info` says how the image was degraded; without it, `scale` means super-resolution by that
    factor and otherwise the image is noisy with standard deviation `sigma` (0-255; None: unknown).
    `backend` and `tile` apply to a spec; a built restorer runs as it was configured.
    """
    if info is not None and (sigma is not None or scale is not None):
        raise UsageError("give either a DegradationInfo or sigma/scale, not both")
    if isinstance(restorer, Restorer):
        model, label = restorer, restorer.spec()
    elif isinstance(restorer, str):
        model, label = build_restorer(restorer, backend=backend, tile=tile, host=host), restorer
    else:
        raise UsageError(f"a restorer is a spec string or a Restorer, not {type(restorer).__name__}")
    if isinstance(image, (str, os.PathLike)):
        from restore_core.imaging.io import read_image

        tensor, name = read_image(image), Path(image).name
    else:
        tensor, name = _checked_tensor(image), "this image"
    return _restore(model, label, tensor, info or degradation_info(sigma=sigma, scale=scale), name)


def plan_outputs(inputs: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str]) -> list[tuple[Path, Path]]:
    """Pair each input file (folders give their images) with the PNG it is restored to; write nothing.

    One input and an output ending in `.png` write that file; otherwise `output` is a folder and
    each image becomes `output/STEM.png`. Outputs that would replace each other or an input are refused.
    """
    from restore_core.imaging.io import IMAGE_SUFFIXES, list_images

    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = list_images(path)
            if not found:
                raise UsageError(f"no images (PNG, JPEG, BMP, TIFF) in folder {str(item)!r}")
            files.extend(found)
        else:
            files.append(path)
    if not files:
        raise UsageError("no input images given")
    out = Path(output)
    suffix = out.suffix.lower()
    if suffix in IMAGE_SUFFIXES and suffix != ".png":
        raise UsageError(f"restore writes PNG: name the output {out.with_suffix('.png').name!r}, not {out.name!r}")
    single = len(files) == 1 and suffix == ".png"
    if not single and suffix == ".png":
        raise UsageError(f"{len(files)} inputs need an output folder, not the file {str(out)!r}")
    plan = [(path, out if single else out / f"{path.stem}.png") for path in files]
    # checked before anything is written: one output must never silently replace another, or an input
    seen: dict[Path, Path] = {}
    resolved_inputs = {f.resolve() for f in files}
    for path, target in plan:
        if target in seen:
            raise UsageError(f"{seen[target]} and {path} would both be written to {target}; "
                             "restore them into separate folders")
        seen[target] = path
        if target.resolve() in resolved_inputs:
            raise UsageError(f"{target} is an input; write the output elsewhere")
    return plan


def restore_files(restorer: str | Restorer, inputs: Sequence[str | os.PathLike[str]],
                  output: str | os.PathLike[str], *, degradation: str | Degradation | None = None, seed: int = 0,
                  sigma: float | None = None, scale: int | None = None, backend: str = "auto",
                  tile: int | str | None = "auto", host: PluginHost | None = None,
                  on_written: Callable[[Path, Path], None] | None = None) -> list[tuple[Path, Path]]:
    """Restore image files and folders to PNGs (see `plan_outputs`); return the (input, output) pairs written.

    `degradation` (a spec or a built one) degrades each clean input first, seeded per image, for
    demonstrations; otherwise the inputs are real degraded images described by `sigma` or `scale`.
    `on_written(input, output)` is called after each file, for progress.
    """
    from restore_core.data.seeding import image_generator
    from restore_core.imaging.io import read_image, write_png
    from restore_core.plugins.host import default_host

    host = host if host is not None else default_host()
    if isinstance(restorer, Restorer):
        model, label = restorer, restorer.spec()
    else:
        model, label = build_restorer(restorer, backend=backend, tile=tile, host=host), restorer
    degrade = host.registry("degradation").build(degradation) if isinstance(degradation, str) else degradation
    plan = plan_outputs(inputs, output)
    written: list[tuple[Path, Path]] = []
    for path, target in plan:
        image = read_image(path)
        if degrade is not None:
            degraded = degrade.degrade(image, [image_generator(seed, path.stem, degrade.spec())])
            image, info = degraded.image, degraded.info
        else:
            info = degradation_info(sigma=sigma, scale=scale)
        write_png(target, _restore(model, label, image, info, path.name))
        written.append((path, target))
        if on_written is not None:
            on_written(path, target)
    return written


def _restore(model: Restorer, label: str, image: torch.Tensor, info: DegradationInfo, name: str) -> torch.Tensor:
    reason = model.supports(info, image.shape[1])
    if reason:
        # a usage error, as on the command line: the caller chose a restorer for the wrong task
        raise UsageError(f"{label} cannot restore {name}: {reason}")
    return model.restore(image, info)


def _checked_tensor(image: object) -> torch.Tensor:
    import torch

    if not isinstance(image, torch.Tensor):
        raise UsageError(f"an image is a tensor or a file path, not {type(image).__name__}")
    if image.ndim != 4 or image.dtype != torch.float32:
        raise UsageError(f"an image tensor is float32 (N, C, H, W) in [0, 1], not {str(image.dtype)[6:]} "
                         f"{tuple(image.shape)}; restore_core.imaging.io.to_tensor converts an array")
    return image
