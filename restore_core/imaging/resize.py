"""Bicubic resizing that matches MATLAB's `imresize` closely (Pillow's float resampler).

Pillow's bicubic kernel uses a = -0.5 and widens the kernel when down-sampling (anti-aliasing),
as MATLAB does; torch's `interpolate` uses a = -0.75 and no anti-aliasing by default, which
shifts super-resolution baselines by tenths of a dB. Pillow's 32-bit float mode avoids rounding.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def bicubic_resize(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Resize (N, C, H, W) float images to (N, C, height, width) with MATLAB-like bicubic."""
    if height < 1 or width < 1:
        raise ValueError(f"cannot resize to {height}x{width}")
    batch = images.detach().to("cpu", torch.float32).numpy()
    out = np.empty((*batch.shape[:2], height, width), dtype=np.float32)
    for n in range(batch.shape[0]):
        for c in range(batch.shape[1]):
            plane = Image.fromarray(np.ascontiguousarray(batch[n, c]), mode="F")
            out[n, c] = np.asarray(plane.resize((width, height), Image.Resampling.BICUBIC))
    return torch.from_numpy(out).to(images.device)


def modcrop(images: torch.Tensor, scale: int) -> torch.Tensor:
    """Crop height and width down to multiples of `scale` (top-left anchored, as is customary)."""
    h, w = images.shape[-2:]
    return images[..., : h - h % scale, : w - w % scale]
