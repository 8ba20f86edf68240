"""Inference backends and tiling: agreement with eager, BatchNorm folding, shape ranges, the
TensorRT backend's availability, cache keys and errors, and exact tiled inference."""

from __future__ import annotations

import builtins
import itertools
import json
import sys
import types
from types import SimpleNamespace

import pytest
import torch
from click.testing import CliRunner
from restore_builtins import tensorrt_backend
from restore_builtins.dncnn_network import DnCNNNetwork
from restore_builtins.srcnn_network import SRCNNNetwork

from restore_core.cli import cli
from restore_core.components.backends import ShapeRange, count_batchnorms, fold_batchnorm
from restore_core.components.interfaces import DENOISING, DegradationInfo
from restore_core.components.metric_protocol import psnr
from restore_core.imaging.tiling import auto_tile, receptive_radius, run_tiled, tile_starts
from restore_core.plugins.host import default_host

HOST = default_host()
BACKENDS = [r.name for r in HOST.registry("backend")]
CUDA = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def trained_like_dncnn(layers: int = 7, channels: int = 3) -> torch.nn.Module:
    """A DnCNN whose BatchNorms hold non-trivial statistics, as after training."""
    torch.manual_seed(0)
    net = DnCNNNetwork(channels, layers, 32)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.rand(4, channels, 32, 32))
    return net.eval()


def test_every_backend_is_available_or_says_why():
    assert {"eager", "optimized", "tensorrt"} <= set(BACKENDS)
    for name in BACKENDS:
        reason = HOST.registry("backend").build(name).unavailable()
        assert reason is None or (isinstance(reason, str) and reason)


def test_fold_batchnorm_is_exact_and_leaves_the_original_alone():
    net = trained_like_dncnn()
    folded = fold_batchnorm(net)
    assert count_batchnorms(net) == 5 and count_batchnorms(folded) == 0
    x = torch.rand(2, 3, 40, 40)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), net(x), atol=1e-5, rtol=0)


@pytest.mark.parametrize("spec", ["eager", "optimized", "optimized:precision=bf16",
                                  *(pytest.param(s, marks=CUDA) for s in (
                                      "eager:device=cuda", "eager:precision=fp16,device=cuda",
                                      "optimized:precision=fp16,device=cuda", "tensorrt",
                                      "tensorrt:precision=fp16"))])
@pytest.mark.parametrize("make", [trained_like_dncnn, lambda: SRCNNNetwork(residual=True).eval()],
                         ids=["dncnn", "srcnn"])
def test_backend_agrees_with_eager(spec, make):
    backend = HOST.registry("backend").build(spec)
    if backend.unavailable():
        pytest.skip(backend.unavailable())
    net = make()
    channels = net.body[0].in_channels
    x = torch.rand(1, channels, 96, 80)
    reference = HOST.registry("backend").build("eager:device=cpu").prepare(net, ShapeRange.around(x.shape))(x)
    out = backend.prepare(net, ShapeRange.around(x.shape))(x)
    assert out.dtype == torch.float32 and out.device.type == "cpu" and out.shape == x.shape
    if backend.precision == "fp32":
        assert float((out - reference).abs().max()) <= 1e-4
    else:  # reduced precision: judged by what it costs in PSNR against the fp32 output
        assert float(psnr(out.clamp(0, 1).double(), reference.clamp(0, 1).double())[0]) > 40


def test_bf16_costs_under_005_db_on_real_images():
    d = HOST.registry("restorer").build("dncnn")
    data = HOST.registry("dataset").build("skimage").limit(3).cropped(160)
    deg = HOST.registry("degradation").build("gaussian25")
    info = DegradationInfo(DENOISING, sigma=25)
    scores = {}
    for spec in ("eager", "optimized:precision=bf16"):
        d.configure_inference(HOST.registry("backend").build(spec), tile=None)
        values = []
        for i, (_, clean) in enumerate(data):
            noisy = deg.degrade(clean, [torch.Generator().manual_seed(i)]).image
            values.append(float(psnr(d.restore(noisy, info).double(), clean.double())[0]))
        scores[spec] = sum(values) / len(values)
    assert abs(scores["eager"] - scores["optimized:precision=bf16"]) < 0.05, scores


def test_shape_range_keeps_min_below_opt():
    r = ShapeRange.around((1, 3, 64, 48), max_side=1000)
    assert r.min[2] < r.opt[2] and r.min[3] < r.opt[3] and r.contains((1, 3, 64, 48))
    assert r.max[2] >= 1000 and r.max[2] % 8 == 0 and not r.contains((1, 3, 2000, 10))
    tiny = ShapeRange.around((1, 1, 8, 8))
    assert tiny.min[2] < tiny.opt[2] and tiny.contains((1, 1, 8, 8))


# ------------------------------------------------------------------------------------ TensorRT


def test_tensorrt_without_cuda_is_unavailable_with_reason(monkeypatch):
    monkeypatch.setattr(tensorrt_backend, "torch_tensorrt_installed", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    backend = HOST.registry("backend").build("tensorrt")
    assert "no CUDA device" in backend.unavailable()
    result = CliRunner().invoke(cli, ["bench", "-r", "dncnn", "-d", "gaussian25", "-b", "tensorrt"])
    assert result.exit_code == 1 and result.stderr.startswith("restore: error: backend tensorrt is unavailable")
    assert "Traceback" not in result.output
    plugins = CliRunner().invoke(cli, ["plugins"])
    assert plugins.exit_code == 0 and "backend tensorrt unavailable here: no CUDA device" in plugins.stdout


@pytest.mark.parametrize("error", [ImportError("No module named 'torch_tensorrt'"),
                                   OSError("libnvinfer.so.10: cannot open shared object file"),
                                   RuntimeError("no NVIDIA driver on your system")])
def test_tensorrt_import_failures_become_reasons(monkeypatch, error):
    monkeypatch.setattr(tensorrt_backend, "torch_tensorrt_installed", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.delitem(sys.modules, "torch_tensorrt", raising=False)
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "torch_tensorrt":
            raise error
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    reason = HOST.registry("backend").build("tensorrt").unavailable()
    assert "torch-tensorrt cannot be imported" in reason and type(error).__name__ in reason
    assert "\n" not in reason


def test_tensorrt_version_pin_is_checked():
    assert tensorrt_backend.version_mismatch("2.13.0", "2.13.0+cu128") is None
    assert "built for torch 2.12" in tensorrt_backend.version_mismatch("2.12.1", "2.13.0")


def test_tensorrt_cache_key_covers_weights_shapes_precision_versions():
    net = trained_like_dncnn()
    shapes = ShapeRange.around((1, 3, 256, 256), max_side=512)
    versions = {"torch": "2.13.0", "torch_tensorrt": "2.13.0", "gpu": "H200"}
    key = tensorrt_backend.cache_key(net, shapes, "fp16", versions)
    assert key == tensorrt_backend.cache_key(net, shapes, "fp16", dict(versions))
    assert key != tensorrt_backend.cache_key(net, shapes, "fp32", versions)
    assert key != tensorrt_backend.cache_key(net, ShapeRange.around((1, 3, 256, 256), max_side=1024), "fp16",
                                             versions)
    assert key != tensorrt_backend.cache_key(net, shapes, "fp16", {**versions, "torch_tensorrt": "2.14.0"})
    with torch.no_grad():
        net.body[0].weight[0, 0, 0, 0] += 1e-3
    assert key != tensorrt_backend.cache_key(net, shapes, "fp16", versions)


class FakeTorchTensorRT(types.ModuleType):
    """Stands in for torch_tensorrt where it cannot be installed: records compile/save/load calls."""

    __version__ = torch.__version__

    def __init__(self) -> None:
        super().__init__("torch_tensorrt")
        self.compiled: list[tuple[torch.nn.Module, list]] = []
        self.saved: list[dict] = []
        self.loaded: list[str] = []
        self.programs: dict[str, torch.nn.Module] = {}

    class Input(SimpleNamespace):
        def __init__(self, min_shape, opt_shape, max_shape, dtype, name):
            super().__init__(min_shape=min_shape, opt_shape=opt_shape, max_shape=max_shape, dtype=dtype, name=name)

    def compile(self, net, ir, arg_inputs, use_explicit_typing):
        assert ir == "dynamo" and use_explicit_typing
        self.compiled.append((net, arg_inputs))
        return net

    def save(self, program, path, output_format, arg_inputs, retrace):
        self.saved.append({"output_format": output_format, "arg_inputs": arg_inputs, "retrace": retrace})
        torch.save(program.state_dict(), path)
        self.programs["last"] = program

    def load(self, path):
        self.loaded.append(path)
        torch.load(path, weights_only=True)  # the file landed under its final name and is whole
        return SimpleNamespace(module=lambda: self.programs["last"])


@pytest.fixture
def fake_trt(monkeypatch, tmp_path):
    """A machine that looks like it has CUDA and torch-tensorrt, computing on the CPU."""
    fake = FakeTorchTensorRT()
    monkeypatch.setitem(sys.modules, "torch_tensorrt", fake)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Fake GPU")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (9, 0))
    monkeypatch.setattr(tensorrt_backend.TensorRTBackend, "target_device", lambda self: torch.device("cpu"))
    monkeypatch.setenv(tensorrt_backend.CACHE_ENV, str(tmp_path / "trt-cache"))
    return fake


def test_tensorrt_compiles_once_with_a_dynamic_range_and_reuses_the_cache(fake_trt, tmp_path):
    net = trained_like_dncnn()
    shapes = ShapeRange.around((1, 3, 96, 80), max_side=256)
    x = torch.rand(1, 3, 96, 80)
    with torch.no_grad():
        expected = net(x)
    run = HOST.registry("backend").build("tensorrt").prepare(net, shapes)
    torch.testing.assert_close(run(x), expected, atol=1e-4, rtol=0)
    (compiled, inputs), = fake_trt.compiled
    assert count_batchnorms(compiled) == 0  # BatchNorm folded before export
    spec, = inputs
    assert (spec.min_shape, spec.opt_shape, spec.max_shape) == (shapes.min, shapes.opt, shapes.max)
    assert spec.min_shape[2] < spec.opt_shape[2] < spec.max_shape[2] and spec.name == "x"
    # the program is saved with the same Input, so the cached copy keeps the dynamic H and W
    save, = fake_trt.saved
    assert save["arg_inputs"] == [spec] and save["output_format"] == "exported_program"
    assert [p.suffix for p in (tmp_path / "trt-cache").iterdir()] == [".ep"]

    again = HOST.registry("backend").build("tensorrt").prepare(net, shapes)  # a second run
    assert len(fake_trt.compiled) == 1 and len(fake_trt.loaded) == 1
    torch.testing.assert_close(again(x), expected, atol=1e-4, rtol=0)
    HOST.registry("backend").build("tensorrt").prepare(net, ShapeRange.around((1, 3, 96, 80), max_side=512))
    assert len(fake_trt.compiled) == 2  # another shape range is another program


def test_tensorrt_that_cannot_save_still_runs_and_leaves_no_file(fake_trt, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise TypeError("save() got an unexpected keyword argument 'arg_inputs'")

    monkeypatch.setattr(fake_trt, "save", refuse)
    net = trained_like_dncnn()
    x = torch.rand(1, 3, 64, 64)
    with pytest.warns(UserWarning, match="not cached"):
        run = HOST.registry("backend").build("tensorrt").prepare(net, ShapeRange.around(x.shape))
    with torch.no_grad():
        torch.testing.assert_close(run(x), net(x), atol=1e-4, rtol=0)
    assert not (tmp_path / "trt-cache").exists() or not any((tmp_path / "trt-cache").iterdir())


def test_tensorrt_half_comes_from_a_half_model_and_input(fake_trt):
    net = trained_like_dncnn()
    HOST.registry("backend").build("tensorrt:precision=fp16").prepare(net, ShapeRange.around((1, 3, 64, 64)))
    (compiled, (spec,)), = fake_trt.compiled
    assert spec.dtype == torch.float16 and {p.dtype for p in compiled.parameters()} == {torch.float16}
    assert {p.dtype for p in net.parameters()} == {torch.float32}  # the caller's module is untouched


def test_tensorrt_refuses_bf16():
    assert "does not run bf16" in HOST.registry("backend").build("tensorrt:precision=bf16").unavailable()


# -------------------------------------------------------------------------------------- tiling


@pytest.mark.parametrize("size", [(150, 97), (64, 300), (257, 257)])
@pytest.mark.parametrize("make", [lambda: trained_like_dncnn(layers=9), lambda: SRCNNNetwork(residual=True).eval()],
                         ids=["dncnn9", "srcnn"])
def test_tiled_equals_untiled(size, make):
    net = make()
    channels = net.body[0].in_channels
    x = torch.rand(1, channels, *size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        whole = net(x)
        tiled = run_tiled(net, x, tile=64, margin=receptive_radius(net))
    assert float((tiled - whole).abs().max()) <= 1e-5


def test_too_small_a_margin_is_visibly_wrong():
    net = trained_like_dncnn(layers=9)
    x = torch.rand(1, 3, 150, 150)
    with torch.no_grad():
        assert float((run_tiled(net, x, tile=64, margin=1) - net(x)).abs().max()) > 1e-4


def test_tile_starts_cover_with_overlap():
    for length, tile, overlap in [(100, 40, 10), (1000, 256, 40), (41, 40, 10), (40, 40, 10)]:
        starts = tile_starts(length, tile, overlap)
        assert starts[0] == 0 and starts[-1] + tile >= length
        assert all(b - a <= tile - overlap for a, b in itertools.pairwise(starts))
    with pytest.raises(ValueError):
        run_tiled(lambda t: t, torch.zeros(1, 1, 100, 100), tile=20, margin=8)


def test_auto_tile_fits_the_budget(monkeypatch):
    net = trained_like_dncnn(layers=17)
    monkeypatch.setattr("restore_core.imaging.tiling.available_memory", lambda device: 1 << 30)
    assert auto_tile(net, (1, 3, 256, 256), torch.device("cpu")) is None
    side = auto_tile(net, (1, 3, 4096, 4096), torch.device("cpu"))
    assert side is not None and 64 < side < 4096 and side % 8 == 0


def test_restorer_tiles_large_inputs_exactly():
    d = HOST.registry("restorer").build("dncnn")
    info = DegradationInfo(DENOISING, sigma=25)
    x = torch.rand(1, 3, 200, 170)
    d.configure_inference(HOST.registry("backend").build("eager"), tile=None)
    whole = d.restore(x, info)
    d.configure_inference(HOST.registry("backend").build("eager"), tile=96)
    assert float((d.restore(x, info) - whole).abs().max()) <= 1e-5


def test_bench_backend_rows_agree():
    result = CliRunner().invoke(cli, ["bench", "-r", "dncnn,identity", "-d", "gaussian25", "--limit", "1",
                                      "--crop", "128", "-b", "eager,optimized", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["restorer"], r["backend"]) for r in rows] == [("dncnn", "eager"), ("dncnn", "optimized"),
                                                             ("identity", None)]
    # optimized runs bf16 where the CPU has it natively: a default may cost at most 0.02 dB (issue 17)
    assert abs(rows[0]["psnr"] - rows[1]["psnr"]) <= 0.02
    assert rows[0]["seconds_per_image"] > 0 and rows[1]["seconds_per_image"] > 0  # identity may round to 0.0
