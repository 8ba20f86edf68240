"""Gaussian blur then decimation: the "BD" super-resolution protocol (RDN, SRMD).

x_low = (k * x)[::scale, ::scale]: the clean image, cropped top-left to a multiple of `scale`, is
blurred with a `size` x `size` Gaussian of standard deviation `sigma` (default 7 and 1.6, as in
RDN's BD set-up) with circular borders (RDN's MATLAB script replicates the border instead: the
difference is confined to the `scale` border pixels the super-resolution metric crops), then the
top-left pixel of every `scale` x `scale` block is kept, and with `quantize` the result is rounded
to 8 bits like a saved low-resolution image. Task `super-resolution`; `info.forward` and
`info.adjoint` are A = decimation after convolution and its adjoint, without the rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from restore_core import SUPER_RESOLUTION, Degradation, DegradationInfo, Degraded, hookimpl

if TYPE_CHECKING:
    import torch


class BlurDownsampling(Degradation):
    """Gaussian blur (`size`, `sigma`), then keep every `scale`-th pixel."""

    name = "blur-down"
    description = "Gaussian blur then decimation by `scale` (the BD protocol; blur-down:scale=3,sigma=1.6)"
    task = SUPER_RESOLUTION

    def __init__(self, scale: int = 3, sigma: float = 1.6, size: int = 7, quantize: bool = True) -> None:
        from restore_builtins.blur import gaussian_kernel

        if not 2 <= scale <= 16:  # beyond x16 almost no image keeps enough pixels to restore or score
            raise ValueError(f"scale must be from 2 to 16, got {scale}")
        if not sigma > 0 or not 1 <= size <= 128:
            raise ValueError(f"need sigma > 0 and size from 1 to 128, got {sigma:g} and {size}")
        self._kernel = gaussian_kernel(sigma, size)
        self.scale = scale
        self.sigma = float(sigma)
        self.size = size
        self.quantize = quantize

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Blur and decimate (deterministic: the generators are not used)."""
        import torch

        from restore_core.components.operators import CircularConvolution, Composed, Decimation
        from restore_core.imaging.resize import modcrop

        target = modcrop(clean, self.scale)
        h, w = target.shape[-2:]
        if h < max(self.scale, self.size) or w < max(self.scale, self.size):
            raise ValueError(f"image {clean.shape[-1]}x{clean.shape[-2]} is too small for x{self.scale}")
        kernel = torch.from_numpy(self._kernel)
        blur, down = CircularConvolution(kernel), Decimation(self.scale)
        forward = Composed((blur, down))
        low = forward(target)
        if self.quantize:
            low = torch.round(low.clamp(0.0, 1.0) * 255.0) / 255.0
        params = {"scale": self.scale, "kernel": kernel, "kernel_sigma": self.sigma, "kernel_size": self.size}
        info = DegradationInfo(SUPER_RESOLUTION, scale=self.scale, params=params, forward=forward,
                               adjoint=Composed((down.transposed(), blur.transposed())))
        return Degraded(low, target, info)


@hookimpl
def register_degradations(register) -> None:
    """Register `blur-down`."""
    register(BlurDownsampling)
