"""Additive white Gaussian noise, the denoising benchmark's degradation."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from restore_core import DENOISING, Degradation, DegradationInfo, Degraded, hookimpl


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
        if len(generators) != clean.shape[0]:
            raise ValueError(f"{clean.shape[0]} images but {len(generators)} generators")
        noise = torch.stack(
            [torch.randn(clean.shape[1:], generator=g, dtype=torch.float32) for g in generators]
        ).to(clean.device)
        noisy = clean + noise * (self.sigma / 255.0)
        if self.clip:
            noisy = noisy.clamp(0.0, 1.0)
        return Degraded(noisy, clean, DegradationInfo(DENOISING, sigma=self.sigma))


@hookimpl
def register_degradations(register) -> None:
    """Register `gaussian` (`gaussian25` is `gaussian:sigma=25`)."""
    register(GaussianNoise, shorthand="sigma", aliases=("awgn",))
