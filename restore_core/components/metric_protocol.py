"""The metric protocol: which channel and border a score is computed on.

`auto` follows each task's published convention: denoising scores every channel with no border
crop; super-resolution scores BT.601 Y (as MATLAB's rgb2ycbcr) with `scale` pixels cropped.

Metric plugins import the options and checks from here when they register, so torch loads only
inside the functions that compute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from restore_core.components.interfaces import SUPER_RESOLUTION, DegradationInfo

if TYPE_CHECKING:
    import torch

Channel = Literal["auto", "rgb", "y"]


def checked_options(channel: str, crop: int | None) -> tuple[Channel, int | None]:
    """Return (channel, crop) if they name a scoring view, else raise ValueError saying what is allowed."""
    if channel not in ("auto", "rgb", "y"):
        raise ValueError(f"channel must be auto, rgb or y, got {channel!r}")
    if crop is not None and crop < 0:
        raise ValueError(f"crop must be non-negative, got {crop}")
    return channel, crop  # type: ignore[return-value]


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


def psnr(restored: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return PSNR in dB (peak 1) per image of two (N, C, H, W) batches, in float64."""
    import torch

    mse = ((restored.double() - target.double()) ** 2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(1.0 / mse)
