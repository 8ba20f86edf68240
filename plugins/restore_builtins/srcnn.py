"""SRCNN (Dong et al., 2014), 9-5-5, on the Y channel of the bicubic-upsampled image.

As in the paper the network sees only luma (BT.601 Y); Cb and Cr come from bicubic. One change
from the paper: the network predicts the correction to bicubic (a global skip, as VDSR does),
which trains in minutes instead of days; `residual=false` gives the paper's plain mapping. The
network itself lives in `restore_builtins.srcnn_network`, imported when one is built.

Up-sampling, colour conversion and the network run together tile by tile (`InferenceRunner.tiled`),
so restoring a large image never holds a whole-image bicubic copy or feature map: memory grows with
the tile, plus the input and the output themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_core import SUPER_RESOLUTION, DegradationInfo, Degraded, hookimpl
from restore_core.components.network_restorer import InferenceRunner, NetworkRestorer

if TYPE_CHECKING:
    import torch
    from torch import nn


#: input pixels on each side Pillow's bicubic kernel reads (its support of 2, plus the rounding of
#: where the kernel starts): a tile's up-sampling needs this much context to match the whole image's
BICUBIC_CONTEXT = 3


def _upsample(degraded: torch.Tensor, scale: int) -> torch.Tensor:
    from restore_core.imaging.resize import bicubic_resize

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
        from restore_builtins.srcnn_network import SRCNNNetwork

        return SRCNNNetwork(self.residual)

    def weights_key(self, info: DegradationInfo, channels: int) -> str:
        """Return e.g. `srcnn-x3-y` (one network serves gray and colour images)."""
        return f"srcnn-x{info.scale}-y" + ("" if self.residual else "-plain")

    def training_degradation(self, info: DegradationInfo) -> str:
        """Return `x<scale>`."""
        return f"x{info.scale}"

    def training_pair(self, degraded: Degraded) -> tuple[torch.Tensor, torch.Tensor]:
        """Train on (bicubic Y, clean Y)."""
        from restore_core.imaging.colour import rgb_to_ycbcr

        up = _upsample(degraded.image, degraded.info.scale)
        return rgb_to_ycbcr(up)[:, :1], rgb_to_ycbcr(degraded.target)[:, :1]

    def run_network(
        self, network: nn.Module, degraded: torch.Tensor, info: DegradationInfo
    ) -> torch.Tensor:
        """Restore Y with the network, keep bicubic Cb and Cr; tiled as a whole when `network` tiles."""
        import torch

        from restore_core.imaging.colour import rgb_to_ycbcr, ycbcr_to_rgb

        whole = network.untiled if isinstance(network, InferenceRunner) else network

        def pipeline(low: torch.Tensor) -> torch.Tensor:
            ycc = rgb_to_ycbcr(_upsample(low, info.scale))
            y = whole(ycc[:, :1].contiguous(memory_format=torch.channels_last))
            rgb = ycbcr_to_rgb(torch.cat([y, ycc[:, 1:]], dim=1))
            return rgb[:, :1] if low.shape[1] == 1 else rgb

        if isinstance(network, InferenceRunner):
            return network.tiled(pipeline, degraded, scale=info.scale, context=BICUBIC_CONTEXT, channels=1)
        return pipeline(degraded)


@hookimpl
def register_restorers(register) -> None:
    """Register `srcnn`."""
    register(SRCNN)
