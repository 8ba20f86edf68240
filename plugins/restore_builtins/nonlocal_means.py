"""Non-local means (scikit-image): the classical denoising reference a learned denoiser must beat."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from restore_core import DENOISING, DegradationInfo, Restorer, hookimpl

if TYPE_CHECKING:
    import torch


class NonLocalMeans(Restorer):
    """Non-local means with the noise sigma known (non-blind), filter strength h = h_factor * sigma.

    `sigma=auto` estimates each image's sigma (`restore_core.imaging.noise_level`) instead.
    """

    name = "nlm"
    description = "non-local means (scikit-image, fast mode), the classical denoising reference"
    tasks = frozenset({DENOISING})
    #: restore() honours any info.sigma (h scales with it), so plug-and-play may use it as its prior
    noise_level_conditioned = True

    def __init__(self, h_factor: float = 0.8, patch_size: int = 5, patch_distance: int = 6,
                 sigma: Literal["auto"] | None = None) -> None:
        if h_factor <= 0 or patch_size < 1 or patch_distance < 1:
            raise ValueError("h_factor, patch_size and patch_distance must be positive")
        if sigma not in (None, "auto"):
            raise ValueError(f"sigma is auto (estimate the noise level) or none, not {sigma!r}")
        self.h_factor = h_factor
        self.patch_size = patch_size
        self.patch_distance = patch_distance
        self.sigma = sigma

    @property
    def receptive_radius(self) -> int:
        """How far an output pixel sees: the search window plus half a patch (a region's context)."""
        return self.patch_distance + self.patch_size // 2

    def supports(self, info: DegradationInfo, channels: int) -> str | None:
        """Serve denoising with a known noise sigma (or an estimated one with sigma=auto)."""
        reason = super().supports(info, channels)
        if reason is None and info.sigma is None and self.sigma != "auto":
            reason = "nlm is non-blind and needs the noise sigma (nlm:sigma=auto estimates it)"
        return reason

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Denoise each image of the batch independently."""
        import numpy as np
        import torch
        from skimage.restoration import denoise_nl_means

        from restore_core.imaging.noise_level import estimate_noise_sigma

        levels = estimate_noise_sigma(degraded) if self.sigma == "auto" else [info.sigma or 0] * len(degraded)
        out = []
        for image, level in zip(degraded.detach().cpu().double().numpy(), levels, strict=True):
            sigma = float(level) / 255.0
            hwc = np.moveaxis(image, 0, -1)
            den = denoise_nl_means(hwc, h=self.h_factor * sigma, sigma=sigma, fast_mode=True,
                                   patch_size=self.patch_size, patch_distance=self.patch_distance,
                                   channel_axis=-1)
            out.append(np.moveaxis(np.asarray(den).reshape(hwc.shape), -1, 0))
        return torch.from_numpy(np.stack(out)).float().clamp(0, 1)


@hookimpl
def register_restorers(register) -> None:
    """Register `nlm`."""
    register(NonLocalMeans)
