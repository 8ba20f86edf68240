"""Inference backends: given a restorer's torch module, a shape range and a precision, something
that runs it.

A backend's `prepare` returns a `Runner`: a callable from a float32 (N, C, H, W) CPU tensor to a
float32 CPU tensor, whatever device and precision it uses inside, so restorers call it exactly as
they would call their module. Backends register through the `register_backends` hook.

`precision=auto` lets a backend choose for the machine it lands on (`resolved_precision`), and
`describe()` says what it actually runs with ("optimized bf16 channels-last"), so a benchmark can
record it. The rules are measured, not assumed (docs/benchmarks.md, "Inference speed"): bf16 runs
2-2.7x faster than fp32 on CPUs with native bf16 (AVX-512 BF16 or AMX) and 5-7x slower on CPUs
without it.

torch is imported inside the functions that compute, never at module level: registering and
listing backends (`restore list`) must not pay torch's start-up. A backend's `unavailable()`
should likewise answer what it can without torch (a package that is not installed).
"""

from __future__ import annotations

import copy
import itertools
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

from restore_core.components.interfaces import Component
from restore_core.errors import BackendUnavailableError, UsageError

if TYPE_CHECKING:
    import torch
    from torch import nn

Precision = Literal["auto", "fp32", "fp16", "bf16", "int8"]
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "fp16", "bf16", "int8")
Runner = Callable[["torch.Tensor"], "torch.Tensor"]

#: what bf16 costs where the CPU emulates it: optimized bf16 against eager fp32 at 512x512 on an
#: AMD EPYC with AVX2 only (issue 17): DnCNN-17 0.20x, DnCNN-7 0.21x, SRCNN 0.15x
EMULATED_BF16_SLOWDOWN = "5-7x slower than eager fp32 (measured 0.15-0.21x on an AVX2-only CPU)"


def native_bf16() -> bool:
    """True when this CPU computes bf16 natively (AVX-512 BF16 or AMX-BF16, from /proc/cpuinfo)."""
    from restore_core.system.hardware import cpu_extensions

    return bool({"AVX-512 BF16", "AMX-BF16"} & set(cpu_extensions()))


def warn_emulated_bf16(backend: str) -> None:
    """Warn in one line that bf16 on this CPU is emulated, and how much slower that is measured to be
    (under `restore --strict`, RESTORE_STRICT=1, refuse it with that line instead)."""
    from restore_core.system import settings

    message = (f"{backend}: this CPU has no native bf16 (no AVX-512 BF16 or AMX); precision=bf16 is expected "
               f"to run {EMULATED_BF16_SLOWDOWN}; precision=auto picks fp32 here")
    if settings.strict():
        raise UsageError(f"{message} (refused under --strict)")
    warnings.warn(message, stacklevel=3)


def torch_dtype(precision: str) -> torch.dtype:
    """Return the torch dtype of a precision name: fp32, fp16 or bf16."""
    import torch

    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]


@dataclass(frozen=True)
class ShapeRange:
    """The input shapes a prepared runner must accept: (N, C, H, W) at minimum, typical, maximum."""

    min: tuple[int, int, int, int]
    opt: tuple[int, int, int, int]
    max: tuple[int, int, int, int]

    @classmethod
    def around(cls, shape: tuple[int, ...], max_side: int | None = None, multiple: int = 8) -> ShapeRange:
        """A dynamic-height/width range that holds `shape`: from a small tile up to `max_side`.

        The minimum is kept strictly below the typical shape because TensorRT has failed to build
        engines whose opt shape equals their min shape (pytorch/TensorRT#4103).
        """
        n, c, h, w = (int(s) for s in shape)
        top = max(max_side or 0, h, w)
        top = -(-top // multiple) * multiple
        low = max(multiple, min(h, w, 64) // 2 // multiple * multiple)
        opt_h, opt_w = max(h, low + multiple), max(w, low + multiple)
        return cls((n, c, low, low), (n, c, opt_h, opt_w), (n, c, max(top, opt_h), max(top, opt_w)))

    def contains(self, shape: tuple[int, ...]) -> bool:
        """True when every dimension of `shape` lies within [min, max]."""
        return all(lo <= s <= hi for lo, s, hi in zip(self.min, shape, self.max, strict=True))


class Backend(Component, ABC):
    """Runs a restorer's network: eager PyTorch, an optimized CPU path, TensorRT, ..."""

    #: the concrete precisions the backend runs; `auto` (always accepted) resolves to one of them
    precisions: ClassVar[frozenset[str]] = frozenset({"fp32"})
    #: rank among available backends for `--backend auto` (higher wins), each built with its defaults:
    #: order them by measured speed in their default precision (benchmarks/speed.py); a default that
    #: lowers precision must cost at most 0.02 dB PSNR (benchmarks/precision_cost.py)
    priority: ClassVar[int] = 0

    def __init__(self, precision: Precision = "fp32") -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.precision = precision

    def emulates_bf16(self) -> bool:
        """Whether bf16 was asked for explicitly on a CPU that has no native bf16 (expected to run far slower)."""
        return self.precision == "bf16" and self.target_device().type == "cpu" and not native_bf16()

    def auto_choice(self) -> tuple[int, str]:
        """How `--backend auto` ranks this backend on this machine, and the spec it would run: by default
        (`priority`, its name), i.e. itself with its defaults. A backend whose fastest path within the
        0.02 dB default budget is not its default (a lower precision) names that spec here instead."""
        return self.priority, self.name

    def resolved_precision(self) -> str:
        """Return the precision it runs with: the one asked for, or what `auto` chooses here (fp32)."""
        return "fp32" if self.precision == "auto" else self.precision

    def describe(self) -> str:
        """Say what it runs with, e.g. 'eager fp32' (subclasses add memory format, engine, threads)."""
        return f"{self.name} {self.resolved_precision()}"

    def unavailable(self) -> str | None:
        """Return why this backend cannot run here (a missing package, no GPU), or None."""
        if self.precision != "auto" and self.precision not in self.precisions:
            return f"{self.name} does not run {self.precision} (it runs {', '.join(sorted(self.precisions))})"
        return None

    def check(self) -> None:
        """Raise BackendUnavailableError when the backend cannot run here."""
        reason = self.unavailable()
        if reason is not None:
            raise BackendUnavailableError(f"backend {self.short_spec()} is unavailable: {reason}")

    def target_device(self) -> torch.device:
        """Return the device the backend computes on (memory budgets for tiling are taken there)."""
        import torch

        return torch.device("cpu")

    @abstractmethod
    def prepare(self, module: nn.Module, shapes: ShapeRange) -> Runner:
        """Return a runner for `module` (not modified) over inputs within `shapes`."""


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """Return an eval-mode copy of `module` with every Conv2d -> BatchNorm2d pair inside an
    nn.Sequential folded into one convolution (the BatchNorm becomes an identity)."""
    import torch
    from torch import nn

    folded = copy.deepcopy(module).eval()
    for parent in folded.modules():
        if not isinstance(parent, nn.Sequential):
            continue
        children = list(parent._modules.items())
        for (_, conv), (bn_name, bn) in itertools.pairwise(children):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats:
                fused = torch.nn.utils.fusion.fuse_conv_bn_eval(conv, bn)
                conv.weight, conv.bias = fused.weight, fused.bias
                parent._modules[bn_name] = nn.Identity()
    return folded


def count_batchnorms(module: nn.Module) -> int:
    """Return how many BatchNorm2d layers `module` holds."""
    from torch import nn

    return sum(isinstance(m, nn.BatchNorm2d) for m in module.modules())


def default_device() -> torch.device:
    """Return cuda when a CUDA device is usable, else cpu."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
