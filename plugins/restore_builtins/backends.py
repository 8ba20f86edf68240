"""Built-in inference backends: `eager` (the reference) and `optimized` (the fast CPU/GPU path).

torch is imported only where a backend resolves a device or runs a module: building a backend with
its defaults and asking `unavailable()` (what `restore list` does) costs no torch import.
"""

from __future__ import annotations

import contextlib
import copy
from typing import TYPE_CHECKING

from restore_core import hookimpl
from restore_core.components.backends import (
    Backend,
    Precision,
    Runner,
    ShapeRange,
    default_device,
    fold_batchnorm,
    torch_dtype,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

DEVICES = ("auto", "cpu", "cuda")


def _checked_device(name: str) -> str:
    if name not in DEVICES:
        raise ValueError(f"device must be auto, cpu or cuda, got {name!r}")
    return name


def _device(name: str) -> torch.device:
    import torch

    return default_device() if _checked_device(name) == "auto" else torch.device(name)


def _cuda_missing() -> bool:
    import torch

    return not torch.cuda.is_available()


class EagerBackend(Backend):
    """Plain PyTorch: the module as trained, NCHW, under inference_mode; what every backend must match."""

    name = "eager"
    description = "plain PyTorch, NCHW, inference_mode: the reference the other backends are checked against"
    precisions = frozenset({"fp32", "fp16", "bf16"})
    priority = 0

    def __init__(self, precision: Precision = "fp32", device: str = "auto") -> None:
        super().__init__(precision)
        self.device = _checked_device(device)

    def target_device(self) -> torch.device:
        """Return the resolved device."""
        return _device(self.device)

    def unavailable(self) -> str | None:
        """Unavailable only when CUDA was asked for and is missing."""
        if self.device == "cuda" and _cuda_missing():
            return "no CUDA device"
        return super().unavailable()

    def prepare(self, module: nn.Module, shapes: ShapeRange) -> Runner:
        """Run a copy of `module` as it is, cast to the precision."""
        import torch

        device, dtype = _device(self.device), torch_dtype(self.precision)
        net = copy.deepcopy(module).eval().to(device=device, dtype=dtype, memory_format=torch.contiguous_format)

        def run(x: torch.Tensor) -> torch.Tensor:
            with torch.inference_mode():
                return net(x.to(device=device, dtype=dtype).contiguous()).float().cpu()

        return run


class OptimizedBackend(Backend):
    """BatchNorm folded into the convolutions, channels-last memory format, and on request bf16
    (CPU) or fp16/bf16 (CUDA) autocast and torch.compile."""

    name = "optimized"
    description = "BatchNorm folded, channels-last; precision=bf16 for autocast, compile=true for torch.compile"
    precisions = frozenset({"fp32", "fp16", "bf16"})
    priority = 10

    def __init__(self, precision: Precision = "fp32", device: str = "auto", compile: bool = False) -> None:
        super().__init__(precision)
        self.device = _checked_device(device)
        self.compile = compile

    def target_device(self) -> torch.device:
        """Return the resolved device."""
        return _device(self.device)

    def unavailable(self) -> str | None:
        """fp16 needs CUDA (CPU fp16 convolutions are slower than fp32); cuda needs a device."""
        if self.device == "cuda" and _cuda_missing():
            return "no CUDA device"
        # only fp16 depends on where `auto` lands, so only fp16 pays for asking torch
        if self.precision == "fp16" and (self.device == "cpu" or (self.device == "auto" and _cuda_missing())):
            return "fp16 runs only on CUDA here; use precision=bf16 on CPU"
        return super().unavailable()

    def prepare(self, module: nn.Module, shapes: ShapeRange) -> Runner:
        """Fold, convert to channels-last, optionally compile; autocast when not fp32."""
        import torch

        device = _device(self.device)
        net = fold_batchnorm(module).to(device=device, memory_format=torch.channels_last)
        if self.compile:
            net = torch.compile(net, dynamic=True)
        dtype = torch_dtype(self.precision)

        def run(x: torch.Tensor) -> torch.Tensor:
            autocast = (torch.autocast(device.type, dtype=dtype) if dtype != torch.float32
                        else contextlib.nullcontext())
            with torch.inference_mode(), autocast:
                y = net(x.to(device).contiguous(memory_format=torch.channels_last))
            return y.float().cpu().contiguous()

        return run


@hookimpl
def register_backends(register) -> None:
    """Register `eager` and `optimized`."""
    register(EagerBackend)
    register(OptimizedBackend)
