"""DnCNN (Zhang et al., 2017): a residual denoiser that predicts the noise and subtracts it.

Layout: conv+ReLU, (layers-2) x (conv+BN+ReLU), conv; output = input - predicted noise.
`layers=7` is the original study's configuration, `layers=17` the DnCNN paper's.
"""

from __future__ import annotations

import torch
from torch import nn

from restore_builtins.trained_denoiser import TrainedDenoiser
from restore_core import DegradationInfo, hookimpl


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


class DnCNN(TrainedDenoiser):
    """Residual CNN denoiser; non-blind by default (weights trained for one noise sigma)."""

    name = "dncnn"
    description = "DnCNN residual denoiser (layers=7 original study, layers=17 the paper)"

    def __init__(self, layers: int = 7, features: int = 64, blind: bool = False, weights: str | None = None) -> None:
        if layers < 3:
            raise ValueError(f"layers must be at least 3, got {layers}")
        if features < 1:
            raise ValueError(f"features must be positive, got {features}")
        super().__init__(weights)
        self.layers = layers
        self.features = features
        self.blind = blind  # one model for every noise level, trained under gaussian-blind (DnCNN-B)

    def build_network(self, channels: int) -> nn.Module:
        """Return a freshly initialised DnCNN."""
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
        if not isinstance(network, DnCNNNetwork):
            raise TypeError("warm_start expects the network build_network returned")
        source_layers = sum(1 for k in state if k.endswith(".running_mean")) + 2
        if source_layers >= self.layers:
            super().warm_start(network, state, sample)
            return
        channels = network.body[0].in_channels
        source = DnCNNNetwork(channels, source_layers, self.features)
        super().warm_start(source, state, sample)
        inputs = _block_inputs(source, sample)
        old_middle, new_middle = source_layers - 2, self.layers - 2
        # old block j sits at position j * new // old; the identity blocks after it see its output
        placed = {j * new_middle // old_middle: j for j in range(old_middle)}
        with torch.no_grad():
            _copy_conv(network.body[0], source.body[0])
            _copy_conv(network.body[-1], source.body[-1])
            current = 0
            for position in range(new_middle):
                conv, bn = network.body[2 + 3 * position], network.body[3 + 3 * position]
                if position in placed:
                    current = placed[position]
                    _copy_conv(conv, source.body[2 + 3 * current])
                    bn.load_state_dict(source.body[3 + 3 * current].state_dict())
                else:
                    _make_identity(conv, bn, inputs[current + 1])






def _block_inputs(network: DnCNNNetwork, sample: torch.Tensor) -> list[torch.Tensor]:
    """Activations (eval mode) after the first ReLU and after each middle block of `network`."""
    seen: list[torch.Tensor] = []
    relus = [m for m in network.body if isinstance(m, nn.ReLU)]
    hooks = [r.register_forward_hook(lambda _m, _i, out: seen.append(out.detach().clone())) for r in relus]
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            network(sample.float())
    finally:
        for h in hooks:
            h.remove()
        network.train(was_training)
    return seen


def _copy_conv(target: nn.Conv2d, source: nn.Conv2d) -> None:
    target.weight.copy_(source.weight)
    if target.bias is not None and source.bias is not None:
        target.bias.copy_(source.bias)


def _make_identity(conv: nn.Conv2d, bn: nn.BatchNorm2d, activations: torch.Tensor) -> None:
    """Set conv+BN to pass `activations`-like inputs through unchanged (exactly so in eval mode)."""
    conv.weight.zero_()
    for c in range(conv.out_channels):
        conv.weight[c, c, conv.kernel_size[0] // 2, conv.kernel_size[1] // 2] = 1.0
    mean = activations.mean(dim=(0, 2, 3))
    var = activations.var(dim=(0, 2, 3), unbiased=True)
    bn.running_mean.copy_(mean)
    bn.running_var.copy_(var)
    bn.weight.copy_(torch.sqrt(var + bn.eps))
    bn.bias.copy_(mean)


@hookimpl
def register_restorers(register) -> None:
    """Register `dncnn`."""
    register(DnCNN)
