"""The three component interfaces: Degradation, Restorer, Metric.

Tensors at every boundary are float32 in [0, 1] with shape (N, C, H, W), C being 1 (gray) or 3 (RGB).
A degraded batch may leave [0, 1] (noise is not clipped, as in the published protocols).

Tasks are plain strings; the built-in ones are below (`TASKS`). A third-party degradation declares a
new task by setting `task = "my-task"` (lowercase, `-` between words) on its class and returning it
in its DegradationInfo; restorers opt in by listing it in their `tasks`. Nothing else registers it.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

if TYPE_CHECKING:  # torch loads when a component computes, not when it registers
    import torch

DENOISING = "denoising"  # noise of any model (Gaussian, Poisson, speckle, impulse); the size is kept
DEBLOCKING = "deblocking"  # lossy-compression artifacts (JPEG)
DEBLURRING = "deblurring"  # a known blur kernel, possibly with noise
SUPER_RESOLUTION = "super-resolution"  # the image was made smaller by `scale`
TASKS = (DENOISING, DEBLOCKING, DEBLURRING, SUPER_RESOLUTION)


class DegradationParams(TypedDict, total=False):
    """The vocabulary of DegradationInfo.params: what a restorer may know, by name and type.

    A degradation sets only the keys that describe it; a third-party one may add keys of its own.
    """

    sigma: float  # standard deviation of additive white Gaussian noise, 0-255 scale
    peak: float  # Poisson noise: photons at white (x_noisy = Poisson(peak * x) / peak)
    speckle: float  # standard deviation of multiplicative noise (x_noisy = x * (1 + speckle * n))
    amount: float  # salt-and-pepper noise: the fraction of pixels replaced by 0 or 1
    quality: int  # JPEG quality, 1-100
    kernel: torch.Tensor  # blur kernel (kh, kw), float32, summing to 1, applied with circular boundaries
    kernel_sigma: float  # a Gaussian kernel's standard deviation in pixels
    kernel_length: float  # a motion kernel's length in pixels
    kernel_size: int  # a box or Gaussian kernel's side in pixels
    scale: int  # down-sampling factor
    noise_map: torch.Tensor  # (N, 1, H, W) float32: each pixel's Gaussian noise sigma, 0-255 scale


Operator = Callable[["torch.Tensor"], "torch.Tensor"]


@dataclass(frozen=True)
class DegradationInfo:
    """What a non-blind restorer may know about how its input was degraded.

    `params` names the degradation's parameters (see DegradationParams). Where the noise-free part
    of the degradation is linear, `forward` is that operator A (clean (N, C, H, W) to degraded
    (N, C, H/scale, W/scale)) and `adjoint` its adjoint A^T, so model-based and plug-and-play
    restorers can use them; None where it is not linear (JPEG) or not known. Infos compare by task,
    sigma and scale.
    """

    task: str
    sigma: float | None = None  # noise standard deviation on the 0-255 scale
    scale: int = 1  # down-sampling factor; 1 keeps the size
    params: Mapping[str, Any] = field(default_factory=dict, compare=False)
    forward: Operator | None = field(default=None, compare=False, repr=False)
    adjoint: Operator | None = field(default=None, compare=False, repr=False)

    def scalar_params(self) -> dict[str, float]:
        """The numeric parameters (what a report can plot against), sorted by name."""
        out = {k: float(v) for k, v in sorted(self.params.items())
               if isinstance(v, int | float) and not isinstance(v, bool)}
        if self.sigma is not None:
            out.setdefault("sigma", float(self.sigma))
        if self.scale != 1:
            out.setdefault("scale", float(self.scale))
        return out


@dataclass(frozen=True)
class Degraded:
    """A degraded batch, the clean batch it is scored against, and what a restorer may know."""

    image: torch.Tensor
    target: torch.Tensor  # the clean batch, cropped the way the degradation cropped it
    info: DegradationInfo


class Component:
    """Shared behaviour: a registered `name`, a description and the parameters it was built with."""

    name: ClassVar[str]
    description: ClassVar[str] = ""

    def params(self) -> dict[str, Any]:
        """Return the constructor parameters this instance was built with."""
        # an attribute of the parameter's name wins (it may have been normalised, e.g. int to
        # float); else the value the registry built with, for a plugin that stores `size` as
        # `self.k`; a component built directly in Python has only its attributes to go by
        built: dict[str, Any] = getattr(self, "_build_params", None) or {}
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        names += [n for n in built if n not in names]  # a factory function's own parameters
        out: dict[str, Any] = {}
        for n in names:
            if hasattr(self, n):
                out[n] = getattr(self, n)
            elif n in built:
                out[n] = built[n]
        return out

    def spec(self) -> str:
        """Return the canonical spec with every set parameter, e.g. `gaussian:sigma=25,clip=false`."""
        parts = [f"{k}={_fmt(v)}" for k, v in self.params().items() if v is not None]
        return self.name + (":" + ",".join(parts) if parts else "")

    def short_spec(self) -> str:
        """Return the spec with only the parameters that differ from their defaults."""
        defaults = _defaults(type(self))
        parts = [f"{k}={_fmt(v)}" for k, v in self.params().items() if defaults.get(k, object()) != v]
        return self.name + (":" + ",".join(parts) if parts else "")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec()}>"


def _defaults(cls: type) -> dict[str, Any]:
    sig = inspect.signature(cls.__init__)
    return {k: p.default for k, p in sig.parameters.items() if p.default is not p.empty}


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).lower() if isinstance(value, bool) else str(value)


class Degradation(Component, ABC):
    """Turns a clean batch into a degraded one, reproducibly from one generator per image."""

    task: ClassVar[str]

    @abstractmethod
    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Degrade `clean` (N, C, H, W); image i draws its randomness from `generators[i]` only."""


class Restorer(Component, ABC):
    """Restores a degraded batch; declares the tasks it serves and the channel counts it takes."""

    tasks: ClassVar[frozenset[str]]
    channels: ClassVar[frozenset[int]] = frozenset({1, 3})

    def supports(self, info: DegradationInfo, channels: int) -> str | None:
        """Return why this restorer cannot serve `info` on `channels`-channel images, or None."""
        if info.task not in self.tasks:
            return f"{self.name} serves {', '.join(sorted(self.tasks))}, not {info.task}"
        if channels not in self.channels:
            return f"{self.name} takes {sorted(self.channels)}-channel images, not {channels}"
        return None

    def prepare(self, info: DegradationInfo, channels: int) -> None:
        """Load what `restore` will need (weights); raise WeightsNotFoundError if missing."""

    @abstractmethod
    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Restore `degraded` (N, C, h, w) to (N, C, h*scale, w*scale) in [0, 1]."""


class Metric(Component, ABC):
    """Scores restored images against clean ones: one value per image, no reduction."""

    higher_is_better: ClassVar[bool] = True
    unit: ClassVar[str] = ""

    @abstractmethod
    def measure(
        self, restored: torch.Tensor, target: torch.Tensor, info: DegradationInfo
    ) -> torch.Tensor:
        """Return a float64 tensor (N,) scoring each restored image against its target."""


class TrainableRestorer(Restorer, ABC):
    """A restorer backed by a torch network that `restore train` can fit."""

    @abstractmethod
    def build_network(self, channels: int) -> torch.nn.Module:
        """Return a freshly initialised network for `channels`-channel images."""

    @abstractmethod
    def training_pair(
        self, degraded: Degraded
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (network input, network target) for a degraded training batch."""

    @abstractmethod
    def weights_key(self, info: DegradationInfo, channels: int) -> str:
        """Return the file stem under which weights for this configuration are stored."""

    @abstractmethod
    def load_network(self, network: torch.nn.Module, info: DegradationInfo, channels: int) -> None:
        """Use `network` (already trained) for `info` and `channels` instead of stored weights."""
