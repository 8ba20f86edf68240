"""What every built-in network denoiser shares: trained for one noise sigma, or blind for a range."""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_core import DENOISING, DegradationInfo, Degraded
from restore_core.components.network_restorer import NetworkRestorer

if TYPE_CHECKING:
    import torch
    from torch import nn


class TrainedDenoiser(NetworkRestorer):
    """A network denoiser on (noisy, clean) pairs; non-blind ones need the noise sigma."""

    tasks = frozenset({DENOISING})
    weights_package = "restore_builtins.weights"
    blind: bool = False

    def supports(self, info: DegradationInfo, channels: int) -> str | None:
        """Serve denoising with a known noise level (any level when blind)."""
        reason = super().supports(info, channels)
        if reason is None and info.sigma is None and not self.blind:
            reason = f"{self.name} is non-blind and needs the noise sigma ({self.name}:blind=true serves any level)"
        return reason

    def noise_key(self, info: DegradationInfo, channels: int) -> str:
        """Return the weights-key suffix for this configuration, e.g. `gray-sigma25` or `rgb-blind`."""
        kind = "gray" if channels == 1 else "rgb"
        return f"{kind}-{'blind' if self.blind else f'sigma{info.sigma:g}'}"

    def training_degradation(self, info: DegradationInfo) -> str:
        """Return `gaussian<sigma>` (`gaussian-blind` for a blind model)."""
        return "gaussian-blind" if self.blind else f"gaussian{info.sigma:g}"

    def training_pair(self, degraded: Degraded) -> tuple[torch.Tensor, torch.Tensor]:
        """Train on (noisy, clean)."""
        return degraded.image, degraded.target

    def run_network(
        self, network: nn.Module, degraded: torch.Tensor, info: DegradationInfo
    ) -> torch.Tensor:
        """Denoise in one pass."""
        return network(degraded)
