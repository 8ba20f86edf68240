"""Hardware-aware defaults: what `precision=auto` and `memory_format=auto` choose on CPUs with and
without native bf16 and AVX-512, the one-line warning for emulated bf16, and the descriptions a
benchmark records of what each restorer actually ran with."""

from __future__ import annotations

import warnings

import pytest
import torch
from restore_builtins import backends as builtin_backends
from restore_builtins.dncnn_network import DnCNNNetwork

from restore_core.components import backends as core_backends
from restore_core.components.backends import EMULATED_BF16_SLOWDOWN, ShapeRange
from restore_core.errors import SpecError
from restore_core.plugins.host import default_host
from restore_core.plugins.specs import build_backends

HOST = default_host()
#: (cpu extensions as /proc/cpuinfo names them, the precision and memory format auto must choose)
MACHINES = {
    "intel-xeon-amx": (["AVX-512", "AVX-512 BF16", "AMX-BF16"], "bf16", "channels-last"),
    "amd-epyc-avx512-bf16": (["AVX-512", "AVX-512 BF16"], "bf16", "channels-last"),
    "amd-epyc-avx2": ([], "fp32", "contiguous"),
    "avx512-without-bf16": (["AVX-512"], "fp32", "channels-last"),
}


@pytest.fixture
def machine(monkeypatch):
    """Pretend to be a CPU-only machine with the given extensions."""
    def pretend(extensions: list[str]) -> None:
        monkeypatch.setattr(core_backends, "native_bf16",
                            lambda: bool({"AVX-512 BF16", "AMX-BF16"} & set(extensions)))
        monkeypatch.setattr(builtin_backends, "native_bf16", core_backends.native_bf16)
        monkeypatch.setattr(builtin_backends, "cpu_extensions", lambda: list(extensions))
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    return pretend


def build(spec: str):
    return HOST.registry("backend").build(spec)


@pytest.mark.parametrize("name", list(MACHINES))
def test_auto_chooses_precision_and_memory_format_per_machine(machine, name):
    extensions, precision, layout = MACHINES[name]
    machine(extensions)
    optimized = build("optimized")
    assert optimized.precision == "auto" and optimized.resolved_precision() == precision
    assert optimized.resolved_memory_format() == layout
    assert optimized.describe() == f"optimized {precision} {layout} on cpu"
    assert build("openvino").resolved_precision() == "fp32"  # OpenVINO's bf16 rounds the input image too
    assert build("onnxruntime").resolved_precision() == "fp32"
    assert build("eager").describe() == "eager fp32 contiguous on cpu"


@pytest.mark.parametrize("name", list(MACHINES))
def test_the_default_backend_picks_bf16_only_where_it_is_native(machine, name):
    extensions, precision, _ = MACHINES[name]
    machine(extensions)
    (label, backend), = build_backends(HOST, ["auto"])
    # openvino in bf16 where the CPU has it natively and openvino is installed (the fastest path measured
    # there), else optimized; bf16 only where it is native either way
    openvino = build("openvino").unavailable() is None
    assert label == ("openvino:precision=bf16" if precision == "bf16" and openvino else "optimized")
    assert backend.resolved_precision() == precision
    assert ("bf16" in backend.describe()) == (precision == "bf16")


def test_auto_keeps_optimized_where_cuda_is_present(machine, monkeypatch):
    machine(["AVX-512", "AVX-512 BF16"])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "a pretend GPU")
    assert build("openvino").auto_choice() == (build("openvino").priority, "openvino")
    machine(["AVX-512", "AVX-512 BF16"])  # CPU only again
    assert build("openvino").auto_choice() == (build("openvino").BF16_PRIORITY, "openvino:precision=bf16")
    assert build("openvino").BF16_PRIORITY > build("optimized").priority > build("openvino").priority


def test_all_runs_every_backend_in_its_default_precision(machine):
    machine(["AVX-512", "AVX-512 BF16"])
    chosen = dict(build_backends(HOST, ["all"]))
    assert "openvino:precision=bf16" not in chosen
    if "openvino" in chosen:
        assert chosen["openvino"].resolved_precision() == "fp32"


def test_optimized_keeps_the_first_convolution_fp32_in_bf16(machine):
    machine(["AVX-512", "AVX-512 BF16"])
    net = DnCNNNetwork(1, 3, 8).eval()
    x = torch.rand(1, 1, 24, 24)
    seen = []
    runner = build("optimized").prepare(net, ShapeRange.around(x.shape))
    handle = torch.nn.modules.module.register_module_forward_hook(
        lambda module, args, out: seen.append((type(module).__name__, out.dtype)))
    try:
        runner(x)
    finally:
        handle.remove()
    convs = [dtype for name, dtype in seen if name == "Conv2d"]
    assert convs[0] == torch.float32 and set(convs[1:]) == {torch.bfloat16}, seen


def test_explicit_choices_win_over_auto(machine):
    machine(["AVX-512", "AVX-512 BF16"])
    backend = build("optimized:precision=fp32,memory_format=contiguous,compile=true")
    assert backend.describe() == "optimized fp32 contiguous compiled on cpu"
    assert build("openvino:precision=fp32").describe().startswith("openvino fp32")


def test_auto_stays_fp32_on_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(builtin_backends, "native_bf16", lambda: True)
    backend = build("optimized")
    assert backend.resolved_precision() == "fp32" and backend.resolved_memory_format() == "channels-last"


def test_bad_memory_format_is_a_spec_error():
    with pytest.raises(SpecError, match="'nhwc' is not one of auto, channels-last, contiguous"):
        build("optimized:memory_format=nhwc")


@pytest.mark.parametrize("spec", ["optimized:precision=bf16", "eager:precision=bf16,device=cpu"])
def test_explicit_bf16_without_native_bf16_warns_in_one_line(machine, spec):
    machine([])
    with pytest.warns(UserWarning) as caught:
        runner = build(spec).prepare(DnCNNNetwork(1, 3, 8).eval(), ShapeRange.around((1, 1, 16, 16)))
    message = str(caught[0].message)
    assert "no native bf16" in message and EMULATED_BF16_SLOWDOWN in message and "\n" not in message
    assert runner(torch.rand(1, 1, 16, 16)).dtype == torch.float32


def test_auto_never_warns(machine):
    machine([])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build("optimized").prepare(DnCNNNetwork(1, 3, 8).eval(), ShapeRange.around((1, 1, 16, 16)))


def test_restorer_says_what_it_runs_with(machine):
    machine(["AVX-512", "AVX-512 BF16"])
    restorer = HOST.registry("restorer").build("dncnn")
    assert "no backend configured" in restorer.inference_description()
    restorer.configure_inference(build("optimized"))
    assert restorer.inference_description() == "optimized bf16 channels-last on cpu"


def test_strict_refuses_emulated_bf16_in_one_line_and_only_for_that_command(machine):
    import os

    from click.testing import CliRunner

    from restore_core.cli import cli

    machine([])
    command = ["bench", "-r", "dncnn", "-d", "gaussian25", "-b", "optimized:precision=bf16", "--limit", "1",
               "--crop", "48"]
    refused = CliRunner().invoke(cli, ["--strict", *command])
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert refused.stderr.strip().startswith("restore: error: optimized:precision=bf16: this CPU has no native bf16")
    assert refused.stderr.strip().endswith("(refused under --strict)") and "RESTORE_STRICT" not in os.environ
    warned = CliRunner().invoke(cli, command)
    assert warned.exit_code == 0 and "restore: warning: optimized:precision=bf16: this CPU has no native bf16" \
        in warned.stderr
