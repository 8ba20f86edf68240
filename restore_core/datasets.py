"""Datasets: the embedded default (scikit-image's bundled photographs) and folders of images.

The embedded sets use only natural photographs that ship inside the scikit-image wheel, so they
work offline on any machine: textures (brick, grass, gravel), microscopy (cell, ihc, retina),
astronomy, synthetic and text images are left out because they are not what a denoiser or an
upscaler of photographs is judged on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from restore_core.errors import DatasetError
from restore_core.imageio import list_images, read_image

#: colour photographs in scikit-image's wheel, and the gray ones added to the gray variant
SKIMAGE_COLOUR = ("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg")
SKIMAGE_GRAY_ONLY = ("camera.png", "coins.png")
DEFAULT_DATASET = "skimage"

Mode = Literal["auto", "gray", "rgb"]


@dataclass(frozen=True)
class ImageRecord:
    """One image of a dataset: a stable id and where it is read from."""

    image_id: str
    path: Path


@dataclass(frozen=True)
class Dataset:
    """An ordered, lazily read list of images."""

    name: str
    records: tuple[ImageRecord, ...]
    mode: Mode = "auto"
    description: str = ""

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[tuple[str, torch.Tensor]]:
        for record in self.records:
            yield record.image_id, read_image(record.path, mode=self.mode)

    def limit(self, count: int | None) -> Dataset:
        """Return the first `count` images (all when None)."""
        if count is None:
            return self
        return Dataset(self.name, self.records[:count], self.mode, self.description)


def skimage_dataset(gray: bool) -> Dataset:
    """Return the embedded default set, colour (`skimage`) or gray (`skimage-gray`)."""
    import skimage

    root = Path(skimage.__file__).parent / "data"
    files = SKIMAGE_COLOUR + (SKIMAGE_GRAY_ONLY if gray else ())
    records = tuple(ImageRecord(Path(f).stem, root / f) for f in sorted(files))
    missing = [r.path.name for r in records if not r.path.is_file()]
    if missing:
        raise DatasetError(f"scikit-image's bundled images are missing: {', '.join(missing)}")
    if gray:
        return Dataset("skimage-gray", records, "gray", "scikit-image photographs, gray (BT.601)")
    return Dataset("skimage", records, "rgb", "scikit-image colour photographs")


def folder_dataset(path: str | Path) -> Dataset:
    """Return every image in a folder (or a single image file), in file-name order."""
    p = Path(path).expanduser()
    if p.is_file():
        return Dataset(str(path), (ImageRecord(p.stem, p),), "auto", f"image {p}")
    if not p.is_dir():
        raise DatasetError(f"dataset {str(path)!r} is neither a known name nor an existing folder")
    files = list_images(p)
    return Dataset(str(path), tuple(ImageRecord(f.stem, f) for f in files), "auto", f"folder {p}")


BUILTIN_DATASETS = {
    "skimage": "scikit-image colour photographs (embedded default)",
    "skimage-gray": "scikit-image photographs in gray (embedded default)",
}


def open_dataset(spec: str) -> Dataset:
    """Resolve a dataset name or a folder path."""
    if spec in ("skimage", "default"):
        return skimage_dataset(gray=False)
    if spec in ("skimage-gray", "default-gray"):
        return skimage_dataset(gray=True)
    if not any(c in spec for c in "/\\.~") and not Path(spec).exists():
        known = ", ".join(BUILTIN_DATASETS)
        raise DatasetError(f"unknown dataset {spec!r}: give a folder path or one of {known}")
    return folder_dataset(spec)
