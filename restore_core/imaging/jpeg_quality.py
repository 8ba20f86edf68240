"""The IJG quality a JPEG file was saved at, read from its quantisation tables.

A JPEG file carries the tables its encoder divided the DCT coefficients by. libjpeg (and Pillow,
and most software that offers a 1-100 "quality") builds them by scaling the standard tables of the
JPEG specification's Annex K: `max(1, min(255, (base * s(q) + 50) // 100))`, with `s(q)` = 5000 / q
below 50 and 200 - 2q from 50 on. So the quality is recovered exactly for such files by finding the
q whose scaled luminance table matches; for other encoders (cameras, phones with their own tables)
the nearest q in the least-squares sense on log steps is the quality whose artifacts are most alike.

Invariants: pure reading, no decoding of pixels; the base tables come from the installed libjpeg
itself (a tiny image saved at quality 50, where `s` = 100 leaves them unscaled), so what is matched
is what this Pillow writes. A file that is not a JPEG, or has no luminance table, gives None.
"""

from __future__ import annotations

import functools
import io
import math
import os

#: the qualities a file's tables are matched against
QUALITIES = range(1, 101)


@functools.cache
def _base_luma_table() -> tuple[int, ...]:
    """libjpeg's unscaled luminance table, in the order Pillow reports tables (natural, not zig-zag)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (8, 8)).save(buffer, format="JPEG", quality=50)
    return tuple(Image.open(io.BytesIO(buffer.getvalue())).quantization[0])


def quality_scale(quality: float) -> float:
    """The IJG scaling (percent) of the base tables at `quality` 1-100, unfloored (libjpeg takes its floor)."""
    return 5000.0 / quality if quality < 50 else 200.0 - 2.0 * quality


def scaled_table(quality: int) -> tuple[int, ...]:
    """The luminance table libjpeg writes at `quality` (1-100, baseline: steps clamped to 1-255)."""
    scale = int(quality_scale(quality))
    return tuple(max(1, min(255, (step * scale + 50) // 100)) for step in _base_luma_table())


def quality_of_table(table: tuple[int, ...] | list[int]) -> int:
    """The IJG quality whose luminance table is nearest to `table` (exact for libjpeg's own files)."""
    if len(table) != 64 or min(table) < 1:
        raise ValueError("a luminance quantisation table has 64 steps of at least 1")
    logs = [math.log(step) for step in table]

    def distance(quality: int) -> float:
        return sum((a - math.log(b)) ** 2 for a, b in zip(logs, scaled_table(quality), strict=True))

    # ties go to the higher quality: at the top, several qualities clamp to the same table
    return min(reversed(QUALITIES), key=distance)


def jpeg_quality(path: str | os.PathLike[str]) -> int | None:
    """The quality the JPEG file at `path` was saved at (1-100), or None when it is not a JPEG."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if image.format != "JPEG":
                return None
            tables = getattr(image, "quantization", None) or {}
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    luma = tables.get(0)
    if luma is None or len(luma) != 64 or min(luma) < 1:
        return None
    return quality_of_table(list(luma))
