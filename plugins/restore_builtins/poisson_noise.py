"""Poisson (shot) noise and the Poisson-Gaussian camera model.

`poisson:peak=P` draws x_noisy = Poisson(P * x) / P: P is the photon count of a white pixel, so the
noise variance at intensity x is x / P (lower peak, more noise). `poisson-gaussian:peak=P,sigma=S` adds
white Gaussian read noise of standard deviation S (0-255 scale) on top: Poisson(P * x) / P + (S / 255) n.
Neither is clipped. Both are task `denoising`; since the noise is not white Gaussian, `info.sigma` is
None and the parameters are in `info.params` (`peak`, and `sigma` for the Gaussian part).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from restore_core import DENOISING, Degradation, DegradationInfo, Degraded, hookimpl
from restore_core.components.operators import identity

if TYPE_CHECKING:
    import torch


def _check_peak(peak: float) -> float:
    if not peak > 0:
        raise ValueError(f"peak must be a positive photon count (e.g. 1 to 255), got {peak:g}")
    return float(peak)


def _shot_noise(clean: torch.Tensor, peak: float, generators: Sequence[torch.Generator]) -> torch.Tensor:
    import torch

    if len(generators) != clean.shape[0]:
        raise ValueError(f"{clean.shape[0]} images but {len(generators)} generators")
    rate = clean.detach().to("cpu", torch.float64).clamp(min=0.0) * peak  # a rate is never negative
    counts = torch.stack([torch.poisson(r, generator=g) for r, g in zip(rate, generators, strict=True)])
    return (counts / peak).to(clean.device, torch.float32)


class PoissonNoise(Degradation):
    """Shot noise: x_noisy = Poisson(peak * x) / peak, not clipped."""

    name = "poisson"
    description = "Poisson (shot) noise, Poisson(peak*x)/peak, `peak` photons at white (poisson:peak=30)"
    task = DENOISING

    def __init__(self, peak: float = 30.0) -> None:
        self.peak = _check_peak(peak)

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Draw each image's photon counts from that image's generator."""
        noisy = _shot_noise(clean, self.peak, generators)
        return Degraded(noisy, clean, DegradationInfo(DENOISING, params={"peak": self.peak},
                                                      forward=identity, adjoint=identity))


class PoissonGaussianNoise(Degradation):
    """The camera model: x_noisy = Poisson(peak * x) / peak + (sigma / 255) n, n ~ N(0, 1); not clipped."""

    name = "poisson-gaussian"
    description = "Poisson shot noise plus Gaussian read noise (poisson-gaussian:peak=30,sigma=5)"
    task = DENOISING

    def __init__(self, peak: float = 30.0, sigma: float = 5.0) -> None:
        if not 0 <= sigma <= 255:
            raise ValueError(f"sigma must be within [0, 255], got {sigma:g}")
        self.peak = _check_peak(peak)
        self.sigma = float(sigma)

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Draw each image's photon counts, then its read noise, from that image's generator."""
        import torch

        noisy = _shot_noise(clean, self.peak, generators)
        read = torch.stack([torch.randn(clean.shape[1:], generator=g, dtype=torch.float32) for g in generators])
        noisy = noisy + read.to(clean.device) * (self.sigma / 255.0)
        return Degraded(noisy, clean, DegradationInfo(DENOISING, params={"peak": self.peak, "sigma": self.sigma},
                                                      forward=identity, adjoint=identity))


@hookimpl
def register_degradations(register) -> None:
    """Register `poisson` (`poisson30` is `poisson:peak=30`) and `poisson-gaussian`."""
    register(PoissonNoise, shorthand="peak")
    register(PoissonGaussianNoise)
