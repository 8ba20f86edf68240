"""Linear forward operators and their adjoints: what DegradationInfo.forward and .adjoint hold.

An operator is a picklable callable on float32 (N, C, H, W) tensors. Blurs are circular
convolutions (the image wraps around at its borders, as in the synthetic deblurring protocols of
DPIR and USRNet), so the adjoint is the circular correlation with the same kernel and an
FFT-based Wiener filter inverts the blur exactly. Decimation keeps the top-left pixel of each
`scale` x `scale` block; its adjoint puts each pixel back there and zeros elsewhere. The bicubic
down-sampling operator is the separable matrix form of `imaging.resize.bicubic_resize`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def identity(x: torch.Tensor) -> torch.Tensor:
    """The identity operator (A = A^T = I): a pure noise degradation's noise-free part."""
    return x


@dataclass(frozen=True)
class CircularConvolution:
    """y = k * x with circular boundaries; `adjoint=True` applies the correlation (A^T) instead."""

    kernel: torch.Tensor  # (kh, kw), float32
    adjoint: bool = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        import torch
        import torch.nn.functional as F

        kh, kw = self.kernel.shape
        if kh > x.shape[-2] or kw > x.shape[-1]:
            raise ValueError(f"a {kw}x{kh} kernel does not fit a {x.shape[-1]}x{x.shape[-2]} image")
        # conv2d correlates; flipping the kernel makes it a convolution. The centre of an even-sized
        # kernel is at (kh // 2, kw // 2); the correlation pads the other way round so it is A^T exactly
        weight = self.kernel.to(x.device, x.dtype)
        if not self.adjoint:
            weight = torch.flip(weight, (0, 1))
            pad = ((kw - 1) - kw // 2, kw // 2, (kh - 1) - kh // 2, kh // 2)
        else:
            pad = (kw // 2, (kw - 1) - kw // 2, kh // 2, (kh - 1) - kh // 2)
        c = x.shape[1]
        weight = weight.expand(c, 1, kh, kw)
        return F.conv2d(F.pad(x, pad, mode="circular"), weight, groups=c)

    def transposed(self) -> CircularConvolution:
        """The adjoint operator."""
        return CircularConvolution(self.kernel, not self.adjoint)


@dataclass(frozen=True)
class Decimation:
    """Keep every `scale`-th pixel from the top-left (A), or put pixels back among zeros (A^T)."""

    scale: int
    adjoint: bool = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        s = self.scale
        if not self.adjoint:
            return x[..., ::s, ::s]
        out = torch.zeros((*x.shape[:-2], x.shape[-2] * s, x.shape[-1] * s), dtype=x.dtype, device=x.device)
        out[..., ::s, ::s] = x
        return out

    def transposed(self) -> Decimation:
        """The adjoint operator."""
        return Decimation(self.scale, not self.adjoint)


@dataclass(frozen=True)
class BicubicDown:
    """Bicubic down-sampling by `scale` as two resize matrices (A), or their transposes (A^T)."""

    scale: int
    adjoint: bool = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if not self.adjoint:
            rows, cols = _resize_matrix(h, h // self.scale), _resize_matrix(w, w // self.scale)
            return rows.to(x) @ x @ cols.to(x).T
        rows, cols = _resize_matrix(h * self.scale, h), _resize_matrix(w * self.scale, w)
        return rows.to(x).T @ x @ cols.to(x)

    def transposed(self) -> BicubicDown:
        """The adjoint operator."""
        return BicubicDown(self.scale, not self.adjoint)


def _resize_matrix(size: int, out: int) -> torch.Tensor:
    """The (out, size) matrix bicubic_resize applies along one axis (Pillow resizes each axis apart)."""
    import torch

    from restore_core.imaging.resize import bicubic_resize

    eye = torch.eye(size, dtype=torch.float32)[None, None]
    # resizing only the height of the identity leaves its width untouched: the result is the matrix
    return bicubic_resize(eye, out, size)[0, 0]


@dataclass(frozen=True)
class Composed:
    """Apply `operators` in order (the forward operator of a chain)."""

    operators: tuple

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for op in self.operators:
            x = op(x)
        return x


def compose(operators: Sequence) -> Composed | None:
    """The operators applied in order, or None if any of them is None (not linear or not known)."""
    if any(op is None for op in operators):
        return None
    return Composed(tuple(op for op in operators if op is not identity))
