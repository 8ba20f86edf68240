"""Constants the test modules share (conftest.py holds the fixtures)."""

from __future__ import annotations

import os
from pathlib import Path

#: the shared public datasets: RESTORE_DATA when set, else ../shared/datasets beside the checkout
SHARED = Path(os.environ.get("RESTORE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "datasets")


def write_crops(root: Path, photo: str, count: int, size: int, step: int, left: int, stem: str) -> Path:
    """Write `count` size x size crops of a scikit-image photograph (`step` rows apart) as PNGs into `root`."""
    import skimage.data
    from PIL import Image

    image = getattr(skimage.data, photo)()
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(image[step * i : step * i + size, left : left + size]).save(root / f"{stem}{i}.png")
    return root
