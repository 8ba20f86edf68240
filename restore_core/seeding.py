"""Per-image random generators: a result never depends on batch order or on what else ran."""

from __future__ import annotations

import hashlib

import torch


def image_seed(seed: int, dataset: str, image_id: str, degradation: str) -> int:
    """Derive a 63-bit seed from the run seed, the dataset, the image and the degradation spec."""
    key = f"{seed}\x1f{dataset}\x1f{image_id}\x1f{degradation}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") & (2**63 - 1)


def image_generator(seed: int, dataset: str, image_id: str, degradation: str) -> torch.Generator:
    """Return a CPU generator seeded for one image under one degradation."""
    return torch.Generator().manual_seed(image_seed(seed, dataset, image_id, degradation))
