"""Per-image random generators: a result never depends on batch order or on what else ran.

The seed is derived from the run seed, the image's id (its file stem) and the degradation spec,
and not from the dataset's name, so a named set and the same files given as a folder path get the
same noise, and `restore run --degrade` reproduces the noise `restore bench` used on that image.
The key is encoded as UTF-8 with `surrogateescape`, so a file name that is not valid UTF-8 (its
undecodable bytes arrive as surrogates, see `os.fsdecode`) hashes its original bytes, while every
valid name keeps the seed it always had.
"""

from __future__ import annotations

import hashlib

import torch


def image_seed(seed: int, image_id: str, degradation: str) -> int:
    """Derive a 63-bit seed from the run seed, the image id and the degradation spec."""
    key = f"{seed}\x1f{image_id}\x1f{degradation}".encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") & (2**63 - 1)


def image_generator(seed: int, image_id: str, degradation: str) -> torch.Generator:
    """Return a CPU generator seeded for one image under one degradation."""
    return torch.Generator().manual_seed(image_seed(seed, image_id, degradation))
