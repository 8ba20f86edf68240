"""Total-variation denoising (scikit-image, Chambolle): a reference for JPEG artifacts and for noise.

Without `weight`, it is set from what the degradation discloses: 0.6 * sigma / 255 for known
Gaussian noise, 0.14 / quality ** 0.75 for JPEG (`auto_weight`; both fitted on five BSD400 training
images, not on the test sets); a degradation that discloses neither needs an explicit weight.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_core import DEBLOCKING, DENOISING, DegradationInfo, Restorer, hookimpl

if TYPE_CHECKING:
    import torch


def auto_weight(info: DegradationInfo) -> float | None:
    """The TV weight for a degradation's disclosed noise sigma or JPEG quality, or None."""
    if info.sigma:
        return 0.6 * float(info.sigma) / 255.0
    quality = info.params.get("quality")
    if quality is not None:
        return 0.14 / float(quality) ** 0.75
    return None


class TotalVariation(Restorer):
    """Chambolle's total-variation denoising with weight `weight` (automatic when None)."""

    name = "tv"
    description = "total-variation denoising (scikit-image, Chambolle), a reference for JPEG and noise"
    tasks = frozenset({DENOISING, DEBLOCKING})

    def __init__(self, weight: float | None = None) -> None:
        if weight is not None and not weight > 0:
            raise ValueError(f"weight must be positive, got {weight:g}")
        self.weight = weight

    def supports(self, info: DegradationInfo, channels: int) -> str | None:
        """Serve denoising and deblocking when a weight is given or can be set from the info."""
        reason = super().supports(info, channels)
        if reason is None and self.weight is None and auto_weight(info) is None:
            reason = "tv needs weight=... when the degradation discloses neither sigma nor quality"
        return reason

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Smooth each image (colour channels jointly)."""
        import numpy as np
        import torch
        from skimage.restoration import denoise_tv_chambolle

        weight = self.weight if self.weight is not None else auto_weight(info)
        batch = degraded.detach().cpu().double().numpy()
        out = np.stack([denoise_tv_chambolle(image, weight=weight, channel_axis=0) for image in batch])
        return torch.from_numpy(out).float().clamp(0, 1).to(degraded.device)


@hookimpl
def register_restorers(register) -> None:
    """Register `tv`."""
    register(TotalVariation)
