"""Restoration strength: how much of what a restorer removed is taken away from the input.

`with_strength(degraded, restored, s)` returns degraded + s * (restored - degraded), clipped to
[0, 1]. At s = 1 it is the restorer's output (bit-identical: no arithmetic is done), at s = 0 the
input, in between it keeps a fraction 1 - s of what the restorer removed (detail and noise alike),
and above 1 it removes more than the restorer did (smoother). This is the one knob a user holding a
photo needs (trade detail for smoothness) and it serves every restorer that keeps the image's size,
because it only uses the input and the output.

Invariants: pure (no side effects); the output has the input's shape and dtype; `s` lies within
[0, MAX_STRENGTH], checked by `check_strength`, which every entry point calls before any work.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

#: the largest strength: twice what the restorer removed is already far smoother than any model output
MAX_STRENGTH = 2.0


def check_strength(strength: object) -> float:
    """Return `strength` as a float, or raise ValueError unless it is a number within [0, MAX_STRENGTH]."""
    if isinstance(strength, bool) or not isinstance(strength, int | float) or not math.isfinite(strength) \
            or not 0.0 <= strength <= MAX_STRENGTH:
        raise ValueError(f"strength is a number from 0 (the input unchanged) to {MAX_STRENGTH:g} "
                         f"(twice what the restorer removes), 1 being the restorer's output; not {strength!r}")
    return float(strength)


def with_strength(degraded: torch.Tensor, restored: torch.Tensor, strength: float) -> torch.Tensor:
    """degraded + strength * (restored - degraded), clipped to [0, 1]; `restored` itself at strength 1."""
    strength = check_strength(strength)
    if strength == 1.0:
        return restored
    if degraded.shape != restored.shape:
        raise ValueError(f"strength blends an image with its restoration, so they need one shape; got "
                         f"{tuple(degraded.shape)} and {tuple(restored.shape)} (a restorer that changes the size?)")
    return (degraded + strength * (restored - degraded)).clamp(0.0, 1.0)
