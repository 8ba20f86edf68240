"""Blur with a known kernel, optionally followed by white Gaussian noise: the deblurring degradation.

x_blurred = k * x + (noise / 255) n, n ~ N(0, 1), where * is a circular convolution: the image wraps
around at its borders (as in DPIR's and USRNet's synthetic deblurring benchmarks), which makes the
forward operator exact for FFT-based restorers. Kernels (each normalised to sum to 1):

- `gaussian`: side `size` (default 2*ceil(3*sigma)+1), standard deviation `sigma` pixels;
- `motion`: a straight line `length` pixels long at `angle` degrees (counter-clockwise from the x
  axis), anti-aliased, on a square of side `size` (default the smallest odd side holding the line);
- `box`: a uniform `size` x `size` square (default 5);
- a file path: a `.npy` 2-D array or a gray PNG, used as it is (non-negative, normalised).

Not clipped. Task `deblurring`: `info.params["kernel"]` is the kernel as a float32 (kh, kw) tensor,
`info.sigma` the noise level (0 without noise), and `info.forward` / `info.adjoint` the convolution
and its adjoint (restore_core.components.operators.CircularConvolution).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from restore_core import DEBLURRING, Degradation, DegradationInfo, Degraded, hookimpl

if TYPE_CHECKING:
    import torch

KERNELS = ("gaussian", "motion", "box")
_MAX_SIDE = 128  # a larger kernel is almost certainly a wrong file, and would be slow


def gaussian_kernel(sigma: float, size: int | None = None) -> np.ndarray:
    """A normalised isotropic Gaussian kernel, `size` square (default 2*ceil(3*sigma)+1)."""
    side = size or 2 * math.ceil(3 * sigma) + 1
    r = np.arange(side, dtype=np.float64) - (side - 1) / 2
    g = np.exp(-(r**2) / (2 * sigma**2))
    k = np.outer(g, g)
    return (k / k.sum()).astype(np.float32)


def motion_kernel(length: float, angle: float, size: int | None = None) -> np.ndarray:
    """A normalised straight-line kernel `length` pixels long at `angle` degrees, anti-aliased."""
    side = size or 2 * math.ceil((length - 1) / 2) + 1  # the endpoints are (length - 1) apart
    k = np.zeros((side, side), dtype=np.float64)
    c = (side - 1) / 2
    theta = math.radians(angle)
    # splat the midpoints of eighth-pixel steps along the line bilinearly: an anti-aliased line
    steps = max(1, round(8 * length))
    for t in -length / 2 + (np.arange(steps) + 0.5) * (length / steps):
        x, y = c + t * math.cos(theta), c - t * math.sin(theta)
        x0, y0 = math.floor(x), math.floor(y)
        for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):
            yy, xx = y0 + dy, x0 + dx
            if 0 <= yy < side and 0 <= xx < side:
                k[yy, xx] += (1 - abs(x - xx)) * (1 - abs(y - yy))
    return (k / k.sum()).astype(np.float32)


def read_kernel(path: str) -> np.ndarray:
    """A kernel from a .npy array or a gray PNG, normalised; ValueError naming the problem."""
    p = Path(path)
    try:
        if p.suffix.lower() == ".npy":
            k = np.load(p, allow_pickle=False)
        else:
            from restore_core.imaging.io import read_image

            k = read_image(p, mode="gray")[0, 0].numpy()
    except Exception as exc:  # OSError, numpy's and the image reader's errors: one line naming the file
        raise ValueError(f"cannot read kernel file {path!r}: {exc}") from None
    k = np.asarray(k, dtype=np.float64)
    if k.ndim != 2 or not 1 <= max(k.shape) <= _MAX_SIDE:
        raise ValueError(f"kernel file {path!r} must hold a 2-D array of side 1 to {_MAX_SIDE}, not {k.shape}")
    if not np.isfinite(k).all() or (k < 0).any() or k.sum() <= 0:
        raise ValueError(f"kernel file {path!r} must be finite, non-negative and not all zero")
    return (k / k.sum()).astype(np.float32)


def make_kernel(kernel: str, size: int | None, sigma: float, length: float, angle: float) -> np.ndarray:
    """Build the kernel a blur spec names; ValueError naming the allowed kernels otherwise."""
    if size is not None and not 1 <= size <= _MAX_SIDE:
        raise ValueError(f"size must be from 1 to {_MAX_SIDE} pixels, got {size}")
    if kernel == "gaussian":
        if not sigma > 0:
            raise ValueError(f"sigma must be positive (pixels), got {sigma:g}")
        return gaussian_kernel(sigma, size)
    if kernel == "motion":
        if not 1 <= length <= _MAX_SIDE:
            raise ValueError(f"length must be from 1 to {_MAX_SIDE} pixels, got {length:g}")
        return motion_kernel(length, angle, size)
    if kernel == "box":
        side = size or 5
        return np.full((side, side), 1.0 / side**2, dtype=np.float32)
    if Path(kernel).suffix.lower() in (".npy", ".png"):
        if not Path(kernel).is_file():
            raise ValueError(f"kernel file {kernel!r} does not exist")
        return read_kernel(kernel)
    raise ValueError(f"kernel must be {', '.join(KERNELS)} or a .npy/.png file path, not {kernel!r}")


class Blur(Degradation):
    """Circular convolution with a known kernel, then optional white Gaussian noise (0-255 scale)."""

    name = "blur"
    description = "blur by a known kernel (gaussian, motion, box or a file), circular borders, optional noise"
    task = DEBLURRING

    def __init__(self, kernel: str = "gaussian", size: int | None = None, sigma: float = 1.6,
                 length: float = 9.0, angle: float = 0.0, noise: float = 0.0) -> None:
        if not 0 <= noise <= 255:
            raise ValueError(f"noise must be within [0, 255], got {noise:g}")
        self._kernel = make_kernel(kernel, size, sigma, length, angle)  # built now: bad input fails early
        self.kernel = kernel
        self.size = size
        self.sigma = float(sigma)
        self.length = float(length)
        self.angle = float(angle)
        self.noise = float(noise)

    def _described(self) -> dict[str, Any]:
        """The kernel's descriptive parameters for info.params (what a report can plot against)."""
        # a derived side is left out, so that a sweep of sigma or length varies one parameter only
        side = {"kernel_size": self.size} if self.size is not None else {}
        if self.kernel == "gaussian":
            return {"kernel_sigma": self.sigma, **side}
        if self.kernel == "motion":
            return {"kernel_length": self.length, **side}
        return {"kernel_size": self._kernel.shape[0]}

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Blur, then add noise drawn image by image from that image's generator."""
        import torch

        from restore_core.components.operators import CircularConvolution

        if len(generators) != clean.shape[0]:
            raise ValueError(f"{clean.shape[0]} images but {len(generators)} generators")
        kernel = torch.from_numpy(self._kernel)
        blur = CircularConvolution(kernel)
        out = blur(clean)
        if self.noise > 0:
            noise = torch.stack([torch.randn(clean.shape[1:], generator=g, dtype=torch.float32) for g in generators])
            out = out + noise.to(clean.device) * (self.noise / 255.0)
        params = {"kernel": kernel, **self._described(), "sigma": self.noise}
        info = DegradationInfo(DEBLURRING, sigma=self.noise, params=params, forward=blur, adjoint=blur.transposed())
        return Degraded(out, clean, info)


@hookimpl
def register_degradations(register) -> None:
    """Register `blur`."""
    register(Blur)
