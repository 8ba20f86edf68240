"""Reading the IJG quality a JPEG file was saved at from its quantisation tables."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from restore_core.imaging.jpeg_quality import jpeg_quality, quality_of_table, scaled_table


def _pixels(channels: int) -> np.ndarray:
    shape = (24, 40) if channels == 1 else (24, 40, 3)
    return np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize("channels", [1, 3])
def test_every_quality_pillow_writes_is_read_back_exactly(tmp_path, channels):
    path = tmp_path / "photo.jpg"
    for quality in range(1, 101):
        Image.fromarray(_pixels(channels)).save(path, quality=quality)
        assert jpeg_quality(path) == quality


def test_a_foreign_table_gives_the_nearest_quality(tmp_path):
    # a camera's own table: quality 37's steps, each nudged by one either way
    nudged = [max(1, step + (1 if i % 3 == 0 else -1 if i % 3 == 1 else 0))
              for i, step in enumerate(scaled_table(37))]
    path = tmp_path / "camera.jpg"
    Image.fromarray(_pixels(1)).save(path, qtables=[nudged])
    assert Image.open(path).quantization[0] != list(scaled_table(37))
    assert jpeg_quality(path) == 37


def test_files_that_are_not_jpegs_have_no_quality(tmp_path):
    png = tmp_path / "photo.png"
    Image.fromarray(_pixels(3)).save(png)
    garbage = tmp_path / "broken.jpg"
    garbage.write_bytes(b"\xff\xd8\xff" + bytes(range(200)))
    assert jpeg_quality(png) is None
    assert jpeg_quality(garbage) is None
    assert jpeg_quality(tmp_path / "missing.jpg") is None


def test_a_table_must_have_64_positive_steps():
    with pytest.raises(ValueError, match="64 steps"):
        quality_of_table([16] * 63)
    with pytest.raises(ValueError, match="64 steps"):
        quality_of_table([0] * 64)
    assert quality_of_table(list(scaled_table(50))) == 50
