"""Richardson-Lucy deconvolution (scikit-image), with the known kernel: a deblurring reference.

skimage.restoration.richardson_lucy convolves with zero borders; the image is padded by wrapping
around (the `blur` degradation's circular borders) before and cropped after, so the iterations see
the same blur the degradation applied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_core import DEBLURRING, DegradationInfo, Restorer, hookimpl

if TYPE_CHECKING:
    import torch


class RichardsonLucy(Restorer):
    """`iterations` Richardson-Lucy steps by the kernel in `info.params`, channel by channel."""

    name = "richardson-lucy"
    description = "Richardson-Lucy deconvolution (scikit-image) by the known kernel (richardson-lucy:iterations=30)"
    tasks = frozenset({DEBLURRING})

    def __init__(self, iterations: int = 30) -> None:
        if not 1 <= iterations <= 1000:
            raise ValueError(f"iterations must be from 1 to 1000, got {iterations}")
        self.iterations = iterations

    def supports(self, info: DegradationInfo, channels: int) -> str | None:
        """Serve deblurring with a known kernel."""
        from restore_builtins.wiener import _kernel_reason

        return super().supports(info, channels) or _kernel_reason(self.name, info)

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Deconvolve each image and channel, wrapped by the kernel's size."""
        import numpy as np
        import torch
        from skimage.restoration import richardson_lucy

        psf = info.params["kernel"].detach().cpu().double().numpy()
        ph, pw = psf.shape
        batch = degraded.detach().cpu().double().clamp(0, 1).numpy()  # RL needs non-negative data
        out = np.empty_like(batch)
        for n, image in enumerate(batch):
            for c, plane in enumerate(image):
                padded = np.pad(plane, ((ph, ph), (pw, pw)), mode="wrap")
                sharp = richardson_lucy(padded, psf, num_iter=self.iterations, clip=False)
                out[n, c] = sharp[ph:-ph, pw:-pw]
        return torch.from_numpy(out).float().clamp(0, 1).to(degraded.device)


@hookimpl
def register_restorers(register) -> None:
    """Register `richardson-lucy` (alias `rl`)."""
    register(RichardsonLucy, aliases=("rl",))
