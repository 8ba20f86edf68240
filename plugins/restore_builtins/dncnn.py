"""DnCNN (Zhang et al., 2017): a residual denoiser that predicts the noise and subtracts it.

Layout: conv+ReLU, (layers-2) x (conv+BN+ReLU), conv; output = input - predicted noise.
`layers=7` is the original study's configuration, `layers=17` the DnCNN paper's.
"""

from __future__ import annotations

import torch
from torch import nn

from restore_core import DENOISING, DegradationInfo, Degraded, hookimpl
from restore_core.network_restorer import NetworkRestorer


class DnCNNNetwork(nn.Module):
    """The DnCNN body with its residual connection."""

    def __init__(self, channels: int, layers: int, features: int) -> None:
        super().__init__()
        body: list[nn.Module] = [nn.Conv2d(channels, features, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(layers - 2):
            body += [
                nn.Conv2d(features, features, 3, padding=1, bias=False),
                nn.BatchNorm2d(features),
                nn.ReLU(inplace=True),
            ]
        body.append(nn.Conv2d(features, channels, 3, padding=1))
        self.body = nn.Sequential(*body)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        # start close to the identity map: a large random residual costs the first few hundred
        # steps just to undo it
        with torch.no_grad():
            self.body[-1].weight.mul_(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return `x` minus the predicted noise."""
        return x - self.body(x)


class DnCNN(NetworkRestorer):
    """Residual CNN denoiser, non-blind: weights are trained for one noise sigma."""

    name = "dncnn"
    description = "DnCNN residual denoiser (layers=7 original study, layers=17 the paper)"
    tasks = frozenset({DENOISING})
    weights_package = "restore_builtins.weights"

    def __init__(self, layers: int = 7, features: int = 64, blind: bool = False, weights: str | None = None) -> None:
        if layers < 3:
            raise ValueError(f"layers must be at least 3, got {layers}")
        if features < 1:
            raise ValueError(f"features must be positive, got {features}")
        super().__init__(weights)
        self.layers = layers
        self.features = features
        self.blind = blind  # one model for every noise level, trained under gaussian-blind (DnCNN-B)

    def supports(self, info: DegradationInfo, channels: int) -> str | None:
        """Serve denoising with a known noise level."""
        reason = super().supports(info, channels)
        if reason is None and info.sigma is None and not self.blind:
            reason = "dncnn is non-blind and needs the noise sigma (dncnn:blind=true serves any level)"
        return reason

    def build_network(self, channels: int) -> nn.Module:
        """Return a freshly initialised DnCNN."""
        return DnCNNNetwork(channels, self.layers, self.features)

    def weights_key(self, info: DegradationInfo, channels: int) -> str:
        """Return e.g. `dncnn-7l-64f-rgb-sigma25`."""
        kind = "gray" if channels == 1 else "rgb"
        level = "blind" if self.blind else f"sigma{info.sigma:g}"
        return f"dncnn-{self.layers}l-{self.features}f-{kind}-{level}"

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


@hookimpl
def register_restorers(register) -> None:
    """Register `dncnn`."""
    register(DnCNN)
