"""The metric protocol: which channel and border a score is computed on.

`auto` follows each task's published convention: denoising scores every channel with no border
crop; super-resolution scores BT.601 Y (as MATLAB's rgb2ycbcr) with `scale` pixels cropped.

`mask=FILE,where=inside|outside` scores only the pixels a mask image selects (white, as
`restore run --mask` reads it) or only the others: the mask has the target's size and is cropped
with it. A mask that selects nothing in the scored view is a ValueError, as a mismatched size is.

Metric plugins import the options and checks from here when they register, so torch loads only
inside the functions that compute.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from restore_core.components.interfaces import SUPER_RESOLUTION, DegradationInfo

if TYPE_CHECKING:
    import torch

Channel = Literal["auto", "rgb", "y"]
Where = Literal["inside", "outside"]


def checked_options(channel: str, crop: int | None) -> tuple[Channel, int | None]:
    """Return (channel, crop) if they name a scoring view, else raise ValueError saying what is allowed."""
    if channel not in ("auto", "rgb", "y"):
        raise ValueError(f"channel must be auto, rgb or y, got {channel!r}")
    if crop is not None and crop < 0:
        raise ValueError(f"crop must be non-negative, got {crop}")
    return channel, crop  # type: ignore[return-value]


def checked_mask_options(mask: str | None, where: str) -> tuple[str | None, Where]:
    """Return (mask, where) if the mask file exists and `where` is inside or outside, else raise ValueError."""
    if where not in ("inside", "outside"):
        raise ValueError(f"where must be inside or outside (of the mask), got {where!r}")
    if mask is None:
        if where != "inside":
            raise ValueError("where=outside needs a mask: give mask=FILE (white = inside)")
        return None, "inside"
    if not Path(mask).expanduser().is_file():
        raise ValueError(f"mask file {mask!r} does not exist")
    return mask, where  # type: ignore[return-value]


def scored_pixels(mask: str, where: Where, height: int, width: int, crop: int) -> torch.Tensor:
    """Return the bool (H - 2 crop, W - 2 crop) pixels to score: the mask's white ones (inside) or the others."""
    selected = _read_mask(str(Path(mask).expanduser()))
    if tuple(selected.shape) != (height, width):
        raise ValueError(f"mask {mask!r} is {selected.shape[1]}x{selected.shape[0]} but the image is {width}x{height}")
    chosen = selected if where == "inside" else ~selected
    if crop > 0:
        chosen = chosen[crop:-crop, crop:-crop]
    if not bool(chosen.any()):
        raise ValueError(f"mask {mask!r} leaves no pixel to score {where} it")
    return chosen


@lru_cache(maxsize=8)
def _read_mask(path: str) -> torch.Tensor:
    # read once per file, not per image scored; thresholded as `restore run --mask` thresholds
    from restore_core.imaging.io import read_image

    return read_image(path, mode="gray")[0, 0] > 0.5


def resolve(channel: Channel, crop: int | None, info: DegradationInfo) -> tuple[str, int]:
    """Return the concrete (channel, crop) for `info` under the `auto` conventions."""
    sr = info.task == SUPER_RESOLUTION
    concrete = ("y" if sr else "rgb") if channel == "auto" else channel
    border = (info.scale if sr else 0) if crop is None else crop
    return concrete, border


def scoring_view(
    restored: torch.Tensor, target: torch.Tensor, channel: str, crop: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return float64 (restored, target) on the chosen channel with `crop` pixels removed."""
    if restored.shape != target.shape:
        raise ValueError(f"restored {tuple(restored.shape)} and target {tuple(target.shape)} differ")
    a, b = restored.double(), target.double()
    if channel == "y":
        from restore_core.imaging.colour import luma

        a, b = luma(a), luma(b)
    if crop > 0:
        if min(a.shape[-2:]) <= 2 * crop:
            raise ValueError(f"image {a.shape[-1]}x{a.shape[-2]} is too small to crop {crop} pixels")
        a, b = a[..., crop:-crop, crop:-crop], b[..., crop:-crop, crop:-crop]
    return a, b


def psnr(restored: torch.Tensor, target: torch.Tensor, pixels: torch.Tensor | None = None) -> torch.Tensor:
    """Return PSNR in dB (peak 1) per image of two (N, C, H, W) batches, in float64, over `pixels` (H, W) if given."""
    import torch

    squared = (restored.double() - target.double()) ** 2
    mse = (squared[..., pixels] if pixels is not None else squared).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(1.0 / mse)
