"""ONNX export of a restorer's network: BatchNorm folded, dynamic batch, height and width, one opset.

The engines that CPU users deploy with (ONNX Runtime, OpenVINO) read this format, so the same
bytes serve `restore export` and the `onnxruntime` and `openvino` backends. The graph is traced
with torch's TorchScript exporter (`dynamo=False`): the dynamo exporter needs onnxscript, one more
package, and gives the same graph for these plain convolutional networks. Tracing records one
branch of Python control flow, so the trace input's height and width are primes that no network's
size multiple divides: a network that pads to its grid (U-Net) then records the padding in the
graph, its amounts computed from the input's size (zero when the input already fits).

torch is imported inside the functions; onnxruntime and onnx only where they are used.
"""

from __future__ import annotations

import importlib.util
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from restore_core.components.backends import count_batchnorms, fold_batchnorm
from restore_core.errors import RestoreError
from restore_core.system.atomic_files import atomic_output

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

    from restore_core.components.interfaces import DegradationInfo
    from restore_core.components.network_restorer import NetworkRestorer

#: the ONNX opset of every exported graph (ONNX Runtime >= 1.14 and OpenVINO 2023+ read it)
OPSET = 17
INPUT, OUTPUT = "input", "output"
#: the traced (height, width): primes, so no size multiple divides them (see the module docstring)
TRACE_SIZE = (67, 61)
#: the largest |exported - eager| accepted on fp32 outputs in [0, 1]; measured up to 5e-5 on U-Net
#: (32 features, 3 levels) whose intermediate activations reach 30, from float rounding order alone
FP32_TOLERANCE = 1e-4


def installed(package: str) -> bool:
    """True when `package` can be imported here, found without importing it."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def input_channels(module: nn.Module) -> int:
    """The channels a convolutional network takes: its first Conv2d's input channels."""
    from torch import nn

    return next(m for m in module.modules() if isinstance(m, nn.Conv2d)).in_channels


def export_onnx(module: nn.Module, opset: int = OPSET) -> bytes:
    """Return `module` (not modified) as an ONNX model: eval mode, BatchNorm folded, dynamic N, H, W."""
    import torch

    net = fold_batchnorm(module).float().to(device="cpu", memory_format=torch.contiguous_format)
    example = torch.rand(1, input_channels(module), *TRACE_SIZE, generator=torch.Generator().manual_seed(0))
    dynamic = {0: "batch", 2: "height", 3: "width"}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # the TorchScript exporter announces its deprecation, and tracing warns about the shape
        # arithmetic it records as such; neither says anything about this graph
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (example,), buffer, dynamo=False, opset_version=opset, input_names=[INPUT],
                          output_names=[OUTPUT], dynamic_axes={INPUT: dynamic, OUTPUT: dynamic},
                          do_constant_folding=True)
    return buffer.getvalue()


def batchnorms_left(module: nn.Module) -> int:
    """How many BatchNorm layers the exported graph keeps (0 for every shipped network)."""
    return count_batchnorms(fold_batchnorm(module))


def validate(model: bytes) -> None:
    """Run onnx's checker on `model` when onnx is installed (it raises on an invalid graph)."""
    if installed("onnx"):
        import onnx

        onnx.checker.check_model(onnx.load_from_string(model))


def run_onnxruntime(model: bytes, x: np.ndarray, threads: int | None = None) -> np.ndarray:
    """Run `model` once on `x` in ONNX Runtime's CPU provider (for checks; backends keep a session)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    return session.run(None, {INPUT: x})[0]


def max_difference(model: bytes, module: nn.Module, x: torch.Tensor) -> float:
    """Return max |ONNX Runtime output - eager output| of `module` on `x` (float32, CPU)."""
    import torch

    with torch.inference_mode():
        reference = module.float().eval()(x.float())
    out = run_onnxruntime(model, x.float().contiguous().numpy())
    return float((torch.from_numpy(out) - reference).abs().max())


@dataclass(frozen=True)
class ExportReport:
    """What `export_restorer` wrote and how closely the file matches eager PyTorch."""

    path: Path
    opset: int
    channels: int
    size_bytes: int
    batchnorms_left: int
    #: max |ONNX Runtime - eager| on a random input and on a real image; None where not checked
    random_difference: float | None
    image_difference: float | None
    image: str
    checked_with: str | None


def export_restorer(restorer: NetworkRestorer, info: DegradationInfo, channels: int, path: str | os.PathLike[str],
                    image: torch.Tensor, image_name: str, opset: int = OPSET) -> ExportReport:
    """Export `restorer`'s trained network for `info` to `path` (atomically) after checking it against eager.

    The check runs ONNX Runtime when it is installed, on a random input and on `image` (converted
    to the network's channels); a difference beyond FP32_TOLERANCE is an error and writes nothing.
    """
    import torch

    network = restorer.network_for(info, channels)
    net_channels = input_channels(network)
    model = export_onnx(network, opset)
    validate(model)
    random_diff = image_diff = None
    checked_with = None
    if installed("onnxruntime"):
        checked_with = "onnxruntime"
        x = torch.rand(1, net_channels, 96, 80, generator=torch.Generator().manual_seed(0))
        random_diff = max_difference(model, network, x)
        image_diff = max_difference(model, network, _as_channels(image, net_channels))
        worst = max(random_diff, image_diff)
        if worst > FP32_TOLERANCE:
            raise RestoreError(f"the exported {restorer.short_spec()} differs from eager PyTorch by {worst:.1e} "
                               f"(more than {FP32_TOLERANCE:.0e}); nothing written")
    with atomic_output(path) as out:
        out.write(model)
    return ExportReport(Path(path), opset, net_channels, len(model), batchnorms_left(network), random_diff,
                        image_diff, image_name, checked_with)


def _as_channels(image: torch.Tensor, channels: int) -> torch.Tensor:
    """`image` with `channels` channels: the luma of a colour image for one channel (the Y the SR networks take)."""
    from restore_core.imaging.colour import rgb_to_ycbcr

    if image.shape[1] == channels:
        return image
    if channels == 1:
        return rgb_to_ycbcr(image)[:, :1]
    return image[:, :1].expand(-1, channels, -1, -1).contiguous()
