"""The DnCNN network (an nn.Module) and the surgery that deepens a trained one.

Kept apart from `restore_builtins.dncnn`, which registers the restorer: this module imports torch,
and `DnCNN.build_network` imports it only when a network is built, so registering and listing
restorers never imports torch.
"""

from __future__ import annotations

import torch
from torch import nn


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
        initialise_residual_stack(self.body)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return `x` minus the predicted noise."""
        return x - self.body(x)


def initialise_residual_stack(body: nn.Sequential) -> None:
    """Kaiming weights and zero biases for every convolution of `body`, its last one scaled by 0.1.

    The stack predicts a residual, so it starts close to the identity map: a large random residual
    costs the first few hundred steps just to undo it.
    """
    for m in body.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    with torch.no_grad():
        body[-1].weight.mul_(0.1)


class ConditionedDnCNNNetwork(DnCNNNetwork):
    """DnCNN that also takes a noise-level map (FDnCNN): input (N, C + 1, H, W), output (N, C, H, W).

    The last input channel holds each pixel's noise sigma on the 0-1 scale (sigma / 255); the
    first C are the noisy image, from which the predicted noise is subtracted.
    """

    def __init__(self, channels: int, layers: int, features: int) -> None:
        super().__init__(channels, layers, features)
        # the first convolution also takes the map; initialised as DnCNNNetwork initialises it
        self.body[0] = nn.Conv2d(channels + 1, features, 3, padding=1)
        nn.init.kaiming_normal_(self.body[0].weight, nonlinearity="relu")
        nn.init.zeros_(self.body[0].bias)
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the image channels of `x` minus the noise predicted from image and map."""
        return x[:, : self.channels] - self.body(x)


def deepen(network: DnCNNNetwork, source: DnCNNNetwork, sample: torch.Tensor) -> None:
    """Copy a trained shallower `source` into `network`, its middle blocks spread evenly and identity
    blocks (calibrated on `sample`) between them, so `network` computes what `source` does."""
    inputs = _block_inputs(source, sample)
    old_middle, new_middle = _middle_blocks(source), _middle_blocks(network)
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


def _middle_blocks(network: DnCNNNetwork) -> int:
    return sum(isinstance(m, nn.BatchNorm2d) for m in network.body)


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
