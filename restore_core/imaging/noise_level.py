"""Estimating the noise level of a real photo, for non-blind denoisers (`sigma=auto`, `--sigma auto`).

The estimate is scikit-image's `estimate_sigma`: the median absolute deviation of the finest
diagonal wavelet coefficients (Donoho & Johnstone, 1994), averaged over colour channels, on the
0-255 scale restore's `sigma` uses. It assumes additive white Gaussian noise; texture raises it a
little (Set12 at sigma 15 reads 15.4-16.7) and clipping lowers it (noise clipped to [0, 1] in a
photo with large dark or bright areas reads low at sigma 50), so estimate on the unclipped
degraded image where there is one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def estimate_noise_sigma(images: torch.Tensor) -> list[float]:
    """Return the estimated noise sigma (0-255) of each image of a float32 (N, C, H, W) batch."""
    import numpy as np
    from skimage.restoration import estimate_sigma

    if images.ndim != 4 or min(images.shape[-2:]) < 2:
        raise ValueError(f"estimating noise needs (N, C, H, W) images of at least 2x2, got {tuple(images.shape)}")
    out = []
    for image in images.detach().cpu().double().numpy():
        if image.shape[0] == 1:
            sigma = estimate_sigma(image[0])
        else:
            sigma = estimate_sigma(np.moveaxis(image, 0, -1), channel_axis=-1, average_sigmas=True)
        out.append(float(sigma) * 255.0)
    return out
