"""Sample tiles of a benchmark run: what the comparison grids of a report show.

For the first image of every (dataset, degradation), the runner saves one tile each of the clean,
degraded and restored images: the whole image reduced to SAMPLE_SIDE with its most detailed region
outlined, above that region enlarged SAMPLE_ZOOM times. `info.json` is written last: its presence
means the tiles are complete, so an interrupted run redoes them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restore_core.system.atomic_files import atomic_write_text

if TYPE_CHECKING:
    import torch

    from restore_core.components.interfaces import Degraded

# A sample tile is the whole image reduced to SAMPLE_SIDE (longest side) with a detail region
# outlined, above that region enlarged by nearest-neighbour: sized so a colour tile's PNG stays under
# about 60 KB, since reports embed every tile and benchmarks/results commits them.
SAMPLE_SIDE = 128
SAMPLE_CROP = 64  # side of the detail region, in pixels of the clean image
SAMPLE_ZOOM = 3
SAMPLE_LAYOUT = "overview+zoom"  # info.json's "layout"; older runs' samples (no layout) are 160-px centre crops


def sample_dir(root: Path, dataset: str, degradation: str) -> Path:
    """The folder of one (dataset, degradation)'s sample crops."""
    return root / _slug(dataset) / _slug(degradation)


def has_samples(root: Path, dataset: str, degradation: str) -> bool:
    return (sample_dir(root, dataset, degradation) / "info.json").is_file()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", Path(text).name if "/" in text else text)[:80] or "_"


def save_samples(root: Path, dataset: str, degradation: str, image_id: str, degraded: Degraded,
                 outputs: dict[str, torch.Tensor]) -> None:
    """Write one tile each for the clean, degraded and restored images: the whole image and a zoomed detail."""
    import torch

    from restore_core.imaging.io import write_png

    folder = sample_dir(root, dataset, degradation)
    target = degraded.target.clamp(0, 1)
    h, w = target.shape[-2:]
    side = min(SAMPLE_CROP, h, w)
    y, x = detail_region(target, side)
    shown = degraded.image.clamp(0, 1)
    info: dict[str, Any] = {"image": image_id, "layout": SAMPLE_LAYOUT, "crop": [y, x, side], "zoom": SAMPLE_ZOOM,
                            "overview": SAMPLE_SIDE, "scale": degraded.info.scale}
    if shown.shape[-2:] != target.shape[-2:]:
        # super-resolution: show the input's own pixels, enlarged by nearest-neighbour, rather than
        # an up-sampling that would look like the `bicubic` restorer's tile
        shown = torch.nn.functional.interpolate(shown, size=(h, w), mode="nearest")
    write_png(folder / "clean.png", sample_tile(target, y, x, side))
    write_png(folder / "degraded.png", sample_tile(shown, y, x, side))
    names = {}
    for name, out in outputs.items():
        names[name] = f"restored-{_slug(name)}.png"
        write_png(folder / names[name], sample_tile(out.clamp(0, 1), y, x, side))
    info["restored"] = names
    # written last: its presence means the samples are complete
    atomic_write_text(folder / "info.json", json.dumps(info))


def detail_region(image: torch.Tensor, side: int) -> tuple[int, int]:
    """Return the top-left (y, x) of the `side`-pixel square of (1, C, H, W) `image` with the most gradient energy."""
    import torch

    h, w = image.shape[-2:]
    centre = ((h - side) // 2, (w - side) // 2)
    if side < 4:
        return centre
    gray = image[0].double().mean(0)
    # |dx| + |dy| on the (H-1, W-1) grid; a window of side-1 of it covers a side x side square
    energy = ((gray[:-1, 1:] - gray[:-1, :-1]).abs() + (gray[1:, :-1] - gray[:-1, :-1]).abs())[None, None]
    stride = max(1, side // 8)  # coarse steps: the region only has to land on detail, not be optimal
    pooled = torch.nn.functional.avg_pool2d(energy, side - 1, stride=stride)[0, 0]
    if float(pooled.max()) <= 1e-12:  # a flat image has no detail to prefer
        return centre
    row, col = divmod(int(pooled.argmax()), pooled.shape[1])
    return row * stride, col * stride


def sample_tile(image: torch.Tensor, y: int, x: int, side: int) -> torch.Tensor:
    """Return one sample tile: `image` reduced to SAMPLE_SIDE with the region outlined, above the region zoomed."""
    import torch

    h, w = image.shape[-2:]
    factor = min(1.0, SAMPLE_SIDE / max(h, w))
    oh, ow = max(1, round(h * factor)), max(1, round(w * factor))
    overview = image.float()
    if factor < 1:  # antialiased, so noise averages out rather than aliasing into patterns
        overview = torch.nn.functional.interpolate(overview, size=(oh, ow), mode="bilinear", antialias=True,
                                                   align_corners=False).clamp(0, 1)
    zoom = image[..., y : y + side, x : x + side].float()
    zoom = zoom.repeat_interleave(SAMPLE_ZOOM, -2).repeat_interleave(SAMPLE_ZOOM, -1)
    frame, gap = 2, 4
    zoomed = side * SAMPLE_ZOOM + 2 * frame
    width = max(ow, zoomed)
    canvas = torch.ones(1, image.shape[1], oh + gap + zoomed, width)
    left = (width - ow) // 2
    canvas[..., :oh, left : left + ow] = overview
    top, y0, x0 = oh + gap, round(y * factor), left + round(x * factor)
    box = max(1, round(side * factor))
    _outline(canvas, y0, x0, min(box, oh - y0), min(box, ow - (x0 - left)))
    zleft = (width - zoomed) // 2
    _outline(canvas, top, zleft, zoomed, zoomed)
    inner = side * SAMPLE_ZOOM
    canvas[..., top + frame : top + frame + inner, zleft + frame : zleft + frame + inner] = zoom
    return canvas


def _outline(canvas: torch.Tensor, y: int, x: int, height: int, width: int) -> None:
    """Draw a 2-pixel frame just inside the box: red on colour, black-and-white on gray (a gray PNG stays small)."""
    import torch

    outer, inner = ((1.0, 0.1, 0.1), (1.0, 0.1, 0.1)) if canvas.shape[1] == 3 else ((0.0,), (1.0,))
    for offset, colour in ((0, outer), (1, inner)):
        top, left = y + offset, x + offset
        bottom, right = y + height - 1 - offset, x + width - 1 - offset
        if bottom < top or right < left:
            return
        value = torch.tensor(colour).view(1, -1, 1)
        canvas[..., top, left : right + 1] = value
        canvas[..., bottom, left : right + 1] = value
        canvas[..., top : bottom + 1, left] = value
        canvas[..., top : bottom + 1, right] = value
