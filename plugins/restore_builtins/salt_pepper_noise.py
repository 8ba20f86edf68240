"""Salt-and-pepper (impulse) noise: a fraction `amount` of the samples set to 0 or 1.

Each sample (each channel of each pixel, as scikit-image's `random_noise(mode="s&p")` does) is
replaced with probability `amount`: by 1 (salt) with probability `salt`, else by 0 (pepper). The
rest are untouched, so the result stays in [0, 1]. Task `denoising`; `info.params["amount"]` holds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from restore_core import DENOISING, Degradation, DegradationInfo, Degraded, hookimpl
from restore_core.components.operators import identity

if TYPE_CHECKING:
    import torch


class SaltPepperNoise(Degradation):
    """Replace a fraction `amount` of the samples by 1 (a fraction `salt` of them) or 0."""

    name = "salt-pepper"
    description = "impulse noise: a fraction `amount` of samples set to 0 or 1 (salt-pepper:amount=0.1)"
    task = DENOISING

    def __init__(self, amount: float = 0.1, salt: float = 0.5) -> None:
        if not 0 < amount <= 1:
            raise ValueError(f"amount must be a fraction within (0, 1], got {amount:g}")
        if not 0 <= salt <= 1:
            raise ValueError(f"salt must be a fraction within [0, 1], got {salt:g}")
        self.amount = float(amount)
        self.salt = float(salt)

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Choose each image's corrupted samples, then their values, from that image's generator."""
        import torch

        if len(generators) != clean.shape[0]:
            raise ValueError(f"{clean.shape[0]} images but {len(generators)} generators")
        out = []
        for image, g in zip(clean, generators, strict=True):
            hit = torch.rand(image.shape, generator=g) < self.amount
            value = (torch.rand(image.shape, generator=g) < self.salt).float()
            out.append(torch.where(hit.to(image.device), value.to(image.device), image))
        return Degraded(torch.stack(out), clean, DegradationInfo(DENOISING, params={"amount": self.amount},
                                                                 forward=identity, adjoint=identity))


@hookimpl
def register_degradations(register) -> None:
    """Register `salt-pepper`."""
    register(SaltPepperNoise)
