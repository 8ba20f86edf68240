"""Region-selective restoration: masks, rectangular regions, feathered blending and the box a
restorer has to see.

- A mask is a bool (H, W) tensor, True where the image is restored. A mask file is read as gray
  and thresholded at half its range (white = restore); its size must equal the image's.
- The blend weight is 1 on the mask and falls to 0 over `feather` pixels outside it along a raised
  cosine of the Euclidean distance d to the nearest mask pixel, (1 + cos(pi d / (feather + 1))) / 2:
  flat at both ends, so neither the mask's edge nor the feather's outer edge shows a kink (a linear
  ramp leaves a tenth of the noise right outside the mask). Pixels of weight 0 are copied from the
  input, never recomputed, so outside the mask and its feather the output is the input bit for bit.
- Only the bounding box of the nonzero weights is restored, widened by the restorer's receptive
  margin (so each kept pixel sees the context it would see in the whole image) and clipped to the
  image: the work scales with the region, not the image.

Bad masks and regions (a size that differs, nothing selected, a region reaching outside the
image) are UsageErrors raised before any restoring.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from restore_core.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    import torch

#: pixels over which a restored region fades into the untouched image unless told otherwise
DEFAULT_FEATHER = 8

_REGION = re.compile(r"^\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*$")


@dataclass(frozen=True)
class Box:
    """A rectangle of pixel rows [top, bottom) and columns [left, right)."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def area(self) -> int:
        """Return the number of pixels in the box."""
        return (self.bottom - self.top) * (self.right - self.left)

    def grow(self, margin: int, height: int, width: int) -> Box:
        """Return the box widened by `margin` pixels on every side, clipped to a height x width image."""
        return Box(max(self.top - margin, 0), max(self.left - margin, 0),
                   min(self.bottom + margin, height), min(self.right + margin, width))

    def within(self, outer: Box) -> Box:
        """Return this box in the coordinates of `outer` (which contains it)."""
        return Box(self.top - outer.top, self.left - outer.left, self.bottom - outer.top, self.right - outer.left)

    def slices(self) -> tuple[slice, slice]:
        """Return (rows, columns) slices selecting the box from an (..., H, W) array."""
        return slice(self.top, self.bottom), slice(self.left, self.right)


def parse_region(text: str) -> tuple[int, int, int, int]:
    """Parse `X,Y,W,H` (pixels; X, Y the top-left corner) into a tuple; a malformed one is a UsageError."""
    match = _REGION.match(text)
    if match is None:
        raise UsageError(f"a region is X,Y,W,H in pixels (e.g. 10,20,64,48), not {text!r}")
    return tuple(int(v) for v in match.groups())  # type: ignore[return-value]


def region_mask(region: tuple[int, int, int, int] | str, height: int, width: int) -> torch.Tensor:
    """Return the bool (H, W) mask of an X,Y,W,H region, which must lie inside a height x width image."""
    import torch

    x, y, w, h = parse_region(region) if isinstance(region, str) else tuple(int(v) for v in region)
    if w < 1 or h < 1 or x < 0 or y < 0:
        raise UsageError(f"region {x},{y},{w},{h} is empty: give X,Y,W,H with a positive width and height")
    if x + w > width or y + h > height:
        raise UsageError(f"region {x},{y},{w},{h} reaches outside the {width}x{height} image "
                         f"(it ends at {x + w},{y + h})")
    mask = torch.zeros(height, width, dtype=torch.bool)
    mask[y : y + h, x : x + w] = True
    return mask


def read_mask(path: str | os.PathLike[str], height: int, width: int) -> torch.Tensor:
    """Read a mask image (white = restore) as a bool (H, W) tensor for a height x width image."""
    from restore_core.imaging.io import read_image

    return checked_mask(read_image(path, mode="gray")[0, 0] > 0.5, height, width, name=str(path))


def checked_mask(mask: torch.Tensor | np.ndarray, height: int, width: int, name: str = "the mask") -> torch.Tensor:
    """Return `mask` ((H, W) or (1, 1, H, W); bool, or numbers with > 0.5 selected) as a bool (H, W) tensor."""
    import numpy as np
    import torch

    tensor = torch.from_numpy(np.asarray(mask)) if not isinstance(mask, torch.Tensor) else mask
    while tensor.ndim > 2 and tensor.shape[0] == 1:
        tensor = tensor[0]
    if tensor.ndim != 2:
        raise UsageError(f"{name} must be one (H, W) plane, not shape {tuple(tensor.shape)}")
    if tuple(tensor.shape) != (height, width):
        raise UsageError(f"{name} is {tensor.shape[1]}x{tensor.shape[0]} but the image is {width}x{height}; "
                         "a mask must have the image's size")
    selected = tensor if tensor.dtype == torch.bool else tensor.double() > 0.5
    if not bool(selected.any()):
        raise UsageError(f"{name} selects no pixel: white (above half the range) marks what to restore")
    return selected.cpu()


def feather_weights(mask: torch.Tensor, feather: int) -> torch.Tensor:
    """Return float32 (H, W) blend weights: 1 on `mask`, falling to 0 over `feather` pixels outside it."""
    import numpy as np
    import torch
    from scipy.ndimage import distance_transform_edt

    if feather < 0:
        raise UsageError(f"feather must be 0 or more pixels, not {feather}")
    weights = torch.zeros(mask.shape, dtype=torch.float32)
    # the nearest mask pixel of any pixel within `feather` lies in this box, so the distance
    # transform of the box is exact there and nothing outside it is touched
    box = bounding_box(mask).grow(feather, *mask.shape)
    rows, cols = box.slices()
    distance = distance_transform_edt(~mask[rows, cols].numpy())
    ramp = 0.5 + 0.5 * np.cos(np.pi * np.clip(distance / (feather + 1), 0.0, 1.0))
    weights[rows, cols] = torch.from_numpy(ramp.astype(np.float32))
    return weights


def bounding_box(selected: torch.Tensor) -> Box:
    """Return the smallest box holding every nonzero pixel of an (H, W) tensor (which has one)."""
    import torch

    rows = torch.nonzero(selected.any(dim=1)).flatten()
    cols = torch.nonzero(selected.any(dim=0)).flatten()
    if rows.numel() == 0:
        raise UsageError("the mask selects no pixel")
    return Box(int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)


def blend(original: torch.Tensor, restored: torch.Tensor, weights: torch.Tensor, box: Box) -> torch.Tensor:
    """Return `original` (N, C, H, W) with `restored` (the box's pixels) faded in by `weights` (H, W).

    Pixels of weight 0 keep the original's value exactly; pixels of weight 1 take the restored one.
    """
    import torch

    rows, cols = box.slices()
    w = weights[rows, cols].to(original.device)
    if restored.shape[-2:] != w.shape:
        raise ValueError(f"restored box {tuple(restored.shape[-2:])} does not match the box {tuple(w.shape)}")
    under = original[..., rows, cols]
    mixed = w * restored.to(original.dtype) + (1 - w) * under
    out = original.clone()
    out[..., rows, cols] = torch.where(w > 0, mixed, under)
    return out
