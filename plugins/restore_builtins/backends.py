"""Built-in inference backends: `eager` (the reference) and `optimized` (the fast CPU/GPU path).

`optimized` chooses its precision and memory format for the machine (`precision=auto`,
`memory_format=auto`), by rules measured with benchmarks/speed.py and
benchmarks/precision_cost.py, recorded in benchmarks/results/ and docs/benchmarks.md:
- bf16 on a CPU with native bf16 (AVX-512 BF16 or AMX), where it runs faster than fp32, at most
  0.008 dB PSNR below eager fp32 on every shipped model (precision-cost-amd-epyc.md); fp32
  elsewhere, where bf16 is emulated and 5-7x slower than eager (issue 17); fp32 on CUDA until it
  is measured there. In bf16 (or fp16) the first convolution stays fp32: it reads the image
  itself, which bf16 would round by up to 2^-9 of its value, and a residual network passes that
  rounding on to its output. OpenVINO's bf16, which rounds the input, costs up to 0.011 dB in the
  same record, 3-10x what `optimized` costs, for a convolution that is the network's thinnest.
- channels-last where the CPU has AVX-512 or on CUDA; contiguous on AVX2-only CPUs, where
  channels-last measured 0.92x (issue 17).
`--backend auto` ranks it above the CPU engines in their defaults (onnxruntime, openvino fp32): on
the AMD EPYC its bf16 ran faster than either engine in fp32 (geometric means over the shipped models
at 256 and 512 pixels in speed-cpu-amd-epyc.md: optimized bf16 2.53x eager, onnxruntime 1.51x,
openvino fp32 1.43x), on the Xeon with AMX its bf16 ran 4.4-5.5x eager (speed-cpu.md), and it also
runs on CUDA. The one faster path measured, OpenVINO in bf16 on a CPU with native bf16 (3.34x), is
what auto takes there when openvino is installed (`OpenVINOBackend.auto_choice`).

torch is imported only where a backend resolves a device or runs a module: building a backend with
its defaults and asking `unavailable()` (what `restore list` does) costs no torch import.
"""

from __future__ import annotations

import contextlib
import copy
from typing import TYPE_CHECKING, Literal

from restore_core import hookimpl
from restore_core.components.backends import (
    Backend,
    Precision,
    Runner,
    ShapeRange,
    default_device,
    fold_batchnorm,
    native_bf16,
    torch_dtype,
    warn_emulated_bf16,
)
from restore_core.system.hardware import cpu_extensions

if TYPE_CHECKING:
    import torch
    from torch import nn

DEVICES = ("auto", "cpu", "cuda")
MemoryFormat = Literal["auto", "channels-last", "contiguous"]
MEMORY_FORMATS = ("auto", "channels-last", "contiguous")


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


def _warn_if_emulated(backend: Backend) -> None:
    if backend.emulates_bf16():
        warn_emulated_bf16(backend.short_spec())


def _keep_float32(module: nn.Module) -> nn.Module:
    """Wrap `module` so it runs in fp32 with autocast off, whatever the precision around it."""
    import torch
    from torch import nn

    class Float32(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            with torch.autocast(x.device.type, enabled=False):
                return self.inner(x.float())

    return Float32(module)


def first_convolution_in_fp32(net: nn.Module) -> nn.Module:
    """Make `net`'s first Conv2d (in module order) run in fp32 under autocast; `net` is changed in place."""
    from torch import nn

    name = next((n for n, m in net.named_modules() if isinstance(m, nn.Conv2d)), None)
    if name is not None:
        parent_name, _, attribute = name.rpartition(".")
        parent = net.get_submodule(parent_name) if parent_name else net
        setattr(parent, attribute, _keep_float32(getattr(parent, attribute)))
    return net


def channels_last_helps(device_type: str) -> bool:
    """The measured rule: channels-last on CUDA and on AVX-512 CPUs, contiguous on AVX2-only CPUs."""
    return device_type == "cuda" or "AVX-512" in cpu_extensions()


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

    def describe(self) -> str:
        """Say what it runs with, e.g. 'eager fp32 contiguous on cpu'."""
        return f"eager {self.resolved_precision()} contiguous on {_device(self.device).type}"

    def prepare(self, module: nn.Module, shapes: ShapeRange) -> Runner:
        """Run a copy of `module` as it is, cast to the precision."""
        import torch

        device, dtype = _device(self.device), torch_dtype(self.resolved_precision())
        _warn_if_emulated(self)
        net = copy.deepcopy(module).eval().to(device=device, dtype=dtype, memory_format=torch.contiguous_format)

        def run(x: torch.Tensor) -> torch.Tensor:
            with torch.inference_mode():
                return net(x.to(device=device, dtype=dtype).contiguous()).float().cpu()

        return run


class OptimizedBackend(Backend):
    """BatchNorm folded into the convolutions, the memory format and precision that are fastest on
    this machine (bf16 or fp16 by autocast), and on request torch.compile."""

    name = "optimized"
    description = ("BatchNorm folded; precision and memory format chosen per machine (auto), "
                   "compile=true for torch.compile")
    precisions = frozenset({"fp32", "fp16", "bf16"})
    priority = 10

    def __init__(self, precision: Precision = "auto", device: str = "auto", compile: bool = False,
                 memory_format: MemoryFormat = "auto") -> None:
        super().__init__(precision)
        self.device = _checked_device(device)
        self.compile = compile
        if memory_format not in MEMORY_FORMATS:
            raise ValueError(f"memory_format must be auto, channels-last or contiguous, got {memory_format!r}")
        self.memory_format = memory_format

    def target_device(self) -> torch.device:
        """Return the resolved device."""
        return _device(self.device)

    def resolved_precision(self) -> str:
        """`auto`: bf16 on a CPU with native bf16, else fp32 (CUDA too, until measured on a GPU)."""
        if self.precision != "auto":
            return self.precision
        return "bf16" if _device(self.device).type == "cpu" and native_bf16() else "fp32"

    def resolved_memory_format(self) -> str:
        """`auto`: channels-last where it measured faster (CUDA, AVX-512 CPUs), else contiguous."""
        if self.memory_format != "auto":
            return self.memory_format
        return "channels-last" if channels_last_helps(_device(self.device).type) else "contiguous"

    def describe(self) -> str:
        """Say what it runs with, e.g. 'optimized bf16 channels-last on cpu'."""
        compiled = " compiled" if self.compile else ""
        return (f"optimized {self.resolved_precision()} {self.resolved_memory_format()}{compiled} "
                f"on {_device(self.device).type}")

    def unavailable(self) -> str | None:
        """fp16 needs CUDA (CPU fp16 convolutions are slower than fp32); cuda needs a device."""
        if self.device == "cuda" and _cuda_missing():
            return "no CUDA device"
        # only fp16 depends on where `auto` lands, so only fp16 pays for asking torch
        if self.precision == "fp16" and (self.device == "cpu" or (self.device == "auto" and _cuda_missing())):
            return "fp16 runs only on CUDA here; use precision=bf16 on CPU"
        return super().unavailable()

    def prepare(self, module: nn.Module, shapes: ShapeRange) -> Runner:
        """Fold, convert to the memory format, optionally compile; autocast when not fp32."""
        import torch

        device = _device(self.device)
        _warn_if_emulated(self)
        layout = torch.channels_last if self.resolved_memory_format() == "channels-last" else torch.contiguous_format
        dtype = torch_dtype(self.resolved_precision())
        net = fold_batchnorm(module)
        if dtype != torch.float32:
            net = first_convolution_in_fp32(net)
        net = net.to(device=device, memory_format=layout)
        if self.compile:
            net = torch.compile(net, dynamic=True)

        def run(x: torch.Tensor) -> torch.Tensor:
            autocast = (torch.autocast(device.type, dtype=dtype) if dtype != torch.float32
                        else contextlib.nullcontext())
            with torch.inference_mode(), autocast:
                y = net(x.to(device).contiguous(memory_format=layout))
            return y.float().cpu().contiguous()

        return run


@hookimpl
def register_backends(register) -> None:
    """Register `eager` and `optimized`."""
    register(EagerBackend)
    register(OptimizedBackend)
