"""Bicubic down-sampling, the super-resolution benchmark's degradation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from restore_core import SUPER_RESOLUTION, Degradation, DegradationInfo, Degraded, hookimpl

if TYPE_CHECKING:
    import torch


class BicubicDownsampling(Degradation):
    """Crop to a multiple of `scale`, then shrink by `scale` with MATLAB-like bicubic."""

    name = "bicubic-down"
    description = "bicubic down-sampling by `scale` after a crop to a multiple of it (x3)"
    task = SUPER_RESOLUTION

    def __init__(self, scale: int = 3, quantize: bool = True) -> None:
        if not 2 <= scale <= 16:  # beyond x16 almost no image keeps enough pixels to restore or score
            raise ValueError(f"scale must be from 2 to 16, got {scale}")
        self.scale = scale
        self.quantize = quantize

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Down-sample; with `quantize` the result is rounded to 8 bits like a saved LR image."""
        import torch

        from restore_core.imaging.resize import bicubic_resize, modcrop

        target = modcrop(clean, self.scale)
        h, w = target.shape[-2:]
        if h < self.scale or w < self.scale:
            raise ValueError(f"image {clean.shape[-1]}x{clean.shape[-2]} is smaller than x{self.scale}")
        low = bicubic_resize(target, h // self.scale, w // self.scale).clamp(0.0, 1.0)
        if self.quantize:
            low = torch.round(low * 255.0) / 255.0
        from restore_core.components.operators import BicubicDown

        # the forward operator is the linear resize, without the clip and the 8-bit rounding
        info = DegradationInfo(SUPER_RESOLUTION, scale=self.scale, params={"scale": self.scale},
                               forward=BicubicDown(self.scale), adjoint=BicubicDown(self.scale, adjoint=True))
        return Degraded(low, target, info)


@hookimpl
def register_degradations(register) -> None:
    """Register `bicubic-down` (`x3` and `bicubic-down3` are `bicubic-down:scale=3`)."""
    register(BicubicDownsampling, shorthand="scale", aliases=("x",))
