"""What every built-in network denoiser shares: trained for one noise sigma, or blind for a range.

With `sigma=auto` a non-blind denoiser serves photos of unknown noise: it estimates each image's
sigma (`restore_core.imaging.noise_level`) and uses the weights trained for the nearest level,
provided one lies within SIGMA_TOLERANCE of the estimate (else it names the training command).

With `pd=2` (or more) it denoises through pixel-shuffle down-sampling with the refinement step
(`restore_core.imaging.pixel_shuffle`), which helps on real, spatially correlated camera noise.
"""

from __future__ import annotations

import re
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from restore_core import DENOISING, DegradationInfo, Degraded
from restore_core.components.network_restorer import NetworkRestorer
from restore_core.errors import WeightsNotFoundError

if TYPE_CHECKING:
    import torch
    from torch import nn


def check_pd(pd: int) -> int:
    """Return the pixel-shuffle factor `pd`, refusing one below 1 or above 4 (a ValueError the registry reports)."""
    if not isinstance(pd, int) or not 1 <= pd <= 4:
        raise ValueError(f"pd (the pixel-shuffle down-sampling factor) is 1 (off), 2, 3 or 4, not {pd!r}")
    return pd


class TrainedDenoiser(NetworkRestorer):
    """A network denoiser on (noisy, clean) pairs; non-blind ones need the noise sigma."""

    tasks = frozenset({DENOISING})
    weights_package = "restore_builtins.weights"
    blind: bool = False
    sigma: Literal["auto"] | None = None  # auto: estimate each image's noise level instead of being told
    #: how far, relative to a trained level, an estimated sigma may lie and still use its weights
    SIGMA_TOLERANCE = 0.2
    pd: int = 1  # pixel-shuffle down-sampling factor (1: off)

    def supports(self, info: DegradationInfo, channels: int) -> str | None:
        """Serve denoising with a known noise level (any level when blind, an estimated one with sigma=auto)."""
        reason = super().supports(info, channels)
        if reason is None and info.sigma is None and not self.blind and self.sigma != "auto":
            reason = (f"{self.name} is non-blind and needs the noise sigma ({self.name}:blind=true serves any level, "
                      f"{self.name}:sigma=auto estimates it)")
        return reason

    def estimating(self) -> bool:
        """Whether this denoiser estimates each image's noise level (non-blind with sigma=auto)."""
        return self.sigma == "auto" and not self.blind

    def trained_sigmas(self, channels: int) -> list[float]:
        """The noise levels this configuration has weights for (the shipped ones, or the one of `weights`)."""
        if self.weights is not None:
            from restore_core.train.weights import read_metadata

            path = Path(self.weights).expanduser()
            keys = [read_metadata(path).get("key") or path.stem] if path.is_file() else []
        elif self.weights_package is not None:
            keys = [Path(f.name).stem for f in resources.files(self.weights_package).iterdir()
                    if f.name.endswith(".safetensors")]
        else:
            keys = []
        # the key of a level differs from this one only in its number
        stem = self.weights_key(DegradationInfo(DENOISING, sigma=0.0), channels).removesuffix("0")
        found = (re.fullmatch(re.escape(stem) + r"(\d+(?:\.\d+)?)", key) for key in keys)
        return sorted({float(m[1]) for m in found if m})

    def nearest_level(self, info: DegradationInfo, estimate: float, channels: int) -> DegradationInfo:
        """`info` with the trained level nearest `estimate`; WeightsNotFoundError when none is within tolerance."""
        levels = self.trained_sigmas(channels)
        near = [s for s in levels if abs(estimate - s) <= self.SIGMA_TOLERANCE * s]
        if not near:
            have = (f"weights for sigma {', '.join(f'{s:g}' for s in levels)} (each used within "
                    f"{self.SIGMA_TOLERANCE:.0%})" if levels else "no weights for any noise level")
            spec = re.sub(r"[:,]sigma=auto", "", self.short_spec())
            key = self.weights_key(replace(info, sigma=float(round(estimate))), channels)
            raise WeightsNotFoundError(
                f"{spec} estimated sigma {estimate:.1f}, but it has {have} for {channels}-channel images; train "
                f"them with: restore train --restorer {spec} --degradation gaussian{round(estimate)} "
                f"--dataset FOLDER --channels {channels} --out {key}.safetensors")
        return replace(info, sigma=min(near, key=lambda s: abs(estimate - s)))

    def prepare(self, info: DegradationInfo, channels: int) -> None:
        """Load the network for `info` (estimating: for the trained level nearest its sigma, if any)."""
        if self.estimating():
            levels = self.trained_sigmas(channels) or [25.0]  # none: let the lookup say what is missing
            info = replace(info, sigma=min(levels, key=lambda s: abs((info.sigma or s) - s)))
        super().prepare(info, channels)

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Restore (through pixel-shuffle down-sampling when `pd` > 1)."""
        if self.pd > 1:
            from restore_core.imaging.pixel_shuffle import pd_denoise

            return pd_denoise(lambda x, _map: self._restore_direct(x, info), degraded, self.pd)
        return self._restore_direct(degraded, info)

    def _restore_direct(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Restore; estimating, each image with the weights of the trained level nearest its own noise."""
        if not self.estimating():
            return super().restore(degraded, info)
        import torch

        from restore_core.imaging.noise_level import estimate_noise_sigma

        channels = degraded.shape[1]
        return torch.cat([super(TrainedDenoiser, self).restore(image, self.nearest_level(info, estimate, channels))
                          for image, estimate in zip(degraded.split(1), estimate_noise_sigma(degraded), strict=True)])

    def noise_key(self, info: DegradationInfo, channels: int) -> str:
        """Return the weights-key suffix for this configuration, e.g. `gray-sigma25` or `rgb-blind`."""
        kind = "gray" if channels == 1 else "rgb"
        return f"{kind}-{'blind' if self.blind else f'sigma{info.sigma:g}'}"

    def training_degradation(self, info: DegradationInfo) -> str:
        """Return `gaussian<sigma>` (`gaussian-blind` for a blind model)."""
        return "gaussian-blind" if self.blind else f"gaussian{info.sigma:g}"

    def training_pair(self, degraded: Degraded) -> tuple[torch.Tensor, torch.Tensor]:
        """Train on (noisy, clean)."""
        return degraded.image, degraded.target

    def run_network(
        self, network: nn.Module, degraded: torch.Tensor, info: DegradationInfo
    ) -> torch.Tensor:
        """Denoise in one pass."""
        return network(degraded)
