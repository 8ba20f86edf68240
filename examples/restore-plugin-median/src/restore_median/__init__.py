"""A third-party restore plugin: a k x k median filter, the oldest classical denoiser.

torch is imported inside `restore`, not at the top: restore imports every plugin to list what it
registers, and `restore list` should not wait for torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_core import DENOISING, DegradationInfo, Restorer, hookimpl

if TYPE_CHECKING:  # annotations only; postponed by the __future__ import above
    import torch


class MedianFilter(Restorer):
    """Replace every pixel by the median of its k x k neighbourhood (edges reflected)."""

    name = "median"
    description = "k x k median filter (third-party example plugin)"
    tasks = frozenset({DENOISING})

    def __init__(self, size: int = 3) -> None:
        if size < 1 or size % 2 == 0:
            raise ValueError(f"size must be odd and positive, got {size}")
        self.size = size

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Return the median-filtered batch, clipped to [0, 1]."""
        import torch.nn.functional as F

        n, c, h, w = degraded.shape
        r = self.size // 2
        padded = F.pad(degraded.clamp(0, 1), (r, r, r, r), mode="reflect")
        windows = F.unfold(padded, self.size)  # (N, C*k*k, H*W)
        windows = windows.view(n, c, self.size * self.size, h * w)
        return windows.median(dim=2).values.view(n, c, h, w)


@hookimpl
def register_restorers(register) -> None:
    """Register `median` (and `median5` for size=5)."""
    register(MedianFilter, shorthand="size")
