"""Network weights on disk: safetensors files (no pickle), written atomically, with metadata."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from restore_core.errors import WeightsError
from restore_core.system.atomic_files import atomic_path

#: suffix of the per-slice scales stored beside an int8 tensor
INT8_SCALE = ".int8_scale"


def save_weights(path: str | os.PathLike[str], network: torch.nn.Module, metadata: dict[str, Any]) -> Path:
    """Write `network`'s state dict and JSON-able `metadata` to `path` atomically."""
    return save_state(path, network.state_dict(), metadata)


def save_state(path: str | os.PathLike[str], state: dict[str, torch.Tensor], metadata: dict[str, Any],
               int8: bool = False) -> Path:
    """Write tensors and metadata atomically; `int8` stores every weight of 2+ dimensions as int8
    with one fp32 scale per slice of its first dimension (a quarter of fp32's bytes)."""
    target = Path(path)
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        value = value.detach().to("cpu", memory_format=torch.contiguous_format).contiguous().clone()
        if int8 and value.is_floating_point() and value.dim() >= 2:
            scale = value.abs().flatten(1).amax(dim=1).float().clamp_min(1e-12) / 127.0
            shape = (-1,) + (1,) * (value.dim() - 1)
            out[key] = (value / scale.view(shape)).round().clamp(-127, 127).to(torch.int8)
            out[key + INT8_SCALE] = scale
        else:
            out[key] = value
    with atomic_path(target) as tmp:
        save_file(out, str(tmp), metadata={"restore": json.dumps(metadata, sort_keys=True)})
    return target


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the metadata stored with a weights file."""
    try:
        with safe_open(str(path), framework="pt") as fh:
            raw = (fh.metadata() or {}).get("restore", "{}")
        metadata = json.loads(raw)
    except (OSError, SafetensorError, json.JSONDecodeError) as exc:
        raise WeightsError(f"cannot read weights {str(path)!r}: {exc}") from None
    if not isinstance(metadata, dict):
        raise WeightsError(f"weights {str(path)!r} have unreadable metadata: a JSON {type(metadata).__name__} "
                           "where restore writes a mapping (an object)")
    return metadata


def read_state(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Return the tensors stored in a weights file."""
    try:
        stored = load_file(str(path))
    except (OSError, SafetensorError) as exc:
        raise WeightsError(f"cannot read weights {str(path)!r}: {exc}") from None
    state = {}
    for key, value in stored.items():
        if key.endswith(INT8_SCALE):
            continue
        scale = stored.get(key + INT8_SCALE)
        if scale is not None:
            value = value.float() * scale.view((-1,) + (1,) * (value.dim() - 1))
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            # such weights turn every image into NaN, which PNG writing would make black without a word
            raise WeightsError(f"weights {str(path)!r} hold values that are not finite numbers (NaN or infinity) "
                               f"in {key}: the file is broken; retrain or restore it")
        state[key] = value
    return state


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
