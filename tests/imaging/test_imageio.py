"""Image I/O: every format and mode rule the module states, and the failures it promises."""

from __future__ import annotations

import io

import numpy as np
import png
import pytest
import tifffile
import torch
from PIL import Image

from restore_core.imaging.io import ImageReadError, ImageWriteError, read_image, to_array, to_tensor, write_png

RNG = np.random.default_rng(0)
RGB8 = RNG.integers(0, 256, (12, 17, 3), dtype=np.uint8)
GRAY8 = RNG.integers(0, 256, (12, 17), dtype=np.uint8)


def _as_hwc(t: torch.Tensor) -> np.ndarray:
    assert t.dtype == torch.float32 and t.ndim == 4 and t.shape[0] == 1
    return t[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("BMP", ".bmp"), ("TIFF", ".tif")])
def test_lossless_8bit_rgb_roundtrip(tmp_path, fmt, suffix):
    path = tmp_path / f"a{suffix}"
    Image.fromarray(RGB8).save(path, format=fmt)
    got = _as_hwc(read_image(path))
    np.testing.assert_allclose(got, RGB8 / 255.0, atol=1e-6)


def test_jpeg_reads_close_to_source(tmp_path):
    path = tmp_path / "a.jpg"
    smooth = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (48, 1))
    Image.fromarray(np.stack([smooth] * 3, axis=2)).save(path, quality=95)
    got = _as_hwc(read_image(path))
    assert got.shape == (48, 64, 3)
    assert np.abs(got[..., 0] - smooth / 255.0).mean() < 0.01


def test_gray_stays_gray_and_modes_convert(tmp_path):
    path = tmp_path / "g.png"
    Image.fromarray(GRAY8).save(path)
    assert read_image(path).shape == (1, 1, 12, 17)
    rgb = read_image(path, mode="rgb")
    assert rgb.shape == (1, 3, 12, 17) and torch.equal(rgb[:, 0], rgb[:, 2])
    colour = tmp_path / "c.png"
    Image.fromarray(RGB8).save(colour)
    gray = read_image(colour, mode="gray")[0, 0].numpy()
    np.testing.assert_allclose(gray, (RGB8 / 255.0) @ np.array([0.299, 0.587, 0.114]), atol=1e-6)


def test_16bit_gray_png_keeps_precision(tmp_path):
    data = RNG.integers(0, 65536, (9, 11), dtype=np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(data).save(path)
    np.testing.assert_allclose(read_image(path)[0, 0].numpy(), data / 65535.0, atol=1e-7)


def test_16bit_rgb_png_keeps_precision(tmp_path):
    data = RNG.integers(0, 65536, (9, 11, 3), dtype=np.uint16)
    path = tmp_path / "c16.png"
    with path.open("wb") as f:
        png.Writer(11, 9, greyscale=False, bitdepth=16).write(f, data.reshape(9, -1).tolist())
    np.testing.assert_allclose(_as_hwc(read_image(path)), data / 65535.0, atol=1e-7)


@pytest.mark.parametrize("channels", [1, 3])
def test_16bit_tiff_keeps_precision(tmp_path, channels):
    shape = (9, 11) if channels == 1 else (9, 11, 3)
    data = RNG.integers(0, 65536, shape, dtype=np.uint16)
    path = tmp_path / "t16.tif"
    tifffile.imwrite(path, data, photometric="minisblack" if channels == 1 else "rgb")
    got = read_image(path)
    assert got.shape == (1, channels, 9, 11)
    want = data / 65535.0
    np.testing.assert_allclose(got[0, 0].numpy() if channels == 1 else _as_hwc(got), want, atol=1e-7)


def test_rgba_drops_alpha(tmp_path):
    rgba = np.concatenate([RGB8, np.zeros((12, 17, 1), np.uint8)], axis=2)
    path = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(path)
    np.testing.assert_allclose(_as_hwc(read_image(path)), RGB8 / 255.0, atol=1e-6)


def test_palette_becomes_rgb_through_palette(tmp_path):
    img = Image.fromarray(RGB8).quantize(16)
    path = tmp_path / "p.png"
    img.save(path)
    np.testing.assert_allclose(_as_hwc(read_image(path)), np.asarray(img.convert("RGB")) / 255.0, atol=1e-6)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "k.jpg"
    Image.fromarray(RGB8).convert("CMYK").save(path, quality=100)
    assert read_image(path).shape == (1, 3, 12, 17)


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "o.jpg"
    img = Image.fromarray(np.zeros((10, 30, 3), np.uint8))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    img.save(path, exif=exif)
    assert read_image(path).shape == (1, 3, 30, 10)


def test_exif_orientation_on_16bit_tiff(tmp_path):
    data = RNG.integers(0, 65536, (4, 6, 3), dtype=np.uint16)
    path = tmp_path / "o.tif"
    tifffile.imwrite(path, data, photometric="rgb", extratags=[(274, "H", 1, 6, True)])
    assert read_image(path).shape == (1, 3, 6, 4)


@pytest.mark.parametrize("make,needle", [
    (lambda p: None, "no such file"),
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_text("hello, not an image"), "not a readable image"),
    (lambda p: p.write_bytes(_png_bytes()[:-60]), "truncated or corrupt"),
])
def test_bad_files_are_one_clear_error(tmp_path, make, needle):
    path = tmp_path / "bad.png"
    make(path)
    with pytest.raises(ImageReadError, match=needle) as info:
        read_image(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def _png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("channels", [1, 3])
def test_write_png_roundtrip(tmp_path, bits, channels):
    image = torch.rand(1, channels, 13, 7)
    path = write_png(tmp_path / "out" / "x.png", image, bits=bits)
    top = 255 if bits == 8 else 65535
    torch.testing.assert_close(read_image(path), (image * top).round() / top, atol=1e-6, rtol=0)
    assert (path.stat().st_mode & 0o777) != 0o600
    assert [p.name for p in path.parent.iterdir()] == ["x.png"]


def test_write_failure_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "x.png"

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(ImageWriteError, match="No space left"):
        write_png(target, torch.rand(1, 3, 4, 4))
    assert list(tmp_path.iterdir()) == []


def test_existing_file_survives_failed_overwrite(tmp_path, monkeypatch):
    target = write_png(tmp_path / "x.png", torch.zeros(1, 1, 4, 4))
    before = target.read_bytes()
    monkeypatch.setattr(Image.Image, "save", lambda *a, **k: (_ for _ in ()).throw(OSError(5, "I/O error")))
    with pytest.raises(ImageWriteError):
        write_png(target, torch.ones(1, 1, 4, 4))
    assert target.read_bytes() == before and len(list(tmp_path.iterdir())) == 1


def test_tensor_array_conversions():
    assert to_tensor(GRAY8).shape == (1, 1, 12, 17)
    assert to_tensor(RGB8).dtype == torch.float32
    np.testing.assert_array_equal(to_array(to_tensor(RGB8)), RGB8)
    with pytest.raises(ValueError, match="single image"):
        to_array(torch.zeros(2, 3, 4, 4))
