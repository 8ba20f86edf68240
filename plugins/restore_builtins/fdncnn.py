"""FDnCNN: DnCNN conditioned on a noise-level map, one network for every sigma in [0, 75].

DnCNN-17's body with one more input channel holding each pixel's noise sigma (KAIR calls this DnCNN
variant FDnCNN); where the sigma comes from, and `pd`, are `restore_builtins.conditioned_denoiser`'s.
The shipped weights were warm-started from the DnCNN-17 models (`build_parent`; the map's input
weights start at zero, so training begins at the parent's quality) and trained under
`gaussian-range:sigma_min=0,sigma_max=75`, which discloses each training patch's sigma as its map.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from restore_builtins.conditioned_denoiser import ConditionedDenoiser
from restore_core import DegradationInfo, hookimpl

if TYPE_CHECKING:
    from torch import nn


class FDnCNN(ConditionedDenoiser):
    """DnCNN with a noise-level map as an extra input: non-blind for any sigma, per pixel if need be."""

    name = "fdncnn"
    INPUT_WEIGHT = "body.0.weight"
    description = "DnCNN conditioned on a noise-level map (FDnCNN): one model for sigma 0-75, gray and colour"

    def __init__(self, layers: int = 17, features: int = 64, sigma: float | Literal["auto"] | None = None,
                 weights: str | None = None, pd: int = 1) -> None:
        if layers < 3:
            raise ValueError(f"layers must be at least 3, got {layers}")
        if features < 1:
            raise ValueError(f"features must be positive, got {features}")
        super().__init__(sigma, weights, pd)
        self.layers = layers
        self.features = features

    def build_network(self, channels: int) -> nn.Module:
        """Return a freshly initialised conditioned DnCNN for `channels`-channel images."""
        from restore_builtins.dncnn_network import ConditionedDnCNNNetwork

        return ConditionedDnCNNNetwork(channels, self.layers, self.features)

    def weights_key(self, info: DegradationInfo, channels: int) -> str:
        """Return e.g. `fdncnn-17l-64f-gray`: one file per colour mode serves every sigma."""
        return f"fdncnn-{self.layers}l-{self.features}f-{'gray' if channels == 1 else 'rgb'}"

    def build_parent(self, channels: int) -> nn.Module:
        """Return the DnCNN of the same depth and width, whose weights warm_start also takes."""
        from restore_builtins.dncnn_network import DnCNNNetwork

        return DnCNNNetwork(channels, self.layers, self.features)


@hookimpl
def register_restorers(register) -> None:
    """Register `fdncnn`."""
    register(FDnCNN)
