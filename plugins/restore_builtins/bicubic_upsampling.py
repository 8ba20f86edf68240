"""Bicubic up-sampling: the classical reference every super-resolution model must beat."""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_core import SUPER_RESOLUTION, DegradationInfo, Restorer, hookimpl

if TYPE_CHECKING:
    import torch


class BicubicUpsampler(Restorer):
    """Enlarge by the degradation's scale with MATLAB-like bicubic interpolation."""

    name = "bicubic"
    description = "bicubic up-sampling, the classical super-resolution reference"
    tasks = frozenset({SUPER_RESOLUTION})

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Up-sample by `info.scale` and clip to [0, 1]."""
        from restore_core.imaging.resize import bicubic_resize

        h, w = degraded.shape[-2:]
        # in place: the result is a fresh array and the largest thing alive, so no second copy of it
        return bicubic_resize(degraded, h * info.scale, w * info.scale).clamp_(0.0, 1.0)


@hookimpl
def register_restorers(register) -> None:
    """Register `bicubic`."""
    register(BicubicUpsampler)
