"""The median filter (SciPy): the classical reference for salt-and-pepper noise."""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_core import DENOISING, DegradationInfo, Restorer, hookimpl

if TYPE_CHECKING:
    import torch


class MedianFilter(Restorer):
    """Replace each sample by the median of its `size` x `size` neighbourhood, channel by channel."""

    name = "median-filter"
    description = "median filter (scipy.ndimage), the reference for salt-and-pepper noise (median-filter:size=3)"
    tasks = frozenset({DENOISING})

    def __init__(self, size: int = 3) -> None:
        if not 1 <= size <= 31:
            raise ValueError(f"size must be from 1 to 31 pixels, got {size}")
        self.size = size

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Filter each image and channel with mirrored borders (scipy's `reflect`)."""
        import numpy as np
        import torch
        from scipy.ndimage import median_filter

        batch = degraded.detach().cpu().float().clamp(0, 1).numpy()
        out = median_filter(batch, size=(1, 1, self.size, self.size), mode="reflect")
        return torch.from_numpy(np.ascontiguousarray(out)).to(degraded.device)


@hookimpl
def register_restorers(register) -> None:
    """Register `median-filter` (`median` is the name of the third-party example plugin's filter)."""
    register(MedianFilter)
