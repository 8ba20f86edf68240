"""The `tensorrt` backend: torch-tensorrt's dynamo path, dynamic height and width, fp32 or fp16,
and an on-disk cache of compiled programs so a second run does not recompile.

torch_tensorrt is imported only inside this backend: on a machine without an NVIDIA driver the
import itself can raise OSError or RuntimeError, and that must make the backend unavailable with
the reason, never crash the tool. Following torch-tensorrt's documentation for the dynamo path,
half precision comes from the module and its inputs being half (explicit typing), not from
`enabled_precisions`, and BatchNorm is folded into the convolutions before export.

torch itself is imported only where it is needed, too: `unavailable()` first asks whether
torch-tensorrt is installed at all (a look-up, no import), so listing backends on a machine
without it costs no torch import; only then does it ask torch about CUDA.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from restore_core import hookimpl
from restore_core.components.backends import Backend, Precision, Runner, ShapeRange, fold_batchnorm, torch_dtype
from restore_core.system import settings
from restore_core.system.atomic_files import atomic_path

if TYPE_CHECKING:
    import torch
    from torch import nn

CACHE_ENV = settings.TRT_CACHE_ENV
INSTALL_HINT = "install it with `pip install restore-framework[tensorrt]` on a CUDA machine"


def torch_tensorrt_installed() -> bool:
    """True when torch_tensorrt can be found (or is already imported), without importing it."""
    if "torch_tensorrt" in sys.modules:
        return True
    try:
        return importlib.util.find_spec("torch_tensorrt") is not None
    except (ImportError, ValueError):
        return False


def import_torch_tensorrt():
    """Import torch_tensorrt, or raise ImportError carrying the reason (any import failure)."""
    try:
        import torch_tensorrt
    except (ImportError, OSError, RuntimeError) as exc:
        raise ImportError(f"torch-tensorrt cannot be imported ({type(exc).__name__}: {exc}); "
                          f"{INSTALL_HINT}") from None
    return torch_tensorrt


def version_mismatch(trt_version: str, torch_version: str) -> str | None:
    """Each torch-tensorrt release pins one torch minor version: say so when they differ."""
    trt_minor = ".".join(trt_version.split("+")[0].split(".")[:2])
    torch_minor = ".".join(torch_version.split("+")[0].split(".")[:2])
    if trt_minor != torch_minor:
        return f"torch-tensorrt {trt_version} is built for torch {trt_minor}.x, but torch {torch_version} is installed"
    return None


def cache_key(module: nn.Module, shapes: ShapeRange, precision: str, versions: dict[str, str]) -> str:
    """Hash of everything a compiled program depends on: weights, shape range, precision, versions."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    digest.update(json.dumps({"shapes": [shapes.min, shapes.opt, shapes.max], "precision": precision,
                              "versions": versions}, sort_keys=True).encode())
    return digest.hexdigest()[:32]


def cache_dir() -> Path:
    """Where compiled programs are kept: RESTORE_TRT_CACHE, else the platform cache folder."""
    return settings.tensorrt_cache_dir()


class TensorRTBackend(Backend):
    """TensorRT through torch-tensorrt (dynamo IR), with dynamic H and W and a compiled-program cache."""

    name = "tensorrt"
    description = "TensorRT via torch-tensorrt (dynamo), dynamic H/W, fp32/fp16, cached compiled programs"
    precisions = frozenset({"fp32", "fp16"})
    priority = 20

    def __init__(self, precision: Precision = "fp32") -> None:
        super().__init__(precision)

    def target_device(self) -> torch.device:
        """TensorRT runs on the current CUDA device."""
        import torch

        return torch.device("cuda")

    def unavailable(self) -> str | None:
        """Say why TensorRT cannot run: torch-tensorrt missing, no CUDA, or built for another torch."""
        reason = super().unavailable()
        if reason:
            return reason
        if not torch_tensorrt_installed():
            return f"torch-tensorrt is not installed; {INSTALL_HINT}"
        import torch

        if not torch.cuda.is_available():
            return "no CUDA device (TensorRT needs an NVIDIA GPU)"
        try:
            trt = import_torch_tensorrt()
        except ImportError as exc:
            return str(exc)
        return version_mismatch(getattr(trt, "__version__", "?"), torch.__version__)

    def prepare(self, module: nn.Module, shapes: ShapeRange) -> Runner:
        """Compile (or load from the cache) a TensorRT program for `shapes`."""
        import torch

        self.check()
        trt = import_torch_tensorrt()
        dtype = torch_dtype(self.resolved_precision())
        device = self.target_device()
        net = fold_batchnorm(module).to(device=device, dtype=dtype)
        versions = {"torch": torch.__version__, "torch_tensorrt": trt.__version__,
                    "gpu": torch.cuda.get_device_name(), "capability": str(torch.cuda.get_device_capability())}
        path = cache_dir() / f"{cache_key(net, shapes, self.resolved_precision(), versions)}.ep"
        if path.is_file():
            program = trt.load(str(path)).module()
        else:
            # the Input is named after forward's argument so save() can rebuild the dynamic H and W
            argument = next(iter(inspect.signature(net.forward).parameters))
            spec = trt.Input(min_shape=shapes.min, opt_shape=shapes.opt, max_shape=shapes.max, dtype=dtype,
                             name=argument)
            program = trt.compile(net, ir="dynamo", arg_inputs=[spec], use_explicit_typing=True)
            # saving with the Input (not an example tensor) keeps the min/opt/max range: with a plain
            # tensor, save() re-exports with static shapes and the cached program takes one size only
            try:
                with atomic_path(path) as tmp:
                    trt.save(program, str(tmp), output_format="exported_program", arg_inputs=[spec], retrace=True)
            except (TypeError, ValueError, RuntimeError, OSError) as exc:
                # an older torch-tensorrt may not save dynamic shapes: run uncached rather than fail
                warnings.warn(f"TensorRT program not cached ({type(exc).__name__}: {exc}); "
                              "the next run compiles again", stacklevel=2)

        def run(x: torch.Tensor) -> torch.Tensor:
            with torch.inference_mode():
                return program(x.to(device=device, dtype=dtype).contiguous()).float().cpu()

        return run


@hookimpl
def register_backends(register) -> None:
    """Register `tensorrt` (listed even where it cannot run, with the reason)."""
    register(TensorRTBackend)
