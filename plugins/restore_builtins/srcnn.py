"""SRCNN (Dong et al., 2014), 9-5-5, on the Y channel of the bicubic-upsampled image.

As in the paper the network sees only luma (BT.601 Y); Cb and Cr come from bicubic. One change
from the paper: the network predicts the correction to bicubic (a global skip, as VDSR does),
which trains in minutes instead of days; `residual=false` gives the paper's plain mapping.
"""

from __future__ import annotations

import torch
from torch import nn

from restore_core import SUPER_RESOLUTION, DegradationInfo, Degraded, hookimpl
from restore_core.components.network_restorer import NetworkRestorer
from restore_core.imaging.colour import rgb_to_ycbcr, ycbcr_to_rgb
from restore_core.imaging.resize import bicubic_resize


class SRCNNNetwork(nn.Module):
    """Three convolutions, 9x9 -> 5x5 -> 5x5 with 64 and 32 filters, on one channel."""

    def __init__(self, residual: bool) -> None:
        super().__init__()
        self.residual = residual
        self.body = nn.Sequential(
            nn.Conv2d(1, 64, 9, padding=4),
            nn.ReLU(inplace=True),
            nn.Conv2d(64, 32, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 1, 5, padding=2),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        if residual:
            with torch.no_grad():
                self.body[-1].weight.mul_(0.1)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """Map bicubic Y to restored Y."""
        out = self.body(y)
        return y + out if self.residual else out


def _upsample(degraded: torch.Tensor, scale: int) -> torch.Tensor:
    h, w = degraded.shape[-2:]
    return bicubic_resize(degraded, h * scale, w * scale)


class SRCNN(NetworkRestorer):
    """Super-resolution CNN on the luma of the bicubic-upsampled image."""

    name = "srcnn"
    description = "SRCNN 9-5-5 on the Y channel of the bicubic-upsampled input"
    tasks = frozenset({SUPER_RESOLUTION})
    weights_package = "restore_builtins.weights"

    def __init__(self, residual: bool = True, weights: str | None = None) -> None:
        super().__init__(weights)
        self.residual = residual

    def build_network(self, channels: int) -> nn.Module:
        """Return a freshly initialised SRCNN (it always works on one channel, Y)."""
        return SRCNNNetwork(self.residual)

    def weights_key(self, info: DegradationInfo, channels: int) -> str:
        """Return e.g. `srcnn-x3-y` (one network serves gray and colour images)."""
        return f"srcnn-x{info.scale}-y" + ("" if self.residual else "-plain")

    def training_degradation(self, info: DegradationInfo) -> str:
        """Return `x<scale>`."""
        return f"x{info.scale}"

    def training_pair(self, degraded: Degraded) -> tuple[torch.Tensor, torch.Tensor]:
        """Train on (bicubic Y, clean Y)."""
        up = _upsample(degraded.image, degraded.info.scale)
        return rgb_to_ycbcr(up)[:, :1], rgb_to_ycbcr(degraded.target)[:, :1]

    def run_network(
        self, network: nn.Module, degraded: torch.Tensor, info: DegradationInfo
    ) -> torch.Tensor:
        """Restore Y with the network, keep bicubic Cb and Cr."""
        ycc = rgb_to_ycbcr(_upsample(degraded, info.scale))
        y = network(ycc[:, :1].contiguous(memory_format=torch.channels_last))
        rgb = ycbcr_to_rgb(torch.cat([y, ycc[:, 1:]], dim=1))
        return rgb[:, :1] if degraded.shape[1] == 1 else rgb


@hookimpl
def register_restorers(register) -> None:
    """Register `srcnn`."""
    register(SRCNN)
