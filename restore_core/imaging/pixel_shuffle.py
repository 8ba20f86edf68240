"""Pixel-shuffle down-sampling (PD): an AWGN denoiser applied to real, spatially correlated noise.

Zhou et al., "When AWGN-based Denoiser Meets Real Noises" (AAAI 2020). Real camera noise is
correlated between neighbouring pixels (demosaicing spreads it) and so does not look like the
white noise a denoiser was trained on. Taking every `factor`-th pixel (`pixel_unshuffle`) splits an
image into factor^2 sub-images whose pixels were `factor` apart, where that correlation has mostly
gone; the denoiser restores each sub-image and `pixel_shuffle` puts them back.

Sub-sampling also spreads the image's own detail apart, so fine texture suffers. The paper's
refinement, implemented by `refine=True`: for each of the factor^2 positions in a factor x factor
block, the noisy image has the pixels at that position replaced by the PD result's, each of these
factor^2 images is denoised at full resolution (no sub-sampling), and the results are averaged.
The replaced pixels break up the noise's correlation while the untouched ones keep the detail.
It costs factor^2 + 1 denoiser passes over the image's pixels.

Invariants: input and output are float32 (N, C, H, W); any H and W (the image is reflect-padded
to a multiple of `factor` and cropped back); a per-pixel noise map travels with its pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

Denoise = Callable[["torch.Tensor", "torch.Tensor | None"], "torch.Tensor"]


def split(images: torch.Tensor, factor: int) -> torch.Tensor:
    """(N, C, H, W) with H, W multiples of `factor` -> (N * factor^2, C, H / factor, W / factor) sub-images."""
    import torch.nn.functional as F

    n, c, h, w = images.shape
    sub = F.pixel_unshuffle(images, factor)  # (N, C * f^2, H/f, W/f), channel-major
    return sub.view(n, c, factor * factor, h // factor, w // factor).transpose(1, 2).reshape(
        n * factor * factor, c, h // factor, w // factor)


def merge(sub: torch.Tensor, factor: int) -> torch.Tensor:
    """Inverse of `split`: (N * factor^2, C, h, w) sub-images -> (N, C, h * factor, w * factor)."""
    import torch.nn.functional as F

    nf, c, h, w = sub.shape
    n = nf // (factor * factor)
    grouped = sub.reshape(n, factor * factor, c, h, w).transpose(1, 2).reshape(n, c * factor * factor, h, w)
    return F.pixel_shuffle(grouped, factor)


def _pad(images: torch.Tensor, factor: int) -> torch.Tensor:
    import torch.nn.functional as F

    h, w = images.shape[-2:]
    ph, pw = -h % factor, -w % factor
    if not ph and not pw:
        return images
    mode = "reflect" if h > ph and w > pw else "replicate"
    return F.pad(images, (0, pw, 0, ph), mode=mode)


def pd_denoise(denoise: Denoise, images: torch.Tensor, factor: int, refine: bool = True,
               noise_map: torch.Tensor | None = None) -> torch.Tensor:
    """Denoise `images` through pixel-shuffle down-sampling by `factor` (with the paper's refinement).

    `denoise(x, map)` restores a batch `x`; `map` is the (N, 1, H, W) noise map matching `x`, or
    None when `noise_map` is None.
    """
    import torch

    if factor < 1:
        raise ValueError(f"the pixel-shuffle factor must be at least 1, got {factor}")
    if factor == 1:
        return denoise(images, noise_map)
    h, w = images.shape[-2:]
    padded = _pad(images, factor)
    padded_map = _pad(noise_map, factor) if noise_map is not None else None
    sub_map = split(padded_map, factor) if padded_map is not None else None
    coarse = merge(denoise(split(padded, factor), sub_map), factor)
    if not refine:
        return coarse[..., :h, :w]
    total = torch.zeros_like(padded)
    for dy in range(factor):
        for dx in range(factor):
            mixed = padded.clone()
            mixed[..., dy::factor, dx::factor] = coarse[..., dy::factor, dx::factor]
            total += denoise(mixed, padded_map)
    return (total / (factor * factor))[..., :h, :w]
