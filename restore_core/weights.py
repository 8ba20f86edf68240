"""Network weights on disk: safetensors files (no pickle), written atomically, with metadata."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from restore_core.atomic_files import atomic_path
from restore_core.errors import RestoreError


class WeightsError(RestoreError):
    """A weights file is unreadable or was made for another configuration."""


def save_weights(path: str | os.PathLike[str], network: torch.nn.Module, metadata: dict[str, Any]) -> Path:
    """Write `network`'s state dict and JSON-able `metadata` to `path` atomically."""
    target = Path(path)
    state = {k: v.detach().to("cpu", memory_format=torch.contiguous_format).contiguous().clone()
             for k, v in network.state_dict().items()}
    with atomic_path(target) as tmp:
        save_file(state, str(tmp), metadata={"restore": json.dumps(metadata, sort_keys=True)})
    return target


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the metadata stored with a weights file."""
    try:
        with safe_open(str(path), framework="pt") as fh:
            raw = (fh.metadata() or {}).get("restore", "{}")
        return json.loads(raw)
    except (OSError, SafetensorError, json.JSONDecodeError) as exc:
        raise WeightsError(f"cannot read weights {str(path)!r}: {exc}") from None


def read_state(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Return the tensors stored in a weights file."""
    try:
        return load_file(str(path))
    except (OSError, SafetensorError) as exc:
        raise WeightsError(f"cannot read weights {str(path)!r}: {exc}") from None


def load_weights(path: str | os.PathLike[str], network: torch.nn.Module) -> dict[str, Any]:
    """Load weights into `network` (strictly) and return their metadata."""
    metadata = read_metadata(path)
    state = read_state(path)
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise WeightsError(f"weights {str(path)!r} do not fit this network: {first}") from None
    return metadata
