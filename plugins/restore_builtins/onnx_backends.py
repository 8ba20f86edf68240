"""The `onnxruntime` and `openvino` backends: the network exported to ONNX (BatchNorm folded, dynamic
height and width) and run by the engine CPU deployments use.

Each is a Backend like `eager`: `prepare` returns a runner from a float32 (N, C, H, W) CPU tensor to
one, so InferenceRunner tiles and times them as it does the torch backends. Both use as many
threads as torch does, so a comparison is between engines, not thread counts.

Precisions, measured with benchmarks/precision_cost.py and benchmarks/speed.py on this project's
machines (docs/benchmarks.md):
- onnxruntime runs fp32. `precision=int8` (static post-training quantization) is refused: it cost
  more PSNR than the 0.05 dB the project accepts on two of the three models measured
  (INT8_REFUSAL holds the figures).
- openvino runs fp32 or bf16, and always says which: OpenVINO's own default is bf16 wherever the
  CPU has it natively. `precision=auto` is fp32: OpenVINO in bf16 rounds the input image too, and
  costs up to 0.011 dB PSNR (0.012 dB on `restore bench -r dncnn -d gaussian25 --limit 2`, more
  than the 0.01 dB that agreement check between named backends allows), where `optimized` in bf16
  keeps its first convolution fp32 and costs at most 0.008 dB.
- `--backend auto` runs `openvino:precision=bf16` on a CPU with native bf16 and no CUDA device
  (`OpenVINOBackend.auto_choice`): on the AMD EPYC with AVX-512 BF16 it was the fastest path for
  every shipped model at 256 and 512 pixels, 1.08-1.51x `optimized` in bf16 (geometric means 3.34x
  and 2.53x eager; speed-cpu-amd-epyc.md), and its cost, at most 0.011 dB PSNR
  (precision-cost-amd-epyc.md), is within the 0.02 dB a default may cost. Elsewhere auto keeps
  `optimized`: on an AVX2-only EPYC OpenVINO fp32 ran 1.20x eager against optimized fp32's 1.76x
  (issue 17), and a CUDA device outruns any CPU engine. On the Xeon with AMX, OpenVINO has not been
  measured; the rule follows the bf16 hardware both share.

The engines are optional extras: without the package the backend is listed, unavailable, with the
pip command that installs it; nothing imports onnxruntime or openvino before a runner is prepared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_core import hookimpl
from restore_core.components.backends import Backend, Precision, Runner, ShapeRange
from restore_core.components.onnx_export import INPUT, export_onnx, installed

if TYPE_CHECKING:
    import torch
    from torch import nn

#: why precision=int8 is refused, as measured by benchmarks/precision_cost.py (ONNX Runtime static
#: QDQ quantization, per-channel weights, calibrated on 16 BSD400 patches)
INT8_REFUSAL = ("int8 is refused: ONNX Runtime static quantization cost 0.062 dB PSNR on DnCNN-7 colour (CBSD68) "
                "and 0.100 dB on SRCNN x2 (Set5), more than the 0.05 dB allowed (0.016 dB on DnCNN-7 gray, BSD68; "
                "benchmarks/results/precision-cost-amd-epyc.md)")


def _threads() -> int:
    import torch

    return torch.get_num_threads()


class OnnxRuntimeBackend(Backend):
    """ONNX Runtime's CPU execution provider on the exported network, fp32."""

    name = "onnxruntime"
    description = "ONNX Runtime (CPU provider) on the exported network: BatchNorm folded, dynamic H/W, fp32"
    precisions = frozenset({"fp32"})
    priority = 8  # below optimized (module docstring of restore_builtins.backends): 1.51x eager on the AMD EPYC

    def __init__(self, precision: Precision = "auto") -> None:
        super().__init__(precision)

    def unavailable(self) -> str | None:
        """Say why it cannot run: onnxruntime missing, or a precision it does not offer."""
        if not installed("onnxruntime"):
            return "onnxruntime is not installed; pip install 'restore-framework[onnx]'"
        if self.precision == "int8":
            return INT8_REFUSAL
        return super().unavailable()

    def describe(self) -> str:
        """Say what it runs with, e.g. 'onnxruntime fp32 (CPU provider, 2 threads)'."""
        return f"onnxruntime {self.resolved_precision()} (CPU provider, {_threads()} threads)"

    def prepare(self, module: nn.Module, shapes: ShapeRange) -> Runner:
        """Export `module` and open an ONNX Runtime session on it (any height and width)."""
        import onnxruntime as ort
        import torch

        self.check()
        options = ort.SessionOptions()
        options.intra_op_num_threads = _threads()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(export_onnx(module), options,
                                       providers=["CPUExecutionProvider"])

        def run(x: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(session.run(None, {INPUT: x.float().contiguous().numpy()})[0])

        return run


class OpenVINOBackend(Backend):
    """OpenVINO's CPU plugin on the exported network, fp32 (auto) or bf16."""

    name = "openvino"
    description = "OpenVINO (CPU) on the exported network: BatchNorm folded, dynamic H/W, fp32 (or precision=bf16)"
    precisions = frozenset({"fp32", "bf16"})
    priority = 7  # in fp32 below optimized and onnxruntime: 1.43x eager on the AMD EPYC (geometric mean)
    #: `--backend auto`'s rank for openvino in bf16 where the CPU has it natively: above optimized (10)
    BF16_PRIORITY = 15

    def __init__(self, precision: Precision = "auto") -> None:
        super().__init__(precision)

    def auto_choice(self) -> tuple[int, str]:
        """bf16 (`openvino:precision=bf16`, ranked above optimized) on a CPU-only machine with native bf16."""
        from restore_core.components import backends
        from restore_core.system.hardware import cuda_device

        if backends.native_bf16() and cuda_device() is None:
            return self.BF16_PRIORITY, f"{self.name}:precision=bf16"
        return super().auto_choice()

    def unavailable(self) -> str | None:
        """Say why it cannot run: openvino missing, or a precision it does not offer."""
        if not installed("openvino"):
            return "openvino is not installed; pip install 'restore-framework[openvino]'"
        return super().unavailable()

    def describe(self) -> str:
        """Say what it runs with, e.g. 'openvino bf16 (CPU, 2 threads)'."""
        return f"openvino {self.resolved_precision()} (CPU, {_threads()} threads)"

    def prepare(self, module: nn.Module, shapes: ShapeRange) -> Runner:
        """Export `module` and compile it for OpenVINO's CPU plugin (any height and width)."""
        import openvino as ov
        import torch

        from restore_core.components.backends import warn_emulated_bf16

        self.check()
        if self.emulates_bf16():
            warn_emulated_bf16(self.short_spec())
        core = ov.Core()
        # the precision is always stated: OpenVINO's own default is bf16 wherever the CPU has it
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": _threads(),
                  "INFERENCE_PRECISION_HINT": "bf16" if self.resolved_precision() == "bf16" else "f32"}
        compiled = core.compile_model(core.read_model(export_onnx(module)), "CPU", config)
        request = compiled.create_infer_request()

        def run(x: torch.Tensor) -> torch.Tensor:
            out = request.infer([x.float().contiguous().numpy()])
            # the request reuses its output buffer on the next call: copy it out
            return torch.from_numpy(next(iter(out.values())).copy())

        return run


@hookimpl
def register_backends(register) -> None:
    """Register `onnxruntime` and `openvino` (listed even where not installed, with the reason)."""
    register(OnnxRuntimeBackend)
    register(OpenVINOBackend)
