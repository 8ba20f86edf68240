"""Tiled inference: run a fully convolutional network on overlapping tiles within a memory budget.

Each tile is run with a margin of context as wide as the network's receptive radius; the margin
is discarded (its pixels saw the tile's zero padding) and the tiles are blended with linear ramps
over a further `blend` pixels. Every pixel that is kept was computed with its full receptive field,
so the blended output equals the untiled one up to floating-point rounding.

A runner may enlarge its input by an integer `scale` (super-resolution: up-sampling, colour
conversion and the network together), so that no step ever holds more than a tile: margins and
blends are counted in input pixels and scaled for the output. Whoever shows progress registers a
callback with `reporting_tiles`; `run_tiled` calls it after each tile.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from torch import nn

Runner = Callable[[torch.Tensor], torch.Tensor]

#: pixels over which neighbouring tiles are cross-faded, beyond the discarded margins
BLEND = 8

#: called with (tiles done, tiles in all) after each tile; a context variable, so the callback
#: reaches the runner through any restorer without a parameter on every `restore` in between
_on_tile: contextvars.ContextVar[Callable[[int, int], None] | None] = contextvars.ContextVar("on_tile", default=None)


@contextlib.contextmanager
def reporting_tiles(callback: Callable[[int, int], None] | None) -> Iterator[None]:
    """Call `callback(done, total)` after each tile `run_tiled` runs inside the block."""
    token = _on_tile.set(callback)
    try:
        yield
    finally:
        _on_tile.reset(token)


def receptive_radius(module: nn.Module) -> int:
    """Upper bound on how far (in pixels) an output pixel sees: the network's own `receptive_radius`
    when it declares one (needed once it downsamples), else the sum of every conv's reach."""
    declared = getattr(module, "receptive_radius", None)
    if isinstance(declared, int):
        return declared
    radius = 0
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            k = max(m.kernel_size)
            radius += (k - 1) // 2 * max(m.dilation)
    return radius


def size_multiple(module: nn.Module) -> int:
    """The grid a network's input is aligned to internally (2**levels for a U-Net; else 1)."""
    declared = getattr(module, "size_multiple", 1)
    return declared if isinstance(declared, int) and declared > 0 else 1


def tile_starts(length: int, tile: int, overlap: int, align: int = 1) -> list[int]:
    """Start offsets, multiples of `align`, of tiles of `tile` pixels covering `length` with at
    least `overlap` shared; the last tile runs to the end (up to `align - 1` pixels longer)."""
    if length <= tile:
        return [0]
    stride = (tile - overlap) // align * align
    if stride < 1:
        raise ValueError(f"tile {tile} must exceed the overlap {overlap} by at least {align}")
    starts = list(range(0, length - tile, stride))
    last = (length - tile) // align * align
    if last > starts[-1]:
        starts.append(last)
    return starts


def _ramp(size: int, start: int, length: int, margin: int, blend: int) -> torch.Tensor:
    """Weights along one axis for a tile at `start`: zero over inner margins, then a linear ramp."""
    w = torch.ones(size)
    ramp = torch.arange(1, blend + 1, dtype=torch.float32) / (blend + 1)
    if start > 0:
        w[:margin] = 0
        w[margin : margin + blend] = ramp
    if start + size < length:
        w[size - margin :] = 0
        w[size - margin - blend : size - margin] = torch.minimum(w[size - margin - blend : size - margin],
                                                                 ramp.flip(0))
    return w


def run_tiled(runner: Runner, x: torch.Tensor, tile: int, margin: int, blend: int = BLEND,
              align: int = 1, scale: int = 1) -> torch.Tensor:
    """Apply `runner` to `x` (N, C, H, W) tile by tile; equal to `runner(x)`.

    `runner` maps an h x w input to `scale`h x `scale`w, each output pixel depending only on input
    pixels within `margin`; `tile`, `margin` and `blend` count input pixels. Tiles start on
    multiples of `align`, so a network that downsamples sees the same grid as on the whole image.
    Only the output is as large as the image: every other buffer is a tile's or a row's.
    """
    n, _, h, w = x.shape
    overlap = 2 * margin + blend
    if tile <= overlap:
        raise ValueError(f"tile {tile} must be larger than twice the margin plus the blend ({overlap})")
    if h <= tile and w <= tile:
        return runner(x)
    s = scale
    out: torch.Tensor | None = None
    rows, cols = tile_starts(h, tile, overlap, align), tile_starts(w, tile, overlap, align)
    # the tiles form a grid and each mask is a product of a row ramp and a column ramp, so the summed
    # weights are the product of the summed ramps: two vectors instead of a whole-image weight map
    row_weight, col_weight = torch.zeros(h * s), torch.zeros(w * s)
    report, done = _on_tile.get(), 0
    for i, y in enumerate(rows):
        th = h - y if y == rows[-1] else min(tile, h)
        wy = _ramp(th * s, y * s, h * s, margin * s, blend * s)
        row_weight[y * s : (y + th) * s] += wy
        for x0 in cols:
            tw = w - x0 if x0 == cols[-1] else min(tile, w)
            wx = _ramp(tw * s, x0 * s, w * s, margin * s, blend * s)
            if i == 0:
                col_weight[x0 * s : (x0 + tw) * s] += wx
            piece = runner(x[..., y : y + th, x0 : x0 + tw])
            if piece.shape[-2:] != (th * s, tw * s):
                raise ValueError(f"tiling needs a network that maps {th}x{tw} to {th * s}x{tw * s}; "
                                 f"got {tuple(piece.shape)}")
            if out is None:
                out = torch.zeros(n, piece.shape[1], h * s, w * s, dtype=piece.dtype)
            out[..., y * s : (y + th) * s, x0 * s : (x0 + tw) * s] += piece * (wy[:, None] * wx[None, :])
            done += 1
            if report is not None:
                report(done, len(rows) * len(cols))
    if out is None:  # unreachable: tile_starts always yields a tile; kept for the type checker
        return runner(x)
    return out.div_(row_weight.view(-1, 1)).div_(col_weight.view(1, -1))


def available_memory(device: torch.device) -> int:
    """Bytes this process may reasonably use on `device` now (free GPU memory, or MemAvailable)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 << 30  # unknown platform: assume 4 GiB


def bytes_per_pixel(module: nn.Module, element_size: int = 4) -> int:
    """Rough peak activation bytes per pixel: a few live feature maps of the widest layer."""
    widest = max((m.out_channels for m in module.modules() if isinstance(m, nn.Conv2d)), default=64)
    return 4 * widest * element_size  # input and output of a conv, plus the residual and slack


def auto_tile(module: nn.Module, shape: tuple[int, ...], device: torch.device, fraction: float = 0.25) -> int | None:
    """Return a tile side that keeps activations within `fraction` of available memory, or None
    when the whole image fits."""
    n, _c, h, w = shape
    per_pixel = bytes_per_pixel(module) * n
    budget = available_memory(device) * fraction
    if h * w * per_pixel <= budget:
        return None
    side = int(math.sqrt(budget / per_pixel)) // 8 * 8
    return max(side, 4 * receptive_radius(module) + 64)
