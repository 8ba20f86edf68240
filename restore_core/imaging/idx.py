"""The IDX format of MNIST and Fashion-MNIST: a magic number, the dimensions, then raw values.

Layout: two zero bytes, a type code (0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32,
0x0D float32, 0x0E float64), the number of dimensions, each dimension as a big-endian uint32, then
the values in C order, big-endian. Files may be gzip-compressed (detected by content, not name).
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

from restore_core.errors import IDXError
from restore_core.system.atomic_files import atomic_output

_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CODES = {dtype.newbyteorder(">") if dtype.itemsize > 1 else dtype: code for code, dtype in _TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into an array of its declared type and shape."""
    p = Path(path)
    try:
        raw = p.read_bytes()
        if raw[:2] == _GZIP_MAGIC:
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise IDXError(f"{p}: no such file") from None
    except (OSError, EOFError) as exc:  # gzip stream cut short or corrupt
        raise IDXError(f"{p}: truncated or corrupt gzip stream ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        raise IDXError(f"{p}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    dtype, ndim = _TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"{p}: truncated IDX header ({len(raw)} of {header} bytes)")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header < expected:
        raise IDXError(f"{p}: truncated IDX data: {len(raw) - header} of {expected} bytes for shape {shape}")
    if len(raw) - header > expected:
        raise IDXError(f"{p}: {len(raw) - header - expected} unexpected bytes after the IDX data")
    return np.frombuffer(raw, dtype=dtype, count=expected // dtype.itemsize, offset=header).reshape(shape)


def write_idx(path: str | os.PathLike[str], array: np.ndarray, compress: bool | None = None) -> Path:
    """Write `array` as IDX (gzip when `compress`, or when the name ends in .gz), atomically."""
    target = Path(path)
    data = np.ascontiguousarray(array)
    dtype = data.dtype.newbyteorder(">") if data.dtype.itemsize > 1 else data.dtype
    code = _CODES.get(dtype)
    if code is None:
        raise ValueError(f"IDX cannot store {array.dtype}")
    payload = struct.pack(f">BBBB{data.ndim}I", 0, 0, code, data.ndim, *data.shape) + data.astype(dtype).tobytes()
    if compress is None:
        compress = target.suffix == ".gz"
    if compress:
        payload = gzip.compress(payload, mtime=0)
    with atomic_output(target) as f:
        f.write(payload)
    return target
