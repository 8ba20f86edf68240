"""A log-domain reference for speckle: non-local means on log(y), then back.

Multiplicative noise y = x (1 + s n) becomes additive in the log domain, log y = log x + log(1 + s n),
with standard deviation close to s for small s; scikit-image's non-local means removes it there at
that sigma, and exp() brings the result back, multiplied by exp(s^2 / 2) to undo the mean of
log(1 + s n), about -s^2 / 2. Samples at or below 0 are raised to `floor` first (the logarithm needs
positive data). Needs `speckle` in info.params (the `speckle` degradation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_core import DENOISING, DegradationInfo, Restorer, hookimpl

if TYPE_CHECKING:
    import torch


class LogDomainDenoiser(Restorer):
    """Non-local means on the logarithm of a speckled image, exponentiated back."""

    name = "log-nlm"
    description = "non-local means in the log domain, the reference for multiplicative (speckle) noise"
    tasks = frozenset({DENOISING})

    def __init__(self, h_factor: float = 0.8, floor: float = 1 / 255) -> None:
        if not h_factor > 0 or not 0 < floor < 1:
            raise ValueError(f"need h_factor > 0 and floor within (0, 1), got {h_factor:g} and {floor:g}")
        self.h_factor = h_factor
        self.floor = floor

    def supports(self, info: DegradationInfo, channels: int) -> str | None:
        """Serve denoising with a known speckle level."""
        reason = super().supports(info, channels)
        if reason is None and info.params.get("speckle") is None:
            reason = f"{self.name} needs the speckle level (a degradation such as speckle:sigma=0.2)"
        return reason

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Denoise log(y) at sigma = speckle and exponentiate, image by image."""
        import numpy as np
        import torch
        from skimage.restoration import denoise_nl_means

        s = float(info.params["speckle"])
        sigma = float(np.sqrt(np.log1p(s**2)))  # the std of log(1 + s n), close to s when s is small
        out = []
        for image in degraded.detach().cpu().double().numpy():
            hwc = np.log(np.maximum(np.moveaxis(image, 0, -1), self.floor))
            den = denoise_nl_means(hwc, h=self.h_factor * sigma, sigma=sigma, fast_mode=True,
                                   patch_size=5, patch_distance=6, channel_axis=-1)
            back = np.exp(np.asarray(den).reshape(hwc.shape) + s**2 / 2)
            out.append(np.moveaxis(back, -1, 0))
        return torch.from_numpy(np.stack(out)).float().clamp(0, 1).to(degraded.device)


@hookimpl
def register_restorers(register) -> None:
    """Register `log-nlm`."""
    register(LogDomainDenoiser)
