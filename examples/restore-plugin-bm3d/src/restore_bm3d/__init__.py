"""BM3D, the classical denoising reference users ask for, and GMSD, a gradient-based quality metric.

Written only against restore's public API (`restore_core`): the interfaces, the hook marker and
the task names. BM3D itself comes from the `bm3d` package (Makinen, Azzari, Foi), whose licence
applies to it.

torch, numpy and bm3d are imported inside the methods that compute, not at the top: restore loads
every plugin to list its components, and a plugin that imports torch at import time makes
`restore --help`, `restore list` and `restore plugins` wait about a second for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from restore_core import DENOISING, DegradationInfo, Metric, Restorer, hookimpl

if TYPE_CHECKING:  # annotations only; postponed by the __future__ import above
    import torch

_PROFILES = {"np": "BM3DProfile", "refilter": "BM3DProfileRefilter", "vn": "BM3DProfileVN",
             "high": "BM3DProfileHigh", "deb": "BM3DProfileDeb"}


class BM3D(Restorer):
    """Block-matching and 3-D filtering with the noise sigma known (or estimated per image with
    `sigma=auto`); colour through BM3D's RGB mode."""

    name = "bm3d"
    description = "BM3D (bm3d package), non-blind: the classical denoising reference"
    tasks = frozenset({DENOISING})

    def __init__(self, profile: str = "np", threads: int = 1, sigma: Literal["auto"] | None = None) -> None:
        if sigma not in (None, "auto"):
            raise ValueError(f"sigma is auto (estimate the noise level) or none, not {sigma!r}")
        if profile not in _PROFILES:
            raise ValueError(f"unknown BM3D profile {profile!r} (known: {', '.join(_PROFILES)})")
        if threads < 0:
            raise ValueError(f"threads must be 0 (all) or positive, got {threads}")
        self.profile = profile
        self.threads = threads  # bm3d documents that more than one thread gives slightly varying results
        self.sigma = sigma

    def supports(self, info: DegradationInfo, channels: int) -> str | None:
        """Serve denoising with a known sigma (any noisy image with sigma=auto)."""
        reason = super().supports(info, channels)
        if reason is None and not info.sigma and self.sigma != "auto":
            reason = "bm3d is non-blind and needs the noise sigma (bm3d:sigma=auto estimates it)"
        return reason

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Denoise every image of the batch (with its own estimated sigma under sigma=auto)."""
        import bm3d
        import numpy as np
        import torch

        from restore_core import estimate_noise_sigma

        levels = estimate_noise_sigma(degraded) if self.sigma == "auto" else [info.sigma or 0] * len(degraded)
        profile = getattr(bm3d, _PROFILES[self.profile])()
        profile.num_threads = self.threads
        out = []
        for image, level in zip(degraded.detach().cpu().double().numpy(), levels, strict=True):
            sigma = max(float(level), 1e-3) / 255.0  # bm3d divides by sigma
            if image.shape[0] == 3:
                den = bm3d.bm3d_rgb(np.moveaxis(image, 0, -1), sigma, profile=profile)
                out.append(np.moveaxis(np.asarray(den), -1, 0))
            else:
                out.append(np.asarray(bm3d.bm3d(image[0], sigma, profile=profile))[None])
        return torch.from_numpy(np.stack(out)).float().clamp(0, 1)


class GMSD(Metric):
    """Gradient magnitude similarity deviation (Xue et al., 2014) on luma; lower is better."""

    name = "gmsd"
    description = "gradient magnitude similarity deviation (lower is better)"
    higher_is_better = False

    def measure(self, restored: torch.Tensor, target: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Return the standard deviation of the gradient-magnitude similarity map, per image."""
        import torch
        import torch.nn.functional as F

        c = 0.0026  # the paper's constant for images on [0, 1]
        luma = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64).view(1, 3, 1, 1)

        def gray(x: torch.Tensor) -> torch.Tensor:
            x = x.double()
            return (x * luma).sum(1, keepdim=True) if x.shape[1] == 3 else x

        def magnitude(x: torch.Tensor) -> torch.Tensor:
            x = F.avg_pool2d(x, 2)  # the paper's 2x down-sampling
            kx = torch.tensor([[1, 0, -1]] * 3, dtype=torch.float64).view(1, 1, 3, 3) / 3
            gx, gy = F.conv2d(x, kx), F.conv2d(x, kx.transpose(2, 3))
            return torch.sqrt(gx**2 + gy**2)

        a, b = magnitude(gray(restored)), magnitude(gray(target))
        similarity = (2 * a * b + c) / (a**2 + b**2 + c)
        return similarity.flatten(1).std(dim=1, unbiased=False)


@hookimpl
def register_restorers(register) -> None:
    """Register `bm3d`."""
    register(BM3D)


@hookimpl
def register_metrics(register) -> None:
    """Register `gmsd`."""
    register(GMSD)
