"""Cost of a network per pixel: multiply-adds of its convolutions, counted on a real forward pass."""

from __future__ import annotations

import torch
from torch import nn


def flops_per_pixel(network: nn.Module, channels: int | None = None, size: int = 64) -> float:
    """Floating-point operations (2 per multiply-add) of every (transposed) convolution, per input pixel.

    Counted with forward hooks on a `size` x `size` input, so downsampling, upsampling and skipped
    branches are priced as the network actually runs them; elementwise work is left out.
    `channels` defaults to what the first convolution takes (SRCNN takes luma only, for example).
    """
    if channels is None:
        first = next(m for m in network.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))
        channels = first.in_channels
    total = 0

    def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        kernel = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
        if isinstance(module, nn.ConvTranspose2d):
            # every input pixel scatters a kernel-sized patch into each output channel
            total += inputs[0].numel() // module.in_channels * module.in_channels * module.out_channels \
                * module.kernel_size[0] * module.kernel_size[1] // module.groups
        else:
            total += output.numel() // module.out_channels * module.out_channels * kernel

    hooks = [m.register_forward_hook(count) for m in network.modules()
             if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            network(torch.zeros(1, channels, size, size))
    finally:
        for h in hooks:
            h.remove()
        network.train(was_training)
    return 2.0 * total / (size * size)
