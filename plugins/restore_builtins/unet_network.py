"""The residual U-Net network (nn.Modules) behind the `unet` restorer.

Kept apart from `restore_builtins.unet`, which registers the restorer: this module imports torch,
and `UNetDenoiser.build_network` imports it only when a network is built, so registering and
listing restorers never imports torch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResidualBlock(nn.Module):
    """conv-ReLU-conv with an identity skip."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return `x` plus the block's correction."""
        return x + self.conv2(F.relu(self.conv1(x)))


class UNetNetwork(nn.Module):
    """Head conv, `levels` x (blocks, stride-2 down), bottleneck blocks, mirrored up path, tail conv."""

    def __init__(self, channels: int, features: int, levels: int, blocks: int) -> None:
        super().__init__()
        widths = [features * 2**i for i in range(levels + 1)]
        self.levels = levels
        self.head = nn.Conv2d(channels, features, 3, padding=1, bias=False)
        self.encoders = nn.ModuleList(
            nn.Sequential(*[ResidualBlock(widths[i]) for _ in range(blocks)]) for i in range(levels))
        self.downs = nn.ModuleList(
            nn.Conv2d(widths[i], widths[i + 1], 2, stride=2, bias=False) for i in range(levels))
        self.bottleneck = nn.Sequential(*[ResidualBlock(widths[levels]) for _ in range(blocks)])
        self.ups = nn.ModuleList(
            nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2, bias=False) for i in range(levels))
        self.decoders = nn.ModuleList(
            nn.Sequential(*[ResidualBlock(widths[i]) for _ in range(blocks)]) for i in range(levels))
        self.tail = nn.Conv2d(features, channels, 3, padding=1, bias=False)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        with torch.no_grad():
            # residual blocks start near the identity and the predicted noise near zero, so the
            # untrained network is already the identity map rather than a large random residual
            for m in self.modules():
                if isinstance(m, ResidualBlock):
                    m.conv2.weight.mul_(0.1)
            self.tail.weight.mul_(0.1)
        self.size_multiple = 2**levels
        # tiling needs a bound on how far an output pixel sees: a 3x3 conv at level i reaches one
        # pixel of that level, 2**i input pixels (4 * blocks of them per level, both paths); each
        # down and up step at most one pixel of the coarser level; the alignment grid one cell
        per_level = [4 * blocks * 2**i + 2 * 2 ** (i + 1) for i in range(levels)]
        self.receptive_radius = 2 + sum(per_level) + 2 * blocks * 2**levels + self.size_multiple

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return `x` minus the predicted noise; any height and width (padded to the grid inside)."""
        return x - self.predict_noise(x)

    def predict_noise(self, x: torch.Tensor) -> torch.Tensor:
        """The noise the network sees in `x` (its `channels` output channels, `x`'s height and width)."""
        h, w = x.shape[-2:]
        m = self.size_multiple
        pad_h, pad_w = -h % m, -w % m
        y = x
        if pad_h or pad_w:
            mode = "reflect" if pad_h < h and pad_w < w else "replicate"
            y = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
        y = self.head(y)
        skips = []
        for encode, down in zip(self.encoders, self.downs, strict=True):
            y = encode(y)
            skips.append(y)
            y = down(y)
        y = self.bottleneck(y)
        for i in reversed(range(self.levels)):
            y = self.decoders[i](self.ups[i](y) + skips[i])
        return self.tail(y)[..., :h, :w]


class ConditionedUNetNetwork(UNetNetwork):
    """The U-Net that also takes a noise-level map (DRUNet's conditioning): input (N, C + 1, H, W).

    The last input channel holds each pixel's noise sigma on the 0-1 scale (sigma / 255); the
    predicted noise is subtracted from the first C, the noisy image.
    """

    def __init__(self, channels: int, features: int, levels: int, blocks: int) -> None:
        super().__init__(channels, features, levels, blocks)
        head = nn.Conv2d(channels + 1, features, 3, padding=1, bias=False)
        nn.init.kaiming_normal_(head.weight, nonlinearity="relu")
        self.head = head
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the image channels of `x` minus the noise predicted from image and map."""
        return x[:, : self.channels] - self.predict_noise(x)
