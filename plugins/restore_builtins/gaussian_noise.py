"""Additive white Gaussian noise, the denoising benchmark's degradation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from restore_core import DENOISING, Degradation, DegradationInfo, Degraded, hookimpl
from restore_core.components.operators import identity

if TYPE_CHECKING:
    import torch


class GaussianNoise(Degradation):
    """Add white Gaussian noise of standard deviation `sigma` (0-255 scale); not clipped."""

    name = "gaussian"
    description = "additive white Gaussian noise, sigma on the 0-255 scale (gaussian25)"
    task = DENOISING

    def __init__(self, sigma: float = 25.0, clip: bool = False) -> None:
        if not 0 <= sigma <= 255:
            raise ValueError(f"sigma must be within [0, 255], got {sigma:g}")
        self.sigma = float(sigma)
        self.clip = clip

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Add noise drawn image by image from that image's generator."""
        import torch

        if len(generators) != clean.shape[0]:
            raise ValueError(f"{clean.shape[0]} images but {len(generators)} generators")
        noise = torch.stack(
            [torch.randn(clean.shape[1:], generator=g, dtype=torch.float32) for g in generators]
        ).to(clean.device)
        noisy = clean + noise * (self.sigma / 255.0)
        if self.clip:
            noisy = noisy.clamp(0.0, 1.0)
        return Degraded(noisy, clean, DegradationInfo(DENOISING, sigma=self.sigma, params={"sigma": self.sigma},
                                                      forward=identity, adjoint=identity))


class BlindGaussianNoise(Degradation):
    """White Gaussian noise whose sigma each image draws uniformly from [sigma_min, sigma_max]; the
    sigma is not disclosed (blind), as when training one model for every noise level (DnCNN-B)."""

    name = "gaussian-blind"
    description = "Gaussian noise, sigma drawn per image from [sigma_min, sigma_max] and not disclosed"
    task = DENOISING

    def __init__(self, sigma_min: float = 0.0, sigma_max: float = 55.0) -> None:
        if not 0 <= sigma_min <= sigma_max <= 255:
            raise ValueError(f"need 0 <= sigma_min <= sigma_max <= 255, got {sigma_min:g} and {sigma_max:g}")
        self.sigma_min = float(sigma_min)
        self.sigma_max = float(sigma_max)

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Draw each image's sigma, then its noise, from that image's generator."""
        import torch

        if len(generators) != clean.shape[0]:
            raise ValueError(f"{clean.shape[0]} images but {len(generators)} generators")
        noisy = []
        for image, g in zip(clean, generators, strict=True):
            sigma = self.sigma_min + (self.sigma_max - self.sigma_min) * float(torch.rand((), generator=g))
            noise = torch.randn(image.shape, generator=g, dtype=torch.float32).to(clean.device)
            noisy.append(image + noise * (sigma / 255.0))
        return Degraded(torch.stack(noisy), clean, DegradationInfo(DENOISING, sigma=None, forward=identity,
                                                                    adjoint=identity))


@hookimpl
def register_degradations(register) -> None:
    """Register `gaussian` (`gaussian25` is `gaussian:sigma=25`) and `gaussian-blind`."""
    register(GaussianNoise, shorthand="sigma", aliases=("awgn",))
    register(BlindGaussianNoise)
