"""The noise-level-conditioned denoiser: what every network told its noise level per pixel shares.

Such a network takes the noisy image plus one more channel holding each pixel's noise sigma (on the
0-1 scale), as FFDNet and DRUNet do (Zhang et al., 2018 and 2021). One model then serves every
level it was trained on, spatially varying noise and a user's choice of strength. `fdncnn` (DnCNN's
body) and `drunet` (a residual U-Net) differ only in the network; where the sigma comes from is
decided here, first match wins:

1. the restorer's own `sigma` option: a number (a user's "strength": a larger sigma smooths more),
   or `auto`, which estimates each image's level (`restore_core.imaging.noise_level`);
2. a per-pixel map the degradation discloses (`info.params["noise_map"]`, (N, 1, H, W), 0-255),
   for spatially varying noise;
3. the degradation's `info.sigma`.

`pd=2` denoises through pixel-shuffle down-sampling with its refinement step
(`restore_core.imaging.pixel_shuffle`), for real, spatially correlated camera noise. Without any
of the three the restorer is unsupported, with a reason that names `sigma=auto`. Training draws a
sigma per patch under `gaussian-range`, which discloses it as the patch's map, so the network learns
from exactly the input it is given at inference. A subclass may warm-start from its unconditioned
parent of the same shape (`build_parent`): the parent's weights are copied and the map's input
weights start at zero, so training begins at the parent's quality, whatever the map says. A colour
network may also warm-start from the same network trained on gray (`colour_from_gray`): it then
begins as the gray model applied to the channels' mean, which is where colour training learns
fastest from (its spatial features are trained; only the colour has to be learned).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from restore_builtins.trained_denoiser import check_pd
from restore_core import DENOISING, DegradationInfo, Degraded
from restore_core.components.network_restorer import NetworkRestorer

if TYPE_CHECKING:
    import torch
    from torch import nn


class ConditionedDenoiser(NetworkRestorer):
    """A denoiser whose network takes a noise-level map as an extra input channel (subclasses build it)."""

    tasks = frozenset({DENOISING})
    weights_package = "restore_builtins.weights"
    #: restore() honours any info.sigma and a disclosed noise_map: plug-and-play may call it at any level
    noise_level_conditioned: ClassVar[bool] = True
    SIGMA_RANGE = (0.0, 75.0)  # the levels the shipped weights were trained on
    #: the state key of the convolution that takes the image and, one channel more, the map
    INPUT_WEIGHT: ClassVar[str]

    def __init__(self, sigma: float | Literal["auto"] | None = None, weights: str | None = None,
                 pd: int = 1) -> None:
        if isinstance(sigma, str) and sigma != "auto":
            raise ValueError(f"sigma is a noise level (0-255) or auto, not {sigma!r}")
        if isinstance(sigma, int | float) and not 0 <= sigma <= 255:
            raise ValueError(f"sigma must be within [0, 255], got {sigma:g}")
        super().__init__(weights)
        self.sigma = float(sigma) if isinstance(sigma, int | float) else sigma
        self.pd = check_pd(pd)  # pixel-shuffle down-sampling for real, correlated noise (1: off)

    def supports(self, info: DegradationInfo, channels: int) -> str | None:
        """Serve denoising whenever a noise level is known: given, disclosed, or estimated (sigma=auto)."""
        reason = super().supports(info, channels)
        if reason is None and self.sigma is None and info.sigma is None and "noise_map" not in info.params:
            reason = (f"{self.name} needs the noise level: the degradation does not disclose it; "
                      f"{self.name}:sigma=auto estimates it, {self.name}:sigma=N sets it")
        return reason

    def build_parent(self, channels: int) -> nn.Module:
        """Return the unconditioned network of the same shape, whose weights warm_start also takes."""
        raise NotImplementedError

    def warm_start(self, network: nn.Module, state: dict[str, torch.Tensor], sample: torch.Tensor) -> None:
        """Start from this network's trained weights, its gray twin's (colour), or its unconditioned parent's."""
        first = state.get(self.INPUT_WEIGHT)
        channels = network.get_parameter(self.INPUT_WEIGHT).shape[1] - 1
        if first is not None and channels > 1 and first.shape[1] == 2:  # the gray model of this network
            colour_from_gray(network, state, self.INPUT_WEIGHT)
            return
        if first is None or first.shape[1] != channels:  # this network's own weights (or a misfit, refused)
            super().warm_start(network, state, sample)
            return
        parent = self.build_parent(channels)
        super().warm_start(parent, state, sample)
        add_map_channel(network, parent, self.INPUT_WEIGHT)

    def training_degradation(self, info: DegradationInfo) -> str:
        """Train on a sigma drawn per patch from the shipped range, disclosed as the noise map."""
        low, high = self.SIGMA_RANGE
        return f"gaussian-range:sigma_min={low:g},sigma_max={high:g}"

    def noise_map(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Return the (N, 1, H, W) noise sigma map (0-255) this restorer denoises `degraded` for."""
        import torch

        n, _, h, w = degraded.shape
        if self.sigma == "auto":
            from restore_core.imaging.noise_level import estimate_noise_sigma

            levels = torch.tensor(estimate_noise_sigma(degraded), dtype=torch.float32)
            return levels.view(n, 1, 1, 1).expand(n, 1, h, w)
        if self.sigma is not None:
            return torch.full((n, 1, h, w), self.sigma)
        given = info.params.get("noise_map")
        if given is not None:
            if given.ndim != 4 or given.shape[1] != 1 or given.shape[-2:] != (h, w) or given.shape[0] not in (1, n):
                raise ValueError(f"noise_map must be (N, 1, H, W) like the image {tuple(degraded.shape)}, "
                                 f"got {tuple(given.shape)}")
            return given.float().expand(n, 1, h, w)
        if info.sigma is None:
            raise ValueError(f"{self.name} needs a noise level (sigma=auto estimates it)")
        return torch.full((n, 1, h, w), float(info.sigma))

    def network_input(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """The image with its noise map (sigma / 255) appended as the last channel."""
        import torch

        level = self.noise_map(degraded, info).to(degraded.device, degraded.dtype) / 255.0
        return torch.cat([degraded, level], dim=1)

    def training_pair(self, degraded: Degraded) -> tuple[torch.Tensor, torch.Tensor]:
        """Train on (noisy image with its disclosed map, clean)."""
        return self.network_input(degraded.image, degraded.info), degraded.target

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Restore (through pixel-shuffle down-sampling when `pd` > 1, the noise map split with the image)."""
        if self.pd == 1:
            return super().restore(degraded, info)
        from dataclasses import replace

        from restore_core.imaging.pixel_shuffle import pd_denoise

        given = info.params.get("noise_map")
        if given is not None:
            given = given.float().expand(degraded.shape[0], 1, *degraded.shape[-2:])

        def denoise(x: torch.Tensor, noise_map: torch.Tensor | None) -> torch.Tensor:
            told = info if noise_map is None else replace(info, params={**info.params, "noise_map": noise_map})
            return NetworkRestorer.restore(self, x, told)

        return pd_denoise(denoise, degraded, self.pd, noise_map=given)

    def run_network(self, network: nn.Module, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Denoise in one pass, the map appended to the image."""
        return network(self.network_input(degraded, info))


def add_map_channel(network: nn.Module, parent: nn.Module, key: str) -> None:
    """Copy `parent` into `network`, whose `key` convolution takes one more input channel (the map),
    with that channel's weights zero: `network` then computes exactly what `parent` does."""
    import torch

    with torch.no_grad():
        state = parent.state_dict()
        network.load_state_dict({k: v for k, v in state.items() if k != key}, strict=False)
        weight = network.get_parameter(key)
        weight.zero_()
        weight[:, : state[key].shape[1]].copy_(state[key])


def colour_from_gray(network: nn.Module, gray: dict[str, torch.Tensor], key: str) -> None:
    """Copy a gray conditioned network's weights into the colour `network` of the same shape.

    `network` then computes exactly the gray model on the mean of the C channels, told that mean's
    noise level (sigma / sqrt(C): the channels' noise is independent), and subtracts the noise it
    finds from every channel. `key` is the input convolution (image channels, then the map); the
    output convolution is the network's last one, whose single gray filter serves every channel.
    """
    import math

    import torch
    from torch import nn

    from restore_core.train.weights import WeightsError

    name, last = [(n, m) for n, m in network.named_modules() if isinstance(m, nn.Conv2d)][-1]
    outputs = [f"{name}.weight"] + ([f"{name}.bias"] if last.bias is not None else [])
    target = network.state_dict()
    channels = target[key].shape[1] - 1
    expected = {k: v.shape for k, v in target.items()}
    expected[key] = torch.Size((expected[key][0], 2, *expected[key][2:]))
    expected.update({k: torch.Size((1, *expected[k][1:])) for k in outputs})
    given = {k: v.shape for k, v in gray.items()}
    if given != expected:
        odd = sorted(k for k in given.keys() | expected.keys() if given.get(k) != expected.get(k))[0]
        raise WeightsError(f"the gray weights do not fit this colour network: {odd!r} differs "
                           f"({tuple(given.get(odd, ()))} against {tuple(expected.get(odd, ()))})")
    with torch.no_grad():
        network.load_state_dict({k: v for k, v in gray.items() if k != key and k not in outputs}, strict=False)
        weight = network.get_parameter(key)
        weight[:, :channels].copy_((gray[key][:, :1] / channels).expand(-1, channels, -1, -1))
        weight[:, channels:].copy_(gray[key][:, 1:] / math.sqrt(channels))
        for k in outputs:
            network.get_parameter(k).copy_(gray[k].expand_as(network.get_parameter(k)))
