"""Structural similarity through scikit-image (its defaults: 7x7 uniform window, data range 1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_core import DegradationInfo, Metric, hookimpl
from restore_core.components.metric_protocol import Channel, checked_options, resolve, scoring_view

if TYPE_CHECKING:
    import torch


class SSIM(Metric):
    """SSIM from scikit-image per image; `channel` and `crop` as for psnr."""

    name = "ssim"
    description = "structural similarity (scikit-image, data_range=1; auto channel as psnr)"

    def __init__(self, channel: Channel = "auto", crop: int | None = None) -> None:
        self.channel, self.crop = checked_options(channel, crop)

    def measure(
        self, restored: torch.Tensor, target: torch.Tensor, info: DegradationInfo
    ) -> torch.Tensor:
        """Return the mean SSIM of each image (colour: averaged over channels)."""
        import torch
        from skimage.metrics import structural_similarity

        channel, crop = resolve(self.channel, self.crop, info)
        a, b = scoring_view(restored, target, channel, crop)
        scores = []
        for x, y in zip(a.cpu().numpy(), b.cpu().numpy(), strict=True):
            if min(x.shape[-2:]) < 7:
                raise ValueError(f"ssim needs images of at least 7x7, got {x.shape[-1]}x{x.shape[-2]}")
            if x.shape[0] == 1:
                scores.append(structural_similarity(x[0], y[0], data_range=1.0))
            else:
                scores.append(structural_similarity(x, y, data_range=1.0, channel_axis=0))
        return torch.tensor(scores, dtype=torch.float64)


@hookimpl
def register_metrics(register) -> None:
    """Register `ssim`."""
    register(SSIM)
