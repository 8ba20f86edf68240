"""Wiener deconvolution (scikit-image): the classical deblurring reference, with the known kernel.

skimage.restoration.wiener is the Wiener-Hunt filter x = H* Y / (|H|^2 + balance |L|^2) with a
Laplacian regulariser L, computed with FFTs, so it assumes circular borders, as the `blur`
degradation has. Without `balance` it is set from the known noise level:
balance = 1e-4 + 30 * (sigma / 255)^2 (fitted on five BSD400 training images, not on the test sets).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_core import DEBLURRING, DegradationInfo, Restorer, hookimpl

if TYPE_CHECKING:
    import torch


def _kernel_reason(name: str, info: DegradationInfo) -> str | None:
    if info.params.get("kernel") is None:
        return f"{name} is non-blind and needs the blur kernel (a degradation such as blur:kernel=...)"
    return None


class WienerDeconvolution(Restorer):
    """Wiener-Hunt deconvolution by the kernel in `info.params`, channel by channel."""

    name = "wiener"
    description = "Wiener-Hunt deconvolution (scikit-image) by the known kernel, the deblurring reference"
    tasks = frozenset({DEBLURRING})

    def __init__(self, balance: float | None = None) -> None:
        if balance is not None and not balance > 0:
            raise ValueError(f"balance must be positive, got {balance:g}")
        self.balance = balance

    def supports(self, info: DegradationInfo, channels: int) -> str | None:
        """Serve deblurring with a known kernel."""
        return super().supports(info, channels) or _kernel_reason(self.name, info)

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Deconvolve each image and channel."""
        import numpy as np
        import torch
        from skimage.restoration import wiener

        psf = info.params["kernel"].detach().cpu().double().numpy()
        balance = self.balance if self.balance is not None else 1e-4 + 30 * (float(info.sigma or 0) / 255.0) ** 2
        batch = degraded.detach().cpu().double().numpy()
        out = np.stack([[wiener(plane, psf, balance, clip=False) for plane in image] for image in batch])
        return torch.from_numpy(out).float().clamp(0, 1).to(degraded.device)


@hookimpl
def register_restorers(register) -> None:
    """Register `wiener`."""
    register(WienerDeconvolution)
