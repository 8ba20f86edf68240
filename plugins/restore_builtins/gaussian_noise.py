"""Additive Gaussian noise, the denoising benchmark's degradation, and its variants.

`gaussian` adds white noise of one known sigma; `gaussian-blind` draws sigma per image and hides it
(training one model for every level, DnCNN-B); `gaussian-range` draws it the same way but
discloses it as a per-pixel noise map (`info.params["noise_map"]`, (N, 1, H, W), 0-255), which is
what a noise-level-conditioned model trains on; `gaussian-ramp` makes the noise spatially varying,
its sigma rising linearly from the left edge to the right, and discloses that map too. None clips.
"""

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

    def draw(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> tuple[torch.Tensor, list[float]]:
        """Return the noisy batch and each image's sigma, both drawn from that image's generator."""
        import torch

        if len(generators) != clean.shape[0]:
            raise ValueError(f"{clean.shape[0]} images but {len(generators)} generators")
        noisy, sigmas = [], []
        for image, g in zip(clean, generators, strict=True):
            sigma = self.sigma_min + (self.sigma_max - self.sigma_min) * float(torch.rand((), generator=g))
            noise = torch.randn(image.shape, generator=g, dtype=torch.float32).to(clean.device)
            noisy.append(image + noise * (sigma / 255.0))
            sigmas.append(sigma)
        return torch.stack(noisy), sigmas

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Draw each image's sigma, then its noise, from that image's generator."""
        noisy, _ = self.draw(clean, generators)
        return Degraded(noisy, clean, DegradationInfo(DENOISING, sigma=None, forward=identity, adjoint=identity))


class GaussianNoiseRange(BlindGaussianNoise):
    """White Gaussian noise whose sigma each image draws uniformly from [sigma_min, sigma_max], disclosed
    as that image's noise map: the training degradation of noise-level-conditioned denoisers."""

    name = "gaussian-range"
    description = "Gaussian noise, sigma drawn per image from [sigma_min, sigma_max], disclosed as a noise map"

    def __init__(self, sigma_min: float = 0.0, sigma_max: float = 75.0) -> None:
        super().__init__(sigma_min, sigma_max)

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Draw as gaussian-blind does, and disclose each image's sigma as its noise map."""
        import torch

        noisy, sigmas = self.draw(clean, generators)
        n, _, h, w = clean.shape
        noise_map = torch.tensor(sigmas, dtype=torch.float32, device=clean.device).view(n, 1, 1, 1).expand(n, 1, h, w)
        same = len(set(sigmas)) == 1
        return Degraded(noisy, clean, DegradationInfo(DENOISING, sigma=sigmas[0] if same else None, forward=identity,
                                                      adjoint=identity, params={"noise_map": noise_map}))


class GaussianNoiseRamp(Degradation):
    """Spatially varying white Gaussian noise: sigma rises linearly from `sigma_min` at the left edge to
    `sigma_max` at the right, disclosed as the noise map (FFDNet's spatially variant test)."""

    name = "gaussian-ramp"
    description = "Gaussian noise whose sigma ramps from sigma_min (left) to sigma_max (right), map disclosed"
    task = DENOISING

    def __init__(self, sigma_min: float = 5.0, sigma_max: float = 50.0) -> None:
        if not 0 <= sigma_min <= 255 or not 0 <= sigma_max <= 255:
            raise ValueError(f"sigmas must be within [0, 255], got {sigma_min:g} and {sigma_max:g}")
        self.sigma_min = float(sigma_min)
        self.sigma_max = float(sigma_max)

    def noise_map(self, n: int, h: int, w: int) -> torch.Tensor:
        """Return the (n, 1, h, w) sigma map (0-255): constant down each column, linear across."""
        import torch

        ramp = torch.linspace(self.sigma_min, self.sigma_max, w) if w > 1 else torch.tensor([self.sigma_min])
        return ramp.view(1, 1, 1, w).expand(n, 1, h, w)

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Add noise drawn image by image from that image's generator, scaled by the ramp."""
        import torch

        if len(generators) != clean.shape[0]:
            raise ValueError(f"{clean.shape[0]} images but {len(generators)} generators")
        n, _, h, w = clean.shape
        noise_map = self.noise_map(n, h, w).to(clean.device)
        noise = torch.stack(
            [torch.randn(clean.shape[1:], generator=g, dtype=torch.float32) for g in generators]
        ).to(clean.device)
        return Degraded(clean + noise * (noise_map / 255.0), clean,
                        DegradationInfo(DENOISING, forward=identity, adjoint=identity,
                                        params={"noise_map": noise_map}))


@hookimpl
def register_degradations(register) -> None:
    """Register `gaussian` (`gaussian25` is `gaussian:sigma=25`) and its blind, range and ramp variants."""
    register(GaussianNoise, shorthand="sigma", aliases=("awgn",))
    register(BlindGaussianNoise)
    register(GaussianNoiseRange)
    register(GaussianNoiseRamp)
