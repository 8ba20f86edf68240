"""Image files in and out: the one place where pixels become tensors and tensors become pixels.

Reading rules (what `read_image` does with each kind of file):

- Formats: PNG, JPEG, BMP, TIFF, GIF and WebP (`IMAGE_SUFFIXES`, which dataset folders list too).
  A multi-frame file (animated GIF or WebP, multi-page TIFF) gives its first frame, with a one-line
  `ImageReadWarning` saying how many frames were left out: restoring an animation frame by frame is
  not something restore does, and cutting it silently would look like a complete result.
- Depth: 8-bit values are divided by 255, 16-bit values by 65535 (16-bit PNG and TIFF, gray or
  colour, keep their full precision), 1-bit images become 0 or 1. Float TIFFs (gray or colour,
  read by tifffile where Pillow cannot identify them) are taken as [0, 1] and clipped; a float
  image whose largest value is above 1 but at most 255 was saved on the 0-255 scale, so it is
  divided by 255 with a one-line warning (clipping it would turn it white); one with values above
  255, or NaN or infinite values, is refused, since no scale can be assumed for it.
- `stored_bits` says which PNG depth keeps a file's precision: 16 for 16-bit (or deeper) and float
  files, 8 for the rest; `restore run` writes that depth unless `--bit-depth` says otherwise.
- EXIF orientation is applied, so the tensor is the picture as a viewer shows it.
- Alpha (RGBA, LA, palette with transparency) is dropped: restoration works on the colour as
  stored, and compositing over a background would invent pixel values.
- Palette images become RGB through their palette; CMYK and YCbCr become RGB by Pillow's
  conversion (no ICC colour management).
- `mode="auto"` keeps gray files gray (1 channel) and gives 3 channels for everything else;
  `mode="gray"` turns colour into BT.601 luma (0.299 R + 0.587 G + 0.114 B); `mode="rgb"` repeats
  a gray channel three times.

Writing: `write_png` writes 8- or 16-bit PNG through a temporary file in the target folder that
is renamed into place, so a crash or a full disk never leaves a partial image under the final name.
A target whose folder is an existing file is refused as "... is not a folder".
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import png  # pypng: Pillow cannot read or write 16-bit colour PNG
import tifffile
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from restore_core.errors import ImageReadError, ImageWriteError
from restore_core.system.atomic_files import atomic_output

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp"})
IMAGE_KINDS = "PNG, JPEG, BMP, TIFF, GIF or WebP"  # for messages, in the order of the docs
ReadMode = Literal["auto", "gray", "rgb"]
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)
_EXIF_ORIENTATION = 0x0112
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF, both byte orders
_FLOAT_0_255_MAX = 255.0


# Pillow warns "Truncated File Read" just before it fails on a truncated TIFF, and read_array's error
# says so already; a filter here rather than catch_warnings() around each read, which would reset
# every module's record of the warnings it has shown (and so repeat them)
warnings.filterwarnings("ignore", message="Truncated File Read", category=UserWarning, module="PIL")


class ImageReadWarning(UserWarning):
    """An image was read, but not all of it as stored (frames left out, values rescaled)."""


def read_image(path: str | os.PathLike[str], mode: ReadMode = "auto") -> torch.Tensor:
    """Read an image file as float32 (1, C, H, W) in [0, 1] by the module's stated rules."""
    return to_tensor(_to_mode(read_array(path), mode))


def read_array(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as float64 (H, W) or (H, W, 3) in [0, 1], orientation applied."""
    p = Path(path)
    if not p.exists():
        raise ImageReadError(f"{p}: no such file")
    if p.is_dir():
        raise ImageReadError(f"{p}: is a folder, not an image")
    if p.stat().st_size == 0:
        raise ImageReadError(f"{p}: file is empty")
    try:
        with Image.open(p) as img:
            _warn_frames(p, getattr(img, "n_frames", 1))
            # read before load(): Pillow drops the TIFF orientation tag once the pixels are decoded
            orientation = (img.tag_v2 if img.format == "TIFF" else img.getexif()).get(_EXIF_ORIENTATION, 1)
            # deep colour is decoded by pypng or tifffile only: Pillow would decode it to 8 bits first
            if img.format == "PNG" and _png_bit_depth(p) == 16 and img.mode not in ("I", "I;16", "I;16B"):
                return _orient(_read_png16(p), orientation)
            if img.format == "TIFF" and _tiff_is_deep_colour(img):
                return _orient(_read_tiff_deep(p), orientation)
            img.load()
            return _pil_to_array(ImageOps.exif_transpose(img), p)
    except UnidentifiedImageError:
        if _is_tiff(p):  # Pillow identifies no float colour TIFF; tifffile reads it
            return _read_tiff_fallback(p)
        raise ImageReadError(f"{p}: not a readable image (expected {IMAGE_KINDS})") from None
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"{p}: too large to read safely ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError, png.Error, tifffile.TiffFileError) as exc:
        raise ImageReadError(f"{p}: truncated or corrupt image ({exc})") from None


def stored_bits(path: str | os.PathLike[str]) -> int:
    """Return 16 for a 16-bit (or deeper, or float) image file, else 8: the PNG depth that keeps its values."""
    p = Path(path)
    try:
        with Image.open(p) as img:
            if img.format == "PNG":
                return 16 if _png_bit_depth(p) == 16 else 8
            if img.format == "TIFF":
                bits = img.tag_v2.get(258, (8,))  # BitsPerSample
                return 16 if max(bits if isinstance(bits, tuple) else (bits,)) > 8 else 8
            return 16 if img.mode in ("I;16", "I;16B", "I;16L", "I", "F") else 8
    except UnidentifiedImageError:
        return 16 if p.is_file() and _is_tiff(p) else 8  # what Pillow cannot identify is a float TIFF
    except OSError:
        return 8  # read_image reports an unreadable file


def _png_bit_depth(path: Path) -> int:
    with path.open("rb") as f:
        header = f.read(25)
    return header[24] if len(header) == 25 and header[12:16] == b"IHDR" else 8


def _read_png16(path: Path) -> np.ndarray:
    width, height, rows, info = png.Reader(filename=str(path)).asDirect()
    planes = info["planes"]
    data = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows]).reshape(height, width, planes)
    colour = planes - (1 if info["alpha"] else 0)
    data = data[..., :colour] / 65535.0
    return data[..., 0] if colour == 1 else data


def _tiff_is_deep_colour(img: Image.Image) -> bool:
    bits = img.tag_v2.get(258, (8,))  # BitsPerSample
    bits = bits if isinstance(bits, tuple) else (bits,)
    return max(bits) > 8 and img.mode not in ("I", "I;16", "I;16B", "F")


def _is_tiff(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) in _TIFF_MAGIC


def _read_tiff_fallback(path: Path) -> np.ndarray:
    try:
        with tifffile.TiffFile(path) as tif:
            _warn_frames(path, len(tif.pages))
            tag = tif.pages[0].tags.get(274)  # Orientation, the same code as EXIF's
            orientation = tag.value if tag is not None else 1
        return _orient(_read_tiff_deep(path), orientation)
    except (tifffile.TiffFileError, ValueError, OSError, EOFError, IndexError, KeyError) as exc:
        raise ImageReadError(f"{path}: truncated or corrupt image ({exc})") from None


def _read_tiff_deep(path: Path) -> np.ndarray:
    data = tifffile.imread(path, key=0)
    if data.ndim == 3 and data.shape[0] in (3, 4) and data.shape[-1] not in (3, 4):
        data = np.moveaxis(data, 0, -1)  # planar configuration
    if data.ndim not in (2, 3) or (data.ndim == 3 and data.shape[-1] not in (1, 2, 3, 4)):
        raise ImageReadError(f"{path}: a TIFF of shape {data.shape} is not a gray or colour image")
    if data.dtype.kind == "f":
        data = _float_to_unit(data.astype(np.float64), path)
    elif data.dtype.kind in "ui":
        data = np.clip(data.astype(np.float64) / float(np.iinfo(data.dtype).max), 0.0, 1.0)
    else:
        raise ImageReadError(f"{path}: TIFF samples of type {data.dtype} are not supported")
    if data.ndim == 3 and data.shape[-1] in (1, 2):
        return data[..., 0]  # gray, with alpha dropped
    return data[..., :3] if data.ndim == 3 else data


def _float_to_unit(data: np.ndarray, path: Path) -> np.ndarray:
    """Float samples in [0, 1], by the module's rule for values on the 0-255 scale."""
    if not np.isfinite(data).all():
        raise ImageReadError(f"{path}: holds NaN or infinite values; refused")
    top = float(data.max()) if data.size else 0.0
    if top > _FLOAT_0_255_MAX:
        raise ImageReadError(f"{path}: float values reach {top:g}; expected [0, 1] (or 0-255, rescaled)")
    if top > 1.0:
        warnings.warn(f"{path}: float values reach {top:g}, so they are taken as 0-255 and divided by 255",
                      ImageReadWarning, stacklevel=2)
        data = data / 255.0
    return np.clip(data, 0.0, 1.0)


def _warn_frames(path: Path, frames: int) -> None:
    if frames > 1:
        warnings.warn(f"{path}: has {frames} frames; only the first is used", ImageReadWarning, stacklevel=2)


def _pil_to_array(img: Image.Image, path: Path) -> np.ndarray:
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        data = np.asarray(img, dtype=np.float64)
        return np.clip(data / 65535.0, 0.0, 1.0)
    if mode == "F":
        return _float_to_unit(np.asarray(img, dtype=np.float64), path)
    if mode == "1":
        return np.asarray(img, dtype=np.float64)
    if mode in ("L", "LA"):
        return np.asarray(img.getchannel("L"), dtype=np.float64) / 255.0
    if mode in ("P", "PA"):
        img = img.convert("RGBA") if "transparency" in img.info or mode == "PA" else img.convert("RGB")
    if mode != "RGB":
        img = img.convert("RGB")  # RGBA drops alpha; CMYK, YCbCr, LAB, HSV by Pillow's conversion
    return np.asarray(img, dtype=np.float64) / 255.0


def _orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation code (1-8) to an (H, W[, C]) array."""
    ops: dict[int, Callable[[np.ndarray], np.ndarray]] = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
        7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
        8: lambda a: np.swapaxes(a, 0, 1)[::-1],
    }
    op = ops.get(int(orientation))
    return np.ascontiguousarray(op(array)) if op else array


def _to_mode(array: np.ndarray, mode: ReadMode) -> np.ndarray:
    if mode == "gray" and array.ndim == 3:
        return array @ _LUMA
    if mode == "rgb" and array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=2)
    if mode not in ("auto", "gray", "rgb"):
        raise ValueError(f"mode must be auto, gray or rgb, not {mode!r}")
    return array


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """Turn an (H, W) or (H, W, C) array in [0, 1] (or uint8/uint16) into float32 (1, C, H, W)."""
    if array.dtype == np.uint8:
        array = array / 255.0
    elif array.dtype == np.uint16:
        array = array / 65535.0
    data = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    data = data[None] if data.ndim == 2 else data.permute(2, 0, 1)
    return data[None].contiguous()


def to_array(image: torch.Tensor, bits: int = 8) -> np.ndarray:
    """Turn one (1, C, H, W) or (C, H, W) tensor into uint8/uint16 (H, W) or (H, W, 3), rounded."""
    if image.ndim == 4:
        if image.shape[0] != 1:
            raise ValueError(f"expected a single image, got a batch of {image.shape[0]}")
        image = image[0]
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"expected (C, H, W) with C 1 or 3, got {tuple(image.shape)}")
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, not {bits}")
    top = 255 if bits == 8 else 65535
    data = image.detach().float().cpu().clamp(0, 1).mul(top).round().permute(1, 2, 0).numpy()
    data = data.astype(np.uint8 if bits == 8 else np.uint16)
    return data[..., 0] if data.shape[2] == 1 else data


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """The image files directly inside `folder`, sorted by name (hidden files skipped)."""
    root = Path(folder)
    return sorted(p for p in root.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))


def write_png(path: str | os.PathLike[str], image: torch.Tensor, bits: int = 8) -> Path:
    """Write one image tensor in [0, 1] as an 8- or 16-bit PNG, atomically."""
    data = to_array(image, bits)
    target = Path(path)
    blocked = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocked is not None:
        raise ImageWriteError(f"cannot write {target}: {blocked} is not a folder")
    try:
        with atomic_output(target) as f:
            if bits == 8:
                Image.fromarray(data).save(f, format="PNG")
            else:
                planes = 1 if data.ndim == 2 else data.shape[2]
                writer = png.Writer(data.shape[1], data.shape[0], greyscale=planes == 1, bitdepth=16)
                writer.write(f, data.reshape(data.shape[0], -1).tolist())
    except OSError as exc:
        raise ImageWriteError(f"{target}: cannot write ({exc.strerror or exc})") from None
    return target
