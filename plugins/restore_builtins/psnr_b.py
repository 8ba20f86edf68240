"""PSNR-B (Yim & Bovik, 2011): PSNR with the blocking-effect factor, as JPEG artifact-removal papers
report it next to PSNR and SSIM.

For the restored image y on an 8x8 block grid (B = 8) anchored at the top-left of the image before
any border crop (JPEG's grid):

- D_B: the mean squared difference of horizontally and vertically adjacent pixel pairs that
  straddle a block boundary; D_Bc: the same over all the other adjacent pairs.
- BEF = eta * (D_B - D_Bc) when D_B > D_Bc, else 0, with eta = log2(B) / log2(min(H, W)).
- PSNR-B = 10 log10(1 / (MSE(x, y) + BEF)) for peak 1.

Colour images pool the channels, as `psnr` does: the MSE and both differences are means over every
channel (KAIR's `calculate_psnrb` instead averages per-channel PSNR-B values; the two agree on gray
images, where the published JPEG figures are). Pairs are counted as they are, so a side that is not
a multiple of 8 is handled (the paper's N/B - 1 boundary count assumes one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_core import DegradationInfo, Metric, hookimpl
from restore_core.components.metric_protocol import Channel, checked_options, resolve, scoring_view

if TYPE_CHECKING:
    import torch

#: JPEG's block side
BLOCK = 8


def blocking_effect_factor(images: torch.Tensor, block: int = BLOCK, offset: int = 0) -> torch.Tensor:
    """Return the BEF of each float64 (N, C, H, W) image, its block grid starting `offset` pixels before it."""
    import math

    import torch

    _, _, h, w = images.shape
    if min(h, w) < 2:
        raise ValueError(f"psnr-b needs images of at least 2x2, got {w}x{h}")

    def boundary(length: int) -> torch.Tensor:
        # pair (j, j + 1) straddles a boundary when j + 1 starts a block of the uncropped image
        return (torch.arange(length - 1) + 1 + offset) % block == 0

    dx = (images[..., :, 1:] - images[..., :, :-1]) ** 2  # (N, C, H, W-1), pair j = columns (j, j+1)
    dy = (images[..., 1:, :] - images[..., :-1, :]) ** 2  # (N, C, H-1, W)
    on_x, on_y = boundary(w), boundary(h)
    at = dx[..., on_x].flatten(1).sum(1) + dy[..., on_y, :].flatten(1).sum(1)
    off = dx[..., ~on_x].flatten(1).sum(1) + dy[..., ~on_y, :].flatten(1).sum(1)
    channels = images.shape[1]
    n_at = channels * (h * int(on_x.sum()) + w * int(on_y.sum()))
    n_off = channels * (h * (w - 1) + w * (h - 1)) - n_at
    d_b = at / n_at if n_at else torch.zeros_like(at)
    d_bc = off / n_off if n_off else torch.zeros_like(off)
    eta = math.log2(block) / math.log2(min(h, w))
    return torch.where(d_b > d_bc, eta * (d_b - d_bc), torch.zeros_like(d_b))


class PSNRB(Metric):
    """PSNR-B in dB: PSNR with the blocking-effect factor of the restored image; `channel` and `crop` as psnr."""

    name = "psnr-b"
    description = "PSNR with the blocking-effect factor (Yim & Bovik 2011), as JPEG deblocking papers report"
    unit = "dB"

    def __init__(self, channel: Channel = "auto", crop: int | None = None) -> None:
        self.channel, self.crop = checked_options(channel, crop)

    def measure(
        self, restored: torch.Tensor, target: torch.Tensor, info: DegradationInfo
    ) -> torch.Tensor:
        """Return 10*log10(1/(MSE + BEF)) per image."""
        import torch

        channel, crop = resolve(self.channel, self.crop, info)
        a, b = scoring_view(restored, target, channel, crop)
        mse = ((a - b) ** 2).flatten(1).mean(dim=1)
        return 10.0 * torch.log10(1.0 / (mse + blocking_effect_factor(a, offset=crop)))


@hookimpl
def register_metrics(register) -> None:
    """Register `psnr-b`."""
    register(PSNRB)
