"""The identity restorer: the degraded input itself, as the baseline row of a table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_core import DENOISING, DegradationInfo, Restorer, hookimpl

if TYPE_CHECKING:
    import torch


class Identity(Restorer):
    """Return the degraded input unchanged (clipped to [0, 1])."""

    name = "identity"
    description = "the degraded input, clipped: the baseline every restorer must beat"
    tasks = frozenset({DENOISING})

    def supports(self, info: DegradationInfo, channels: int) -> str | None:
        """Serve every degradation that keeps the image size."""
        if info.scale != 1:
            return f"identity keeps the size, but {info.task} changes it x{info.scale} (see bicubic)"
        return None

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Return the input clipped to [0, 1]."""
        return degraded.clamp(0.0, 1.0)


@hookimpl
def register_restorers(register) -> None:
    """Register `identity`."""
    register(Identity)
