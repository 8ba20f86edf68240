"""Chains of degradations: `gaussian15+jpeg:quality=30` applies its stages in order.

Invariants:

- Each stage draws from its own generator, seeded from the image's generator (one 63-bit sub-seed
  per stage, drawn in stage order), so a chain is as reproducible and as independent of batch
  order as a single degradation, and a stage's randomness does not shift when another stage draws
  more or fewer numbers.
- The target is the first stage's target (the clean image, cropped to a multiple of the chain's
  total scale).
- The chain's DegradationInfo merges its stages' (`merge_infos`): the scale is the product of the
  stages' scales; the task is super-resolution if the size changes, otherwise the first stage's task
  that is not denoising, otherwise denoising (noise then JPEG is deblocking; blur then noise is
  deblurring); a parameter two stages set to different values is left out, since the chain has no one
  value for it; the forward operator is the stages' operators composed, None if any stage has none.

The `+` grammar is parsed by `restore_core.plugins.registry.split_chain`; building a degradation spec
with more than one stage (`Registry.build`) returns a Chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from restore_core.components.interfaces import (
    DENOISING,
    SUPER_RESOLUTION,
    Degradation,
    DegradationInfo,
    Degraded,
)
from restore_core.components.operators import compose

if TYPE_CHECKING:
    import torch


class Chain(Degradation):
    """Degradations applied one after another, each stage with its own sub-seed."""

    name = "chain"
    description = "degradations applied in order, joined by + (gaussian15+jpeg:quality=30)"
    task = DENOISING  # a chain's task depends on its stages: see merge_infos and the info it returns

    def __init__(self, stages: Sequence[Degradation]) -> None:
        if len(stages) < 2:
            raise ValueError("a chain has at least two stages")
        self.stages = tuple(stages)

    def spec(self) -> str:
        """The stages' specs joined by `+`."""
        return "+".join(stage.spec() for stage in self.stages)

    def short_spec(self) -> str:
        """The stages' short specs joined by `+`."""
        return "+".join(stage.short_spec() for stage in self.stages)

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Apply each stage to the previous stage's output, image i's stages seeded from generators[i]."""
        import torch

        if len(generators) != clean.shape[0]:
            raise ValueError(f"{clean.shape[0]} images but {len(generators)} generators")
        seeds = [torch.randint(0, 2**63 - 1, (len(self.stages),), generator=g).tolist() for g in generators]
        image, target, infos = clean, None, []
        for i, stage in enumerate(self.stages):
            out = stage.degrade(image, [torch.Generator().manual_seed(s[i]) for s in seeds])
            target = out.target if target is None else target
            image = out.image
            infos.append(out.info)
        info = merge_infos(infos)
        h, w = image.shape[-2:]
        return Degraded(image, target[..., : h * info.scale, : w * info.scale], info)  # type: ignore[index]


def chain_task(infos: Sequence[DegradationInfo]) -> str:
    """The task of a chain: super-resolution if the size changes, else the first task but denoising."""
    if any(info.scale != 1 for info in infos):
        return SUPER_RESOLUTION
    return next((info.task for info in infos if info.task != DENOISING), DENOISING)


def merge_infos(infos: Sequence[DegradationInfo]) -> DegradationInfo:
    """One DegradationInfo for a chain of stages (the rules are in this module's docstring)."""
    scale = 1
    for info in infos:
        scale *= info.scale
    params: dict[str, Any] = {}
    conflicting: set[str] = set()
    for info in infos:
        for key, value in info.params.items():
            if key in params and not _same(params[key], value):
                conflicting.add(key)
            params.setdefault(key, value)
    for key in conflicting:
        del params[key]
    if scale != 1:
        params["scale"] = scale
    sigmas = {info.sigma for info in infos if info.sigma is not None}
    sigma = next(iter(sigmas)) if len(sigmas) == 1 else None  # two noise levels: no one sigma
    return DegradationInfo(chain_task(infos), sigma=sigma, scale=scale, params=params,
                           forward=compose([info.forward for info in infos]),
                           adjoint=compose([info.adjoint for info in reversed(infos)]))


def _same(a: Any, b: Any) -> bool:
    import torch

    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):  # a kernel: == would compare pixels
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and torch.equal(a, b)
    return bool(a == b)
