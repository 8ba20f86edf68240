"""DnCNN (Zhang et al., 2017): a residual denoiser that predicts the noise and subtracts it.

Layout: conv+ReLU, (layers-2) x (conv+BN+ReLU), conv; output = input - predicted noise.
`layers=7` is the original study's configuration, `layers=17` the DnCNN paper's. The network
itself lives in `restore_builtins.dncnn_network`, imported when one is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from restore_builtins.trained_denoiser import TrainedDenoiser, check_pd
from restore_core import DegradationInfo, hookimpl

if TYPE_CHECKING:
    import torch
    from torch import nn


class DnCNN(TrainedDenoiser):
    """Residual CNN denoiser; non-blind by default (weights trained for one noise sigma)."""

    name = "dncnn"
    description = "DnCNN residual denoiser (layers=7 original study, layers=17 the paper)"

    def __init__(self, layers: int = 7, features: int = 64, blind: bool = False, weights: str | None = None,
                 sigma: Literal["auto"] | None = None, pd: int = 1) -> None:
        if layers < 3:
            raise ValueError(f"layers must be at least 3, got {layers}")
        if features < 1:
            raise ValueError(f"features must be positive, got {features}")
        super().__init__(weights)
        self.layers = layers
        self.features = features
        self.blind = blind  # one model for every noise level, trained under gaussian-blind (DnCNN-B)
        if sigma not in (None, "auto"):
            raise ValueError(f"sigma is auto (estimate the noise level) or none, not {sigma!r}")
        self.sigma = sigma
        self.pd = check_pd(pd)

    def build_network(self, channels: int) -> nn.Module:
        """Return a freshly initialised DnCNN."""
        from restore_builtins.dncnn_network import DnCNNNetwork

        return DnCNNNetwork(channels, self.layers, self.features)

    def weights_key(self, info: DegradationInfo, channels: int) -> str:
        """Return e.g. `dncnn-7l-64f-rgb-sigma25`."""
        return f"dncnn-{self.layers}l-{self.features}f-{self.noise_key(info, channels)}"

    def warm_start(self, network: nn.Module, state: dict[str, torch.Tensor], sample: torch.Tensor) -> None:
        """Start from a trained DnCNN of the same width and at most this depth.

        A shallower source is deepened as in Net2DeeperNet (Chen et al., 2016): its middle blocks
        are spread evenly and each is followed by new blocks that compute the identity (an
        identity kernel, a BatchNorm calibrated on `sample` to undo its own normalisation, and a
        ReLU that passes the non-negative activations unchanged). The deeper network starts out
        computing exactly what the trained one does, so training continues from its quality
        instead of from noise.
        """
        from restore_builtins.dncnn_network import DnCNNNetwork, deepen

        if not isinstance(network, DnCNNNetwork):
            raise TypeError("warm_start expects the network build_network returned")
        source_layers = sum(1 for k in state if k.endswith(".running_mean")) + 2
        if source_layers >= self.layers:
            super().warm_start(network, state, sample)
            return
        source = DnCNNNetwork(network.body[0].in_channels, source_layers, self.features)
        super().warm_start(source, state, sample)
        deepen(network, source, sample)


@hookimpl
def register_restorers(register) -> None:
    """Register `dncnn`."""
    register(DnCNN)
