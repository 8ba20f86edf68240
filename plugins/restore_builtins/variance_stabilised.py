"""Variance-stabilised denoising for Poisson and Poisson-Gaussian noise (generalized Anscombe).

With z = peak * y the photon counts and s = peak * sigma / 255 the read noise in counts, the
generalized Anscombe transform f(z) = 2 sqrt(max(z + 3/8 + s^2, 0)) makes the noise nearly white
Gaussian of unit variance; a Gaussian denoiser (scikit-image's non-local means, or BM3D when the
`bm3d` package is installed) removes it, and the closed-form approximation of the exact unbiased
inverse (Makitalo and Foi, IEEE TIP 2011 and 2013),
I(D) = D^2/4 + sqrt(3/2)/(4 D) - 11/(8 D^2) + 5 sqrt(3/2)/(8 D^3) - 1/8 - s^2,
maps it back. Needs `peak` in info.params (the `poisson` and `poisson-gaussian` degradations).
"""

from __future__ import annotations

import importlib.util
import math
from typing import TYPE_CHECKING, Literal

from restore_core import DENOISING, DegradationInfo, Restorer, hookimpl

if TYPE_CHECKING:
    import numpy as np
    import torch


def anscombe(counts: np.ndarray, read_sigma: float) -> np.ndarray:
    """The generalized Anscombe transform of photon counts with Gaussian read noise `read_sigma`."""
    import numpy as np

    return 2.0 * np.sqrt(np.maximum(counts + 0.375 + read_sigma**2, 0.0))


def inverse_anscombe(d: np.ndarray, read_sigma: float) -> np.ndarray:
    """The closed-form approximation of the exact unbiased inverse (Makitalo and Foi)."""
    import numpy as np

    d = np.maximum(d, 0.8)  # the closed form diverges near 0, where no unbiased inverse is meaningful
    r = math.sqrt(1.5)
    out = 0.25 * d**2 + 0.25 * r / d - 1.375 / d**2 + 0.625 * r / d**3 - 0.125 - read_sigma**2
    return np.maximum(out, 0.0)


class VarianceStabilisedDenoiser(Restorer):
    """Generalized Anscombe transform, a Gaussian denoiser at unit sigma, exact unbiased inverse."""

    name = "vst-nlm"
    description = "generalized Anscombe + non-local means (or bm3d), the Poisson(-Gaussian) reference"
    tasks = frozenset({DENOISING})

    def __init__(self, denoiser: Literal["nlm", "bm3d"] = "nlm", h_factor: float = 0.8) -> None:
        if denoiser not in ("nlm", "bm3d"):
            raise ValueError(f"denoiser must be nlm or bm3d, not {denoiser!r}")
        if not h_factor > 0:
            raise ValueError(f"h_factor must be positive, got {h_factor:g}")
        self.denoiser = denoiser
        self.h_factor = h_factor

    def supports(self, info: DegradationInfo, channels: int) -> str | None:
        """Serve denoising with a known Poisson peak; bm3d only where its package is installed."""
        reason = super().supports(info, channels)
        if reason is None and info.params.get("peak") is None:
            reason = f"{self.name} needs the Poisson peak (a degradation such as poisson:peak=30)"
        if reason is None and self.denoiser == "bm3d" and importlib.util.find_spec("bm3d") is None:
            reason = "denoiser=bm3d needs the bm3d package (pip install bm3d)"
        return reason

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Stabilise, denoise at unit sigma and invert, image by image."""
        import numpy as np
        import torch

        peak = float(info.params["peak"])
        read = peak * float(info.params.get("sigma", 0.0)) / 255.0
        out = []
        for image in degraded.detach().cpu().double().numpy():
            stable = anscombe(image * peak, read)
            lo, hi = float(stable.min()), float(stable.max())
            span = max(hi - lo, 1e-6)  # the denoisers expect data of about unit range
            den = self._denoise((stable - lo) / span, 1.0 / span) * span + lo
            out.append(inverse_anscombe(den, read) / peak)
        return torch.from_numpy(np.stack(out)).float().clamp(0, 1).to(degraded.device)

    def _denoise(self, image: np.ndarray, sigma: float) -> np.ndarray:
        import numpy as np

        hwc = np.moveaxis(image, 0, -1)
        if self.denoiser == "bm3d":
            import bm3d

            den = bm3d.bm3d(hwc, sigma_psd=sigma)  # channels denoised apart
        else:
            from skimage.restoration import denoise_nl_means

            den = denoise_nl_means(hwc, h=self.h_factor * sigma, sigma=sigma, fast_mode=True,
                                   patch_size=5, patch_distance=6, channel_axis=-1)
        return np.moveaxis(np.asarray(den).reshape(hwc.shape), -1, 0)


@hookimpl
def register_restorers(register) -> None:
    """Register `vst-nlm`."""
    register(VarianceStabilisedDenoiser)
