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
- With a mask or a region, only its bounding box (plus the restorer's receptive margin) is
  restored and faded in (`restore_core.imaging.regions`); every pixel outside the mask and its
  feather is the input's, and an 8- or 16-bit input file is written back at its own depth so those
  pixels are the same in the file too. Masks and regions are checked against every input first.
- `sigma="auto"` estimates each image's noise level (`restore_core.imaging.noise_level`), reports it
  through `on_estimated`, and asks a restorer with a `sigma` option to estimate too (`sigma=auto`).
- A restorer that removes JPEG artifacts and does not denoise is told a real input is JPEG-compressed,
  at the quality read from the file's quantisation tables when it is a JPEG file
  (`restore_core.imaging.jpeg_quality`); a PNG (or a tensor) leaves the quality to its options.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from restore_core.components.interfaces import DEBLOCKING, DENOISING, SUPER_RESOLUTION, DegradationInfo, Restorer
from restore_core.errors import UsageError
from restore_core.imaging.regions import DEFAULT_FEATHER

if TYPE_CHECKING:  # torch loads when an image is restored, not when this module is imported
    import numpy as np
    import torch

    from restore_core.components.interfaces import Degradation
    from restore_core.plugins.host import PluginHost

    Region = tuple[int, int, int, int] | str  # X,Y,W,H in pixels
    MaskLike = torch.Tensor | np.ndarray | str | os.PathLike[str]  # white (true, > 0.5) = restore

#: pixels of context around a region for a restorer that declares no `receptive_radius`
DEFAULT_CONTEXT = 32
#: what `restore run photo.jpg -o out.png` restores with when no restorer is named: the real-noise
#: model (`dncnn-real`), because a person holding a photo most often wants its camera noise removed
DEFAULT_RESTORER = "real"
#: the largest output restored unless `max_pixels` (`--max-pixels`) raises it: 8192 x 8192, 64 Mi
#: pixels, whose float32 RGB output alone takes 768 MiB
MAX_PIXELS = 8192 * 8192


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


def split_restorer(arguments: Sequence[str], host: PluginHost | None = None) -> tuple[str, list[str]]:
    """Split `[RESTORER] INPUT...` into the restorer spec and the inputs (no restorer named: DEFAULT_RESTORER).

    The first argument is the restorer unless it is not a registered name and is an image or folder
    (it exists, has an image suffix or a path separator), so `restore run photo.jpg -o out.png` and
    `restore run dncnn photo.jpg -o out.png` both work, and a mistyped restorer still gets its
    close-match suggestions.
    """
    from restore_core.imaging.io import IMAGE_SUFFIXES
    from restore_core.plugins.host import default_host

    if not arguments:
        raise UsageError(f"nothing to restore: give [RESTORER] INPUT... (no restorer: {DEFAULT_RESTORER})")
    first, rest = arguments[0], list(arguments[1:])
    registry = (host if host is not None else default_host()).registry("restorer")
    named = registry.lookup(first.split(":", 1)[0].strip()) is not None
    path = Path(first)
    if not named and (path.exists() or path.suffix.lower() in IMAGE_SUFFIXES or os.sep in first or "/" in first):
        return DEFAULT_RESTORER, list(arguments)
    if not rest:
        raise UsageError(f"no images to restore after the restorer {first!r}: give {first} INPUT... "
                         f"(or only INPUT..., which restores with {DEFAULT_RESTORER})")
    return first, rest


def degradation_info(*, sigma: float | None = None, scale: int | None = None, restorer: Restorer | None = None,
                     path: str | os.PathLike[str] | None = None) -> DegradationInfo:
    """What a restorer may know about real degraded inputs: super-resolution by `scale`, else noise `sigma`.

    A restorer that removes JPEG artifacts and does not denoise is told the input is JPEG-compressed,
    at the quality read from the file at `path` when that is a JPEG (`restore_core.imaging.jpeg_quality`).
    """
    if scale is not None:
        return DegradationInfo(SUPER_RESOLUTION, scale=scale)
    if _deblocks_only(restorer, sigma):
        from restore_core.imaging.jpeg_quality import jpeg_quality

        quality = jpeg_quality(path) if path is not None else None
        return DegradationInfo(DEBLOCKING, params={} if quality is None else {"quality": quality})
    return DegradationInfo(DENOISING, sigma=sigma)


def _deblocks_only(restorer: Restorer | None, sigma: object = None) -> bool:
    """Whether `restorer` removes JPEG artifacts and does not denoise; such a one refuses a noise `sigma`."""
    tasks = getattr(restorer, "tasks", frozenset())
    if restorer is None or DEBLOCKING not in tasks or DENOISING in tasks:
        return False
    if sigma is not None:
        raise UsageError(f"{restorer.spec()} removes JPEG artifacts: it is told the JPEG quality (read from a "
                         "JPEG file, or its quality=N option), not a noise sigma")
    return True


def restore_image(restorer: str | Restorer, image: torch.Tensor | str | os.PathLike[str], *,
                  sigma: float | str | None = None, scale: int | None = None, info: DegradationInfo | None = None,
                  mask: MaskLike | None = None, region: Region | None = None, feather: int = DEFAULT_FEATHER,
                  backend: str = "auto", tile: int | str | None = "auto",
                  host: PluginHost | None = None, max_pixels: int | None = MAX_PIXELS,
                  strength: float = 1.0) -> torch.Tensor:
    """Restore a float32 (N, C, H, W) image (or an image file) with a restorer spec or a built restorer.

    `info` says how the image was degraded; without it, `scale` means super-resolution by that
    factor and otherwise the image is noisy with standard deviation `sigma` (0-255; None: unknown;
    "auto": estimated per image). `mask` (an (H, W) tensor or array, or a mask file; white = restore)
    or `region` (X,Y,W,H) restores only that part, faded in over `feather` pixels; the rest is the
    input unchanged. `backend` and `tile` apply to a spec; a built restorer runs as it was configured.
    An image whose output would exceed `max_pixels` (None: no limit) is refused before it is read.
    `strength` scales what the restorer removes (`restore_core.imaging.strength`; 1: its output).
    """
    strength = _checked_strength(strength, scale)
    if info is not None and (sigma is not None or scale is not None):
        raise UsageError("give either a DegradationInfo or sigma/scale, not both")
    auto = _auto_sigma(sigma, scale)
    _check_scale(scale)
    factor = info.scale if info is not None else scale or 1
    if isinstance(image, (str, os.PathLike)):
        from restore_core.imaging.io import read_image

        _check_pixels(Path(image), factor, max_pixels)
        tensor, name = read_image(image), Path(image).name
    else:
        tensor, name = _checked_tensor(image), "this image"
        _refuse_pixels(name, tensor.shape[-1], tensor.shape[-2], factor, max_pixels)
    # masks and regions are checked before a restorer is built or an image restored
    keep = _region_of(mask, region, tensor.shape[-2], tensor.shape[-1], feather)
    if keep is not None and (scale is not None or (info is not None and info.scale != 1)):
        raise UsageError("a mask or region restores part of an image in place; super-resolution changes its size")
    if isinstance(restorer, Restorer):
        model, label = restorer, restorer.spec()
    elif isinstance(restorer, str):
        spec = _auto_sigma_spec(restorer, host) if auto else restorer
        model, label = build_restorer(spec, backend=backend, tile=tile, host=host), spec
    else:
        raise UsageError(f"a restorer is a spec string or a Restorer, not {type(restorer).__name__}")
    _deblocks_only(model, sigma)  # before any image is restored: --sigma (auto too) means noise
    if not auto:
        path = image if isinstance(image, (str, os.PathLike)) else None
        return _restore(model, label, tensor, info or degradation_info(sigma=sigma, scale=scale, restorer=model,
                                                                       path=path), name, keep, feather, strength)
    import torch

    from restore_core.imaging.noise_level import estimate_noise_sigma

    return torch.cat([_restore(model, label, one, degradation_info(sigma=estimate), name, keep, feather, strength)
                      for one, estimate in zip(tensor.split(1), estimate_noise_sigma(tensor), strict=True)])


def plan_outputs(inputs: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str]) -> list[tuple[Path, Path]]:
    """Pair each input file (folders give their images) with the PNG it is restored to; write nothing.

    One input and an output ending in `.png` write that file; otherwise `output` is a folder and
    each image becomes `output/STEM.png`. Outputs that would replace each other or an input are refused.
    """
    from restore_core.imaging.io import IMAGE_KINDS, IMAGE_SUFFIXES, list_images

    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = list_images(path)
            if not found:
                raise UsageError(f"no images ({IMAGE_KINDS}) in folder {str(item)!r}")
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
    folder = out.parent if single else out
    blocked = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocked is not None:
        raise UsageError(f"cannot write {out}: {blocked} is not a folder")
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


def inference_description(restorer: Restorer) -> str:
    """What a restorer runs with: its backend, precision and memory format, or that it runs without one."""
    describe = getattr(restorer, "inference_description", None)
    return describe() if callable(describe) else "no inference backend (not a network)"


def restore_files(restorer: str | Restorer, inputs: Sequence[str | os.PathLike[str]],
                  output: str | os.PathLike[str], *, degradation: str | Degradation | None = None, seed: int = 0,
                  sigma: float | str | None = None, scale: int | None = None,
                  mask: str | os.PathLike[str] | None = None, region: Region | None = None,
                  feather: int = DEFAULT_FEATHER, backend: str = "auto",
                  tile: int | str | None = "auto", host: PluginHost | None = None,
                  on_written: Callable[[Path, Path], None] | None = None,
                  on_estimated: Callable[[Path, float], None] | None = None,
                  max_pixels: int | None = MAX_PIXELS,
                  on_tile: Callable[[Path, int, int], None] | None = None,
                  bit_depth: int | None = None,
                  on_ready: Callable[[str], None] | None = None,
                  strength: float = 1.0) -> list[tuple[Path, Path]]:
    """Restore image files and folders to PNGs (see `plan_outputs`); return the (input, output) pairs written.

    `on_ready(text)` hears what a network restorer runs with (`inference_description`), once its first
    image is restored.

    `degradation` (a spec or a built one) degrades each clean input first, seeded per image, for
    demonstrations; otherwise the inputs are real degraded images described by `sigma` ("auto":
    estimated per image, reported to `on_estimated(input, sigma)`) or `scale`. `mask` (a mask file,
    white = restore, the size of every input) or `region` (X,Y,W,H) restores only that part, faded in
    over `feather` pixels. `on_written(input, output)` is called after each file, for progress, and
    `on_tile(input, done, total)` after each tile of a tiled restorer. An input whose output would
    exceed `max_pixels` (None: no limit) is refused, from its header, before anything is restored.
    Each PNG has `bit_depth` bits (8 or 16); None follows each input (16 for 16-bit and float files).
    `sigma` and `scale` describe real degraded inputs, so with `degradation` (which says how it
    degrades) either one is refused rather than silently ignored; `sigma="auto"` is the exception,
    estimating from each degraded image (a demonstration of the estimate against a known level).
    `strength` scales what the restorer removes from each image (`restore_core.imaging.strength`).
    """
    from restore_core.data.seeding import image_generator
    from restore_core.imaging.io import read_image, stored_bits, write_png
    from restore_core.imaging.tiling import reporting_tiles
    from restore_core.plugins.host import default_host

    host = host if host is not None else default_host()
    strength = _checked_strength(strength, scale)
    auto = _auto_sigma(sigma, scale)
    _check_scale(scale)
    # --sigma auto with --degrade is allowed: it shows the estimate against a known noise level
    if degradation is not None and ((sigma is not None and not auto) or scale is not None):
        raise UsageError(f"--{'sigma' if sigma is not None else 'scale'} describes real degraded inputs; with "
                         "--degrade the degradation says how each image was degraded: give one or the other")
    if bit_depth not in (None, 8, 16):
        raise UsageError(f"bit depth must be 8 or 16, not {bit_depth!r}")
    plan = plan_outputs(inputs, output)
    for path, _ in plan:
        _check_pixels(path, 1 if degradation is not None or scale is None else scale, max_pixels)
    masks: dict[Path, torch.Tensor] = {}
    if mask is not None or region is not None:
        if scale is not None:
            raise UsageError("a mask or region restores part of an image in place; super-resolution changes its size")
        # every input is checked before anything is restored or written
        drawn = read_image(mask, mode="gray")[0, 0] if mask is not None else None
        for path, _ in plan:
            height, width = read_image(path).shape[-2:]
            masks[path] = _region_of(drawn, region, height, width, feather, name=str(mask) if mask is not None else "")
    if isinstance(restorer, Restorer):
        model, label = restorer, restorer.spec()
    else:
        spec = _auto_sigma_spec(restorer, host) if auto else restorer
        model, label = build_restorer(spec, backend=backend, tile=tile, host=host), spec
    _deblocks_only(model, sigma)  # before any image is restored: --sigma (auto too) means noise
    degrade = host.registry("degradation").build(degradation) if isinstance(degradation, str) else degradation
    written: list[tuple[Path, Path]] = []
    for path, target in plan:
        image = read_image(path)
        if degrade is not None:
            degraded = degrade.degrade(image, [image_generator(seed, path.stem, degrade.spec())])
            image, info = degraded.image, degraded.info
        else:
            info = degradation_info(sigma=None if auto else sigma, scale=scale,  # type: ignore[arg-type]
                                    restorer=model, path=path)
        if auto:
            from dataclasses import replace

            from restore_core.imaging.noise_level import estimate_noise_sigma

            estimate = estimate_noise_sigma(image)[0]
            info = replace(info, sigma=estimate)
            if on_estimated is not None:
                on_estimated(path, estimate)
        with reporting_tiles(None if on_tile is None else functools.partial(on_tile, path)):
            restored = _restore(model, label, image, info, path.name, masks.get(path), feather, strength)
        # a 16-bit input keeps its precision, and under a mask its untouched pixels stay bit-identical
        if on_ready is not None and not written and getattr(model, "backend", None) is not None:
            # said once the first image restored, so a refused input is still the only line printed
            on_ready(f"{label}: {inference_description(model)}")
        write_png(target, restored, bits=bit_depth or stored_bits(path))
        written.append((path, target))
        if on_written is not None:
            on_written(path, target)
    return written


def _check_scale(scale: object) -> None:
    """Refuse a super-resolution factor outside 1-16 (the range the built-in up-samplers take)."""
    if scale is not None and not (isinstance(scale, int) and not isinstance(scale, bool) and 1 <= scale <= 16):
        raise UsageError(f"scale must be a whole number from 1 to 16, not {scale!r}")


def _auto_sigma(sigma: object, scale: object = None) -> bool:
    """Whether `sigma` asks for estimation; refuse what is neither a level nor "auto", or comes with `scale`."""
    if sigma is not None and scale is not None:
        raise UsageError("sigma describes noisy inputs and scale low-resolution ones: give one, not both")
    if isinstance(sigma, str):
        if sigma.strip().lower() != "auto":
            raise UsageError(f"sigma is a noise level (0-255) or auto, not {sigma!r}")
        return True
    if sigma is not None and not (isinstance(sigma, int | float) and math.isfinite(sigma) and sigma >= 0):
        raise UsageError(f"sigma must be a finite number >= 0 (a noise level, 0-255) or auto, not {sigma!r}")
    return False


def _auto_sigma_spec(spec: str, host: PluginHost | None) -> str:
    """`spec` with `sigma=auto` added when the restorer takes a `sigma` option the spec leaves unset."""
    from restore_core.plugins.host import default_host
    from restore_core.plugins.registry import parameters

    registry = (host if host is not None else default_host()).registry("restorer")
    try:
        reg, params = registry.parse(spec)
    except Exception:  # building the spec reports what is wrong with it
        return spec
    if "sigma" in params or "sigma" not in parameters(reg.factory):
        return spec
    return f"{spec}{',' if ':' in spec else ':'}sigma=auto"


def _region_of(mask: MaskLike | None, region: Region | None, height: int, width: int, feather: int,
               name: str = "") -> torch.Tensor | None:
    """The bool (H, W) mask of what to restore, or None for the whole image; bad ones are UsageErrors."""
    from restore_core.imaging.regions import checked_mask, read_mask, region_mask

    if mask is not None and region is not None:
        raise UsageError("give a mask or a region, not both")
    if not isinstance(feather, int) or feather < 0:
        raise UsageError(f"feather is 0 or more pixels, not {feather!r}")
    if region is not None:
        return region_mask(region, height, width)
    if isinstance(mask, (str, os.PathLike)):
        return read_mask(mask, height, width)
    if mask is not None:
        return checked_mask(mask, height, width, name=f"mask {name}" if name else "the mask")
    return None


def _checked_strength(strength: object, scale: object) -> float:
    """`strength` as a float; a UsageError when it is out of range or comes with super-resolution."""
    from restore_core.imaging.strength import check_strength

    try:
        value = check_strength(strength)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if value != 1.0 and scale is not None:
        raise UsageError("strength blends an image with its restoration; super-resolution changes its size")
    return value


def _restore(model: Restorer, label: str, image: torch.Tensor, info: DegradationInfo, name: str,
             keep: torch.Tensor | None = None, feather: int = DEFAULT_FEATHER, strength: float = 1.0) -> torch.Tensor:
    reason = model.supports(info, image.shape[1])
    if reason:
        # a usage error, as on the command line: the caller chose a restorer for the wrong task
        raise UsageError(f"{label} cannot restore {name}: {reason}")
    if keep is None:
        return _strengthened(image, _finite(model.restore(image, info), label, name), strength, label, name)
    from restore_core.imaging.regions import blend, bounding_box, feather_weights

    if tuple(keep.shape) != tuple(image.shape[-2:]):
        raise UsageError(f"the mask is {keep.shape[1]}x{keep.shape[0]} but {name} is {image.shape[-1]}x"
                         f"{image.shape[-2]} when restored (a degradation that changes the size?)")
    # restore the box the blend weights cover, with the restorer's receptive margin of real context
    weights = feather_weights(keep, feather)
    box = bounding_box(weights > 0)
    crop = box.grow(context_margin(model, image.shape[1]), *image.shape[-2:])
    rows, cols = crop.slices()
    part = image[..., rows, cols].contiguous()
    restored = _finite(model.restore(part, info), label, name)
    if restored.shape[-2:] != (crop.bottom - crop.top, crop.right - crop.left):
        raise UsageError(f"{label} changes the image size, so it cannot restore part of {name} in place")
    restored = _strengthened(part, restored, strength, label, name)
    inner_rows, inner_cols = box.within(crop).slices()
    return blend(image, restored[..., inner_rows, inner_cols], weights, box)


def _strengthened(image: torch.Tensor, restored: torch.Tensor, strength: float, label: str,
                  name: str) -> torch.Tensor:
    """`restored` at `strength` (itself at 1); a UsageError when the restorer changed the size."""
    from restore_core.imaging.strength import with_strength

    try:
        return with_strength(image, restored, strength)
    except ValueError:  # the strength was checked up front: only a size change is left to refuse
        raise UsageError(f"{label} changes the size of {name}, so a strength other than 1 cannot blend it "
                         "with its input") from None


def _finite(restored: torch.Tensor, label: str, name: str) -> torch.Tensor:
    """`restored`, unless it holds NaN or infinity, which a PNG would show as black without a word."""
    from restore_core.components.network_restorer import all_finite
    from restore_core.errors import OutputError

    if not all_finite(restored):
        raise OutputError(f"{label} returned values that are not finite numbers (NaN or infinity) for {name}; "
                          "nothing written")
    return restored


def _check_pixels(path: Path, scale: int, max_pixels: int | None) -> None:
    """Refuse an input whose output would exceed `max_pixels`, reading only the image header."""
    from PIL import Image, UnidentifiedImageError

    if max_pixels is None:
        return
    try:
        with Image.open(path) as img:  # lazy: the size comes from the header, nothing is decoded
            width, height = img.size
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return  # reading the image reports what is wrong with it
    _refuse_pixels(str(path), width, height, scale, max_pixels)


def _refuse_pixels(name: str, width: int, height: int, scale: int, max_pixels: int | None) -> None:
    pixels = width * height * scale * scale
    if max_pixels is not None and pixels > max_pixels:
        raise UsageError(f"{name}: the output would be {width * scale}x{height * scale} = {pixels:,} pixels, "
                         f"above the limit of {max_pixels:,}; raise it with --max-pixels N (max_pixels= in Python)")


def context_margin(restorer: Restorer, channels: int) -> int:
    """Pixels of context a restorer needs around a region: its declared or computed receptive radius."""
    declared = getattr(restorer, "receptive_radius", None)
    if isinstance(declared, int) and declared >= 0:
        return declared
    from restore_core.components.network_restorer import NetworkRestorer

    if isinstance(restorer, NetworkRestorer):
        from restore_core.imaging.tiling import receptive_radius

        return receptive_radius(restorer.build_network(channels))  # the architecture's reach, untrained
    return DEFAULT_CONTEXT


def _checked_tensor(image: object) -> torch.Tensor:
    import torch

    if not isinstance(image, torch.Tensor):
        raise UsageError(f"an image is a tensor or a file path, not {type(image).__name__}")
    if image.ndim != 4 or image.dtype != torch.float32:
        raise UsageError(f"an image tensor is float32 (N, C, H, W) in [0, 1], not {str(image.dtype)[6:]} "
                         f"{tuple(image.shape)}; restore_core.imaging.io.to_tensor converts an array")
    return image
