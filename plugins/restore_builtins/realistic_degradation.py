"""`realistic`: a chain example, bicubic down-sampling, then Gaussian noise, then JPEG.

`realistic:scale=4,sigma=5,quality=75` degrades exactly as the chain
`bicubic-down:scale=4+gaussian:sigma=5+jpeg:quality=75` does from the same generator, a
simple stand-in for a photograph that was resized, noisy and saved as JPEG. Task `super-resolution`
(the chain rule: a stage changes the size).
"""

from __future__ import annotations

from restore_core import hookimpl
from restore_core.components.chain import Chain
from restore_core.components.interfaces import Component


class RealisticDegradation(Chain):
    """Bicubic down-sampling by `scale`, Gaussian noise `sigma` (0-255), JPEG at `quality`."""

    name = "realistic"
    description = "chain example: bicubic down-sampling, Gaussian noise, then JPEG (realistic:scale=4)"

    def __init__(self, scale: int = 4, sigma: float = 5.0, quality: int = 75) -> None:
        from restore_builtins.bicubic_downsampling import BicubicDownsampling
        from restore_builtins.gaussian_noise import GaussianNoise
        from restore_builtins.jpeg_compression import JpegCompression

        super().__init__([BicubicDownsampling(scale), GaussianNoise(sigma), JpegCompression(quality)])
        self.scale = scale
        self.sigma = float(sigma)
        self.quality = quality

    spec = Component.spec  # a registered name with its own parameters, not the stages joined by +
    short_spec = Component.short_spec


@hookimpl
def register_degradations(register) -> None:
    """Register `realistic`."""
    register(RealisticDegradation)
