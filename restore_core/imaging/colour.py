"""Colour conversions on (N, C, H, W) tensors in [0, 1]: ITU-R BT.601 studio-swing YCbCr.

This is MATLAB's `rgb2ycbcr`, the conversion super-resolution papers score Y-PSNR with.
A gray image is treated as R = G = B, so its Y is 16/255 + 219/255 * gray.
"""

from __future__ import annotations

import torch

_TO_YCBCR = torch.tensor(
    [[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]],
    dtype=torch.float64,
) / 255.0
_OFFSET = torch.tensor([16.0, 128.0, 128.0], dtype=torch.float64) / 255.0


def as_rgb(images: torch.Tensor) -> torch.Tensor:
    """Return images with 3 channels, replicating a gray channel."""
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def rgb_to_ycbcr(images: torch.Tensor) -> torch.Tensor:
    """Convert RGB (or gray) images in [0, 1] to YCbCr in [0, 1] (Y in [16/255, 235/255])."""
    rgb = as_rgb(images)
    m = _TO_YCBCR.to(rgb.device, rgb.dtype)
    off = _OFFSET.to(rgb.device, rgb.dtype).view(1, 3, 1, 1)
    return torch.einsum("oc,nchw->nohw", m, rgb) + off


def ycbcr_to_rgb(images: torch.Tensor) -> torch.Tensor:
    """Invert `rgb_to_ycbcr`."""
    m = torch.linalg.inv(_TO_YCBCR).to(images.device, images.dtype)
    off = _OFFSET.to(images.device, images.dtype).view(1, 3, 1, 1)
    return torch.einsum("oc,nchw->nohw", m, images - off)


def luma(images: torch.Tensor) -> torch.Tensor:
    """Return the Y channel (N, 1, H, W) of RGB or gray images."""
    return rgb_to_ycbcr(images)[:, :1]
