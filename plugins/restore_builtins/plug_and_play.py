"""Plug-and-play restoration: half-quadratic splitting with a noise-level-conditioned denoiser (DPIR).

For a degraded image y = A x + n, with A the linear operator the degradation discloses
(`info.forward`, `info.adjoint`) and n white noise of sigma s, half-quadratic splitting
(Zhang et al., "Plug-and-Play Image Restoration with Deep Denoiser Prior", 2021) alternates, for
k = 1..K, a data step and a prior step:

    x_k = argmin_x ||y - A x||^2 + alpha_k ||x - z_{k-1}||^2      alpha_k = lam * s^2 / sigma_k^2
    z_k = denoise(x_k, sigma_k)

with the denoiser's level sigma_k falling geometrically from `sigma_start` (49, as DPIR) to the
noise level (for super-resolution, at least the scale, as DPIR). The data step solves
(A^T A + alpha I) x = A^T y + alpha z exactly by FFT when A is a circular blur (the deblurring
degradations), else by conjugate gradients on `forward` and `adjoint` (down-sampling). z_0 is y
(bicubic up-sampled when the size changes). The result is z_K.

Invariants: the denoiser is any registered restorer that declares `noise_level_conditioned` (its
`restore` honours any `info.sigma`); it is built from its name by the default plugin host when
first needed, and runs through the backend and tiling this restorer was configured with. Each image
costs `iterations` denoiser calls, which `inference_description` says, so a bench run states why
pnp is slower than the denoiser alone.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from restore_core import DEBLURRING, DENOISING, SUPER_RESOLUTION, DegradationInfo, Restorer, hookimpl
from restore_core.errors import UsageError

if TYPE_CHECKING:
    import torch

    from restore_core.components.interfaces import Operator


def denoiser_levels(iterations: int, sigma_start: float, sigma_end: float) -> list[float]:
    """The denoiser's noise level (0-255) at each iteration: geometric from `sigma_start` to `sigma_end`."""
    if iterations == 1:
        return [sigma_end]
    ratio = math.log(sigma_end / sigma_start) / (iterations - 1)
    return [sigma_start * math.exp(ratio * k) for k in range(iterations)]


def transfer_function(kernel: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The 2-D FFT of `kernel` as the circular convolution of `operators.CircularConvolution` applies it."""
    import torch

    kh, kw = kernel.shape
    padded = torch.zeros(height, width, dtype=torch.float64)
    padded[:kh, :kw] = kernel.double()
    # the kernel's centre (kh // 2, kw // 2) moves to the origin
    return torch.fft.fft2(torch.roll(padded, shifts=(-(kh // 2), -(kw // 2)), dims=(0, 1)))


def fft_data_step(y: torch.Tensor, z: torch.Tensor, otf: torch.Tensor, alpha: float) -> torch.Tensor:
    """Solve (A^T A + alpha I) x = A^T y + alpha z exactly for a circular blur A with transfer `otf`."""
    import torch

    numerator = otf.conj() * torch.fft.fft2(y.double()) + alpha * torch.fft.fft2(z.double())
    return torch.fft.ifft2(numerator / (otf.abs() ** 2 + alpha)).real.float()


def cg_data_step(y: torch.Tensor, z: torch.Tensor, forward: Operator, adjoint: Operator, alpha: float,
                 steps: int = 30, tolerance: float = 1e-6) -> torch.Tensor:
    """Solve (A^T A + alpha I) x = A^T y + alpha z by conjugate gradients, starting from `z`."""

    def normal(v: torch.Tensor) -> torch.Tensor:
        return adjoint(forward(v)) + alpha * v

    x = z.clone()
    r = adjoint(y) + alpha * z - normal(x)
    p = r.clone()
    rs = (r * r).sum()
    stop = tolerance**2 * float(rs) if float(rs) > 0 else 0.0
    for _ in range(steps):
        if float(rs) <= stop:
            break
        ap = normal(p)
        step = rs / (p * ap).sum()
        x = x + step * p
        r = r - step * ap
        rs_next = (r * r).sum()
        p = r + (rs_next / rs) * p
        rs = rs_next
    return x


class PlugAndPlay(Restorer):
    """Half-quadratic splitting (DPIR) with a noise-level-conditioned denoiser as the prior."""

    name = "pnp"
    description = "plug-and-play HQS (DPIR) with a noise-level-conditioned denoiser; any linear degradation"
    tasks = frozenset({DEBLURRING, SUPER_RESOLUTION})

    def __init__(self, denoiser: str = "fdncnn", iterations: int = 8, sigma_start: float = 49.0,
                 lam: float = 0.23, weights: str | None = None) -> None:
        if iterations < 1:
            raise ValueError(f"iterations must be at least 1, got {iterations}")
        if not 0 < sigma_start <= 255:
            raise ValueError(f"sigma_start must be within (0, 255], got {sigma_start:g}")
        if not lam > 0:
            raise ValueError(f"lam must be positive, got {lam:g}")
        self.denoiser = denoiser
        self.iterations = iterations
        self.sigma_start = float(sigma_start)
        self.lam = float(lam)
        self.weights = weights  # the denoiser's weights file, for one trained by the user
        self._inner: Restorer | None = None
        self._inference: tuple[Any, Any] | None = None

    def inner(self) -> Restorer:
        """The denoiser, built once from its name; refused unless it is noise-level-conditioned."""
        if self._inner is None:
            from restore_core.plugins.host import default_host

            spec = self.denoiser + (f":weights={self.weights}" if self.weights is not None else "")
            inner = default_host().registry("restorer").build(spec)
            if not getattr(inner, "noise_level_conditioned", False):
                raise UsageError(f"pnp needs a noise-level-conditioned denoiser (one whose restore honours any "
                                 f"sigma, such as fdncnn); {self.denoiser} is not")
            if self._inference is not None and hasattr(inner, "configure_inference"):
                inner.configure_inference(*self._inference)
            self._inner = inner
        return self._inner

    def configure_inference(self, backend: Any = None, tile: Any = "auto") -> None:
        """Run the denoiser through `backend`, tiled by `tile` (as a network restorer would)."""
        self._inference = (backend, tile)
        if self._inner is not None and hasattr(self._inner, "configure_inference"):
            self._inner.configure_inference(backend, tile)

    def inference_description(self) -> str:
        """Say the cost (denoiser calls per image) and what the denoiser runs with."""
        describe = getattr(self.inner(), "inference_description", None)
        runs = f"; {self.denoiser} runs {describe()}" if callable(describe) else ""
        return f"{self.iterations} {self.denoiser} calls per image{runs}"

    def supports(self, info: DegradationInfo, channels: int) -> str | None:
        """Serve deblurring and super-resolution whose degradation discloses its linear operator."""
        reason = super().supports(info, channels)
        if reason is None and (info.forward is None or info.adjoint is None):
            reason = "pnp needs the degradation's linear forward operator, which this one does not disclose"
        if reason is None:
            reason = self.inner().supports(DegradationInfo(DENOISING, sigma=25.0), channels)
        return reason

    def prepare(self, info: DegradationInfo, channels: int) -> None:
        """Load the denoiser's weights."""
        self.inner().prepare(DegradationInfo(DENOISING, sigma=25.0), channels)

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Alternate data and denoising steps; return the last denoised estimate, clipped to [0, 1]."""
        import torch

        from restore_core.imaging.resize import bicubic_resize

        if info.forward is None or info.adjoint is None:
            raise UsageError("pnp needs the degradation's linear forward operator, which this one does not disclose")
        noise = float(info.sigma or 0.0)
        scale = info.scale
        _n, _c, h, w = degraded.shape
        y = degraded.float()
        z = bicubic_resize(y, h * scale, w * scale) if scale > 1 else y.clone()
        levels = denoiser_levels(self.iterations, self.sigma_start,
                                 max(noise, float(scale) if scale > 1 else 0.0, 0.255))
        kernel = info.params.get("kernel")
        otf = transfer_function(kernel, h, w) if scale == 1 and kernel is not None else None
        denoiser = self.inner()
        floor = max(noise, 0.255)  # DPIR's: a noise-free input still gets a finite data weight
        with torch.inference_mode():
            for level in levels:
                alpha = self.lam * floor**2 / level**2
                if otf is not None:
                    x = fft_data_step(y, z, otf, alpha)
                else:
                    x = cg_data_step(y, z, info.forward, info.adjoint, alpha)
                z = denoiser.restore(x, DegradationInfo(DENOISING, sigma=level))
        return z.clamp(0.0, 1.0)


@hookimpl
def register_restorers(register) -> None:
    """Register `pnp`."""
    register(PlugAndPlay)
