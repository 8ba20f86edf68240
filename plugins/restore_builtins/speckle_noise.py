"""Speckle: multiplicative noise, x_noisy = x * (1 + sigma * n) with n ~ N(0, 1) per pixel.

`sigma` is relative (0.2: a 20% standard deviation at every intensity), not on the 0-255 scale of
additive noise; this is scikit-image's `random_noise(mode="speckle")` with variance sigma^2. Not
clipped. Task `denoising`; `info.params["speckle"]` holds sigma (`info.sigma`, the additive level, is None).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from restore_core import DENOISING, Degradation, DegradationInfo, Degraded, hookimpl
from restore_core.components.operators import identity

if TYPE_CHECKING:
    import torch


class SpeckleNoise(Degradation):
    """Multiplicative Gaussian noise of relative standard deviation `sigma`; not clipped."""

    name = "speckle"
    description = "multiplicative noise x*(1+sigma*n), sigma relative to the intensity (speckle:sigma=0.2)"
    task = DENOISING

    def __init__(self, sigma: float = 0.2) -> None:
        if not 0 < sigma <= 1:
            raise ValueError(f"sigma must be within (0, 1] (relative to the intensity), got {sigma:g}")
        self.sigma = float(sigma)

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Multiply by noise drawn image by image from that image's generator."""
        import torch

        if len(generators) != clean.shape[0]:
            raise ValueError(f"{clean.shape[0]} images but {len(generators)} generators")
        n = torch.stack([torch.randn(clean.shape[1:], generator=g, dtype=torch.float32) for g in generators])
        noisy = clean * (1.0 + self.sigma * n.to(clean.device))
        return Degraded(noisy, clean, DegradationInfo(DENOISING, params={"speckle": self.sigma},
                                                      forward=identity, adjoint=identity))


@hookimpl
def register_degradations(register) -> None:
    """Register `speckle`."""
    register(SpeckleNoise)
