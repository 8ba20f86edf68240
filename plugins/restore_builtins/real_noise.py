"""A blind real-noise denoiser: DnCNN-17 trained on the camera pipeline instead of white Gaussian noise.

Real sensor noise is signal-dependent (Poisson-Gaussian in raw space), spatially correlated by
demosaicing and reshaped by the tone curve and JPEG; a denoiser trained on white Gaussian noise
leaves most of it in place. `dncnn-real` (alias `real`) is DnCNN-17 trained under `camera-range`,
which draws every patch's camera (ISO 100-6400, white balance, demosaic, JPEG or not) from the
pipeline of `restore_builtins.camera_pipeline`, as CBDNet trains on synthesised realistic noise.
Its recipe warm-starts it from the shipped blind colour DnCNN-17 (the same network, already a good
denoiser of white noise). It is what `restore run photo.jpg -o out.png` uses when no restorer is named.

Invariants: one colour model serves every noise level without being told it (blind); a gray image is
restored as R = G = B and comes back as 0.299 R + 0.587 G + 0.114 B, the camera pipeline's gray
convention, so a noise-free gray image passes through as its colour copy would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_builtins.dncnn import DnCNN
from restore_core import DegradationInfo, hookimpl

if TYPE_CHECKING:
    import torch


class RealNoiseDnCNN(DnCNN):
    """DnCNN-17 trained blind on camera-pipeline noise (ISO 100-6400, demosaicing, optional JPEG)."""

    name = "dncnn-real"
    description = "DnCNN-17 for real camera noise, trained on the camera pipeline (blind; alias real)"
    TRAINING = "camera-range:iso_min=100,iso_max=6400,jpeg_fraction=0.5,jpeg_min=70,jpeg_max=95"

    def __init__(self, layers: int = 17, features: int = 64, weights: str | None = None, pd: int = 1) -> None:
        super().__init__(layers=layers, features=features, blind=True, weights=weights, pd=pd)

    def weights_key(self, info: DegradationInfo, channels: int) -> str:
        """Return e.g. `dncnn-17l-64f-rgb-real`: one colour model for every camera."""
        return f"dncnn-{self.layers}l-{self.features}f-{'gray' if channels == 1 else 'rgb'}-real"

    def training_degradation(self, info: DegradationInfo) -> str:
        """Train on the camera pipeline with each patch's camera drawn at random."""
        return self.TRAINING

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Restore; a gray batch goes through the colour model as R = G = B and back to luma."""
        if degraded.shape[1] != 1:
            return super().restore(degraded, info)
        import torch

        restored = super().restore(degraded.expand(-1, 3, -1, -1).contiguous(), info)
        luma = torch.tensor([0.299, 0.587, 0.114], dtype=restored.dtype, device=restored.device).view(1, 3, 1, 1)
        return (restored * luma).sum(1, keepdim=True).clamp(0.0, 1.0)


@hookimpl
def register_restorers(register) -> None:
    """Register `dncnn-real` (alias `real`)."""
    register(RealNoiseDnCNN, aliases=("real",))
