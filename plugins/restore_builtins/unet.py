"""A small residual U-Net denoiser: DnCNN's noise-predicting residual, with a receptive field that
grows by downsampling instead of depth.

Each level halves the resolution and doubles the width, so a 3x3 convolution costs the same per
input pixel at every level while seeing twice as far: with `levels=3` the network sees about 90
pixels in every direction for half the multiply-adds per pixel of DnCNN-17 (which sees 17).
Residual blocks without BatchNorm and bias-free convolutions follow DRUNet (Zhang et al., 2021),
whose bias-free design keeps a denoiser well-behaved across noise levels. The network itself lives
in `restore_builtins.unet_network`, imported when one is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_builtins.trained_denoiser import TrainedDenoiser, check_pd
from restore_core import DegradationInfo, hookimpl

if TYPE_CHECKING:
    from torch import nn


class UNetDenoiser(TrainedDenoiser):
    """Residual U-Net denoiser; non-blind by default (weights trained for one noise sigma)."""

    name = "unet"
    description = "small residual U-Net denoiser (DnCNN's residual, receptive field by downsampling)"

    def __init__(self, features: int = 32, levels: int = 3, blocks: int = 2, blind: bool = False,
                 weights: str | None = None, pd: int = 1) -> None:
        if features < 1 or levels < 1 or blocks < 1:
            raise ValueError(f"features, levels and blocks must be positive, got {features}, {levels}, {blocks}")
        super().__init__(weights)
        self.features = features
        self.levels = levels
        self.blocks = blocks
        self.blind = blind
        self.pd = check_pd(pd)

    def build_network(self, channels: int) -> nn.Module:
        """Return a freshly initialised U-Net."""
        from restore_builtins.unet_network import UNetNetwork

        return UNetNetwork(channels, self.features, self.levels, self.blocks)

    def weights_key(self, info: DegradationInfo, channels: int) -> str:
        """Return e.g. `unet-32f-3lv-2b-gray-sigma25`."""
        return f"unet-{self.features}f-{self.levels}lv-{self.blocks}b-{self.noise_key(info, channels)}"


@hookimpl
def register_restorers(register) -> None:
    """Register `unet`."""
    register(UNetDenoiser)
