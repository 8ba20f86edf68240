"""The SRCNN network (an nn.Module) behind the `srcnn` restorer.

Kept apart from `restore_builtins.srcnn`, which registers the restorer: this module imports torch,
and `SRCNN.build_network` imports it only when a network is built, so registering and listing
restorers never imports torch.
"""

from __future__ import annotations

import torch
from torch import nn


class SRCNNNetwork(nn.Module):
    """Three convolutions, 9x9 -> 5x5 -> 5x5 with 64 and 32 filters, on one channel."""

    def __init__(self, residual: bool) -> None:
        super().__init__()
        self.residual = residual
        self.body = nn.Sequential(
            nn.Conv2d(1, 64, 9, padding=4),
            nn.ReLU(inplace=True),
            nn.Conv2d(64, 32, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 1, 5, padding=2),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        if residual:
            with torch.no_grad():
                self.body[-1].weight.mul_(0.1)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """Map bicubic Y to restored Y."""
        out = self.body(y)
        return y + out if self.residual else out
