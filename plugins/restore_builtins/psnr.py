"""Peak signal-to-noise ratio on [0, 1] images (peak 1), averaged per image, float64."""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_core import DegradationInfo, Metric, hookimpl
from restore_core.components.metric_protocol import (
    Channel,
    Where,
    checked_mask_options,
    checked_options,
    psnr,
    resolve,
    scored_pixels,
    scoring_view,
)

if TYPE_CHECKING:
    import torch


class PSNR(Metric):
    """PSNR in dB; `channel` rgb|y|auto, `crop` border pixels (auto: task convention), `mask`/`where` a part."""

    name = "psnr"
    description = "peak signal-to-noise ratio in dB (auto: RGB for denoising, Y cropped for SR)"
    unit = "dB"

    def __init__(self, channel: Channel = "auto", crop: int | None = None, mask: str | None = None,
                 where: Where = "inside") -> None:
        self.channel, self.crop = checked_options(channel, crop)
        self.mask, self.where = checked_mask_options(mask, where)

    def measure(
        self, restored: torch.Tensor, target: torch.Tensor, info: DegradationInfo
    ) -> torch.Tensor:
        """Return 10*log10(1/MSE) per image (the MSE over the mask's pixels when there is one)."""
        channel, crop = resolve(self.channel, self.crop, info)
        a, b = scoring_view(restored, target, channel, crop)
        pixels = None if self.mask is None else scored_pixels(self.mask, self.where, *target.shape[-2:], crop)
        return psnr(a, b, pixels)


@hookimpl
def register_metrics(register) -> None:
    """Register `psnr`."""
    register(PSNR)
