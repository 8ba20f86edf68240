"""JPEG compression through Pillow: the deblocking benchmark's degradation.

Each image is clipped to [0, 1], rounded to 8 bits, encoded as a baseline JPEG at `quality` (1-100,
Pillow's libjpeg quantisation tables scaled as the IJG does) and decoded back to float32: the round
trip through 8 bits is part of the degradation. Gray images are encoded as one-channel JPEGs; colour
ones as Pillow does by default (YCbCr, BT.601 full range) with 4:2:0 chroma subsampling unless
`subsampling` says 422 or 444. Deterministic (no randomness). Task `deblocking`;
`info.params["quality"]` holds the quality; there is no linear forward operator.

`jpeg-range` draws each image's quality uniformly from [quality_min, quality_max] (from that image's
generator), as when training one JPEG artifact remover for every quality (DnCNN-3, FBCNN); a batch
of one quality discloses it, a mixed batch lists them per image in `info.params["qualities"]`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from restore_core import DEBLOCKING, Degradation, DegradationInfo, Degraded, hookimpl

if TYPE_CHECKING:
    import torch

_SUBSAMPLING = {"444": 0, "422": 1, "420": 2}  # Pillow's codes


class JpegCompression(Degradation):
    """Encode and decode through 8-bit JPEG at `quality` (1-100) with Pillow."""

    name = "jpeg"
    description = "JPEG compression at `quality` 1-100 through Pillow, 4:2:0 chroma for colour (jpeg:quality=30)"
    task = DEBLOCKING

    def __init__(self, quality: int = 75, subsampling: Literal["444", "422", "420"] = "420") -> None:
        if not 1 <= quality <= 100:
            raise ValueError(f"quality must be an integer from 1 to 100, got {quality}")
        if subsampling not in _SUBSAMPLING:
            raise ValueError(f"subsampling must be 444, 422 or 420, got {subsampling!r}")
        self.quality = int(quality)
        self.subsampling = subsampling

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Compress each image on its own (the generators are not used: JPEG is deterministic)."""
        return Degraded(compress(clean, [self.quality] * clean.shape[0], self.subsampling), clean,
                        DegradationInfo(DEBLOCKING, params={"quality": self.quality}))


class JpegCompressionRange(Degradation):
    """JPEG at a quality each image draws uniformly from [quality_min, quality_max] (integers, inclusive)."""

    name = "jpeg-range"
    description = "JPEG compression, quality drawn per image from [quality_min, quality_max] (training)"
    task = DEBLOCKING

    def __init__(self, quality_min: int = 10, quality_max: int = 90,
                 subsampling: Literal["444", "422", "420"] = "420") -> None:
        if not 1 <= quality_min <= quality_max <= 100:
            raise ValueError(f"need 1 <= quality_min <= quality_max <= 100, got {quality_min} and {quality_max}")
        if subsampling not in _SUBSAMPLING:
            raise ValueError(f"subsampling must be 444, 422 or 420, got {subsampling!r}")
        self.quality_min = int(quality_min)
        self.quality_max = int(quality_max)
        self.subsampling = subsampling

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Draw each image's quality from its generator, then compress it."""
        import torch

        if len(generators) != clean.shape[0]:
            raise ValueError(f"{clean.shape[0]} images but {len(generators)} generators")
        qualities = [int(torch.randint(self.quality_min, self.quality_max + 1, (), generator=g)) for g in generators]
        params: dict[str, object] = {"qualities": tuple(qualities)}
        if len(set(qualities)) == 1:
            params["quality"] = qualities[0]
        return Degraded(compress(clean, qualities, self.subsampling), clean, DegradationInfo(DEBLOCKING, params=params))


def compress(clean: torch.Tensor, qualities: Sequence[int], subsampling: str) -> torch.Tensor:
    """Encode and decode each image of `clean` through 8-bit JPEG at its quality with Pillow."""
    import numpy as np
    import torch
    from PIL import Image

    from restore_core.imaging.io import to_array, to_tensor

    out = []
    for image, quality in zip(clean, qualities, strict=True):
        array = to_array(image)  # clips and rounds to 8 bits, as saving the image would
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, format="JPEG", quality=quality, subsampling=_SUBSAMPLING[subsampling])
        decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
        out.append(to_tensor(decoded)[0])
    return torch.stack(out).to(clean.device)


@hookimpl
def register_degradations(register) -> None:
    """Register `jpeg` (`jpeg30` is `jpeg:quality=30`) and `jpeg-range`."""
    register(JpegCompression, shorthand="quality")
    register(JpegCompressionRange)
