"""A no-reference check of a restored photo: is there less noise in its flat regions, and do its edges
keep their contrast? For real photographs, which have no clean original to score against.

Both measures work on luma Y (BT.601, 0-255) and compare the restored image with its input on the
same pixels, chosen from the input alone, so every restorer is measured on the same places:

- Flat regions: the input is smoothed by a Gaussian (sigma `SMOOTH`); its gradient magnitude is
  averaged over BLOCK x BLOCK blocks, and the blocks in the lowest FLAT_FRACTION of that average
  (at least MIN_FLAT_BLOCKS, leaving out blocks whose smoothed mean is within CLIP_MARGIN of 0 or
  255, where clipping hides noise) are the flat ones. An image's flat-region noise is the median,
  over those blocks, of the standard deviation of Y minus its Gaussian-smoothed self. Unlike the
  wavelet estimate of `noise_level`, which reads only the finest diagonal detail, this sees noise
  that demosaicing has spread over neighbouring pixels.
- Edges: the pixels in the top EDGE_FRACTION of the smoothed input's gradient magnitude. Edge
  contrast is the mean smoothed gradient magnitude of the restored image there over the input's:
  1 keeps the edges, below 1 blurs them (noise barely moves it, the smoothing sees to that).

Invariants: pure functions of float32 (N, C, H, W) images in [0, 1] (gray or RGB); images need at least
4 * BLOCK pixels on each side; results are per image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

BLOCK = 16
SMOOTH = 2.0
FLAT_FRACTION = 0.1
MIN_FLAT_BLOCKS = 4
EDGE_FRACTION = 0.05
CLIP_MARGIN = 8.0


@dataclass(frozen=True)
class NoReferenceCheck:
    """One restored image against its input: flat-region noise before and after, and edge contrast."""

    noise_in: float  # the input's flat-region noise, 0-255
    noise_out: float  # the restored image's, on the same blocks
    edge_contrast: float  # restored edge strength / input edge strength, on the input's strongest edges

    def passes(self, min_edge_contrast: float = 0.8) -> bool:
        """Whether the restored image is less noisy in flat regions and keeps `min_edge_contrast` of its edges."""
        return self.noise_out < self.noise_in and self.edge_contrast >= min_edge_contrast


def _gaussian(y: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (N, 1, H, W), borders mirrored."""
    import torch
    import torch.nn.functional as F

    radius = max(1, round(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=y.dtype)
    k = torch.exp(-(x * x) / (2 * sigma * sigma))
    k = (k / k.sum()).to(y.device)
    y = F.conv2d(F.pad(y, (radius, radius, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    return F.conv2d(F.pad(y, (0, 0, radius, radius), mode="reflect"), k.view(1, 1, -1, 1))


def _gradient(y: torch.Tensor) -> torch.Tensor:
    """Gradient magnitude of (N, 1, H, W) by central differences, borders mirrored."""
    import torch.nn.functional as F

    p = F.pad(y, (1, 1, 1, 1), mode="reflect")
    gx = (p[..., 1:-1, 2:] - p[..., 1:-1, :-2]) / 2
    gy = (p[..., 2:, 1:-1] - p[..., :-2, 1:-1]) / 2
    return (gx * gx + gy * gy).sqrt()


def _luma255(images: torch.Tensor) -> torch.Tensor:
    """BT.601 luma of gray or RGB images, float64 on 0-255."""
    from restore_core.imaging.colour import luma

    y = images if images.shape[1] == 1 else luma(images)
    return y.double() * 255.0


def no_reference_check(noisy: torch.Tensor, restored: torch.Tensor) -> list[NoReferenceCheck]:
    """Flat-region noise of input and output, and edge contrast, per image (see the module docstring)."""
    import torch

    if noisy.shape != restored.shape or noisy.ndim != 4 or noisy.shape[1] not in (1, 3):
        raise ValueError(f"need two (N, 1 or 3, H, W) batches of one shape, got {tuple(noisy.shape)} "
                         f"and {tuple(restored.shape)}")
    if min(noisy.shape[-2:]) < 4 * BLOCK:
        raise ValueError(f"the no-reference check needs images of at least {4 * BLOCK}x{4 * BLOCK} pixels")
    y_in, y_out = _luma255(noisy), _luma255(restored)
    s_in, s_out = _gaussian(y_in, SMOOTH), _gaussian(y_out, SMOOTH)
    g_in, g_out = _gradient(s_in), _gradient(s_out)
    d_in, d_out = y_in - s_in, y_out - s_out
    n, _, h, w = y_in.shape
    hb, wb = h // BLOCK, w // BLOCK

    def blocks(t: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) as (N, blocks, BLOCK * BLOCK), the partial blocks at the right and bottom left out."""
        return t[..., :hb * BLOCK, :wb * BLOCK].reshape(n, hb, BLOCK, wb, BLOCK).permute(0, 1, 3, 2, 4) \
            .reshape(n, hb * wb, BLOCK * BLOCK)

    activities, levels = blocks(g_in).mean(-1), blocks(s_in).mean(-1)
    spread_in, spread_out = blocks(d_in).std(-1), blocks(d_out).std(-1)
    results = []
    for i in range(n):
        usable = (levels[i] > CLIP_MARGIN) & (levels[i] < 255.0 - CLIP_MARGIN)
        candidates = activities[i].masked_fill(~usable, float("inf"))
        count = max(MIN_FLAT_BLOCKS, round(FLAT_FRACTION * int(usable.sum())))
        flat = candidates.argsort()[:count]
        noise_in = float(spread_in[i][flat].median())
        noise_out = float(spread_out[i][flat].median())
        threshold = torch.quantile(g_in[i].flatten(), 1.0 - EDGE_FRACTION)
        edges = g_in[i] >= threshold
        contrast = float(g_out[i][edges].mean() / g_in[i][edges].mean().clamp(min=1e-12))
        results.append(NoReferenceCheck(noise_in, noise_out, contrast))
    return results
