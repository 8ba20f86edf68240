"""DRUNet: the residual U-Net of `unet` conditioned on a noise-level map, one network for sigma 0-75.

DRUNet (Zhang et al., 2021, the denoiser inside DPIR) is a bias-free U-Net of residual blocks,
stride-2 convolutions down, transposed convolutions up and additive skips, told the noise level by
one more input channel. `unet_network.UNetNetwork` is that design; this restorer gives it the map
channel (`ConditionedUNetNetwork`). Two differences from the paper, both said in the weights key and
the docs: it is smaller by default (32 features, 3 levels, 2 blocks per level against the paper's
64, 4 and 4: 0.54 MFLOP per pixel, half of DnCNN-17's) and it predicts the noise and subtracts it,
as every denoiser here does, where the paper's outputs the image.

Where the sigma comes from, and `pd`, are `restore_builtins.conditioned_denoiser`'s. Why it exists
beside `fdncnn`: on equal CPU minutes from scratch the conditioned U-Net learns fastest of the
three architectures measured (`benchmarks/conditioned_curves.py`). The shipped weights start from
the sigma-25 `unet` (`add_map_channel`: the map's weights zero, so training begins at that model's
quality) and train under `gaussian-range:sigma_min=0,sigma_max=75`; the colour weights start from
the gray ones (`colour_from_gray`: the gray model on the channels' mean) and train the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from restore_builtins.conditioned_denoiser import ConditionedDenoiser
from restore_core import DegradationInfo, hookimpl

if TYPE_CHECKING:
    from torch import nn


class DRUNet(ConditionedDenoiser):
    """Residual U-Net with a noise-level map as an extra input: non-blind for any sigma, per pixel."""

    name = "drunet"
    INPUT_WEIGHT = "head.weight"
    description = "residual U-Net conditioned on a noise-level map (DRUNet-style): one model for sigma 0-75"

    def __init__(self, features: int = 32, levels: int = 3, blocks: int = 2,
                 sigma: float | Literal["auto"] | None = None, weights: str | None = None, pd: int = 1) -> None:
        if features < 1 or levels < 1 or blocks < 1:
            raise ValueError(f"features, levels and blocks must be positive, got {features}, {levels}, {blocks}")
        super().__init__(sigma, weights, pd)
        self.features = features
        self.levels = levels
        self.blocks = blocks

    def build_network(self, channels: int) -> nn.Module:
        """Return a freshly initialised conditioned U-Net for `channels`-channel images."""
        from restore_builtins.unet_network import ConditionedUNetNetwork

        return ConditionedUNetNetwork(channels, self.features, self.levels, self.blocks)

    def weights_key(self, info: DegradationInfo, channels: int) -> str:
        """Return e.g. `drunet-32f-3lv-2b-gray`: one file per colour mode serves every sigma."""
        mode = "gray" if channels == 1 else "rgb"
        return f"drunet-{self.features}f-{self.levels}lv-{self.blocks}b-{mode}"

    def build_parent(self, channels: int) -> nn.Module:
        """Return the `unet` network of the same shape, whose weights warm_start also takes."""
        from restore_builtins.unet_network import UNetNetwork

        return UNetNetwork(channels, self.features, self.levels, self.blocks)


@hookimpl
def register_restorers(register) -> None:
    """Register `drunet`."""
    register(DRUNet)
