"""Built-in inference backends: `eager` (the reference) and `optimized` (the fast CPU/GPU path)."""

from __future__ import annotations

import contextlib
import copy

import torch
from torch import nn

from restore_core import hookimpl
from restore_core.components.backends import (
    DTYPES,
    Backend,
    Precision,
    Runner,
    ShapeRange,
    default_device,
    fold_batchnorm,
)


def _device(name: str) -> torch.device:
    if name == "auto":
        return default_device()
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


class EagerBackend(Backend):
    """Plain PyTorch: the module as trained, NCHW, under inference_mode; what every backend must match."""

    name = "eager"
    description = "plain PyTorch, NCHW, inference_mode: the reference the other backends are checked against"
    precisions = frozenset({"fp32", "fp16", "bf16"})
    priority = 0

    def __init__(self, precision: Precision = "fp32", device: str = "auto") -> None:
        super().__init__(precision)
        self.device = device
        _device(device)

    def target_device(self) -> torch.device:
        """Return the resolved device."""
        return _device(self.device)

    def unavailable(self) -> str | None:
        """Unavailable only when CUDA was asked for and is missing."""
        if self.device == "cuda" and not torch.cuda.is_available():
            return "no CUDA device"
        return super().unavailable()

    def prepare(self, module: nn.Module, shapes: ShapeRange) -> Runner:
        """Run a copy of `module` as it is, cast to the precision."""
        device, dtype = _device(self.device), DTYPES[self.precision]
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
        self.device = device
        self.compile = compile
        _device(device)

    def target_device(self) -> torch.device:
        """Return the resolved device."""
        return _device(self.device)

    def unavailable(self) -> str | None:
        """fp16 needs CUDA (CPU fp16 convolutions are slower than fp32); cuda needs a device."""
        device = _device(self.device)
        if self.device == "cuda" and not torch.cuda.is_available():
            return "no CUDA device"
        if self.precision == "fp16" and device.type == "cpu":
            return "fp16 runs only on CUDA here; use precision=bf16 on CPU"
        return super().unavailable()

    def prepare(self, module: nn.Module, shapes: ShapeRange) -> Runner:
        """Fold, convert to channels-last, optionally compile; autocast when not fp32."""
        device = _device(self.device)
        net = fold_batchnorm(module).to(device=device, memory_format=torch.channels_last)
        if self.compile:
            net = torch.compile(net, dynamic=True)
        dtype = DTYPES[self.precision]

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
