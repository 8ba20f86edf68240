"""JPEG compression through Pillow: the deblocking benchmark's degradation.

Each image is clipped to [0, 1], rounded to 8 bits, encoded as a baseline JPEG at `quality` (1-100,
Pillow's libjpeg quantisation tables scaled as the IJG does) and decoded back to float32: the round
trip through 8 bits is part of the degradation. Gray images are encoded as one-channel JPEGs; colour
ones as Pillow does by default (YCbCr, BT.601 full range) with 4:2:0 chroma subsampling unless
`subsampling` says 422 or 444. Deterministic (no randomness). Task `deblocking`;
`info.params["quality"]` holds the quality; there is no linear forward operator.
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
        import numpy as np
        import torch
        from PIL import Image

        from restore_core.imaging.io import to_array, to_tensor

        out = []
        for image in clean:
            array = to_array(image)  # clips and rounds to 8 bits, as saving the image would
            buffer = io.BytesIO()
            Image.fromarray(array).save(buffer, format="JPEG", quality=self.quality,
                                        subsampling=_SUBSAMPLING[self.subsampling])
            decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
            out.append(to_tensor(decoded)[0])
        return Degraded(torch.stack(out).to(clean.device), clean,
                        DegradationInfo(DEBLOCKING, params={"quality": self.quality}))


@hookimpl
def register_degradations(register) -> None:
    """Register `jpeg` (`jpeg30` is `jpeg:quality=30`)."""
    register(JpegCompression, shorthand="quality")
