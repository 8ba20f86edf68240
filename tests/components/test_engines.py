"""The ONNX export and the `onnxruntime` and `openvino` backends: every shipped model exported and
run by each engine matches eager PyTorch; a missing engine is unavailable with the pip command;
`restore export` writes a checked file, and refuses what it cannot export in one line.

The engines are optional extras: each test that runs one skips with the reason when its package is
missing (CI installs both, .ci/run)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from restore_builtins import onnx_backends

from restore_core.cli import cli
from restore_core.components.metric_protocol import psnr
from restore_core.components.network_restorer import NetworkRestorer
from restore_core.components.onnx_export import FP32_TOLERANCE, OPSET, export_onnx
from restore_core.plugins.host import default_host
from restore_core.train.weights import read_metadata

HOST = default_host()
ENGINES = {"onnxruntime": "onnxruntime", "openvino:precision=fp32": "openvino"}


def shipped_models() -> list[tuple[str, str, int]]:
    """(restorer spec, training degradation, channels) of every weights file a plugin ships."""
    out = []
    for reg in HOST.registry("restorer"):
        package = getattr(reg.factory, "weights_package", None)
        if not (isinstance(reg.factory, type) and issubclass(reg.factory, NetworkRestorer) and package):
            continue
        for file in sorted(resources.files(package).iterdir(), key=lambda f: f.name):
            if file.name.endswith(".safetensors"):
                meta = read_metadata(Path(str(file)))
                if str(meta.get("restorer", "")).split(":")[0] == reg.name:
                    out.append((str(meta["restorer"]), str(meta["degradation"]), int(meta["channels"])))
    return sorted(set(out))


SHIPPED = shipped_models()


def degraded_sample(degradation: str, channels: int):
    """A small degraded image (48x40 before degradation) and what the restorer may know about it."""
    clean = torch.rand(1, channels, 48, 40, generator=torch.Generator().manual_seed(1))
    deg = HOST.registry("degradation").build(degradation)
    return deg.degrade(clean, [torch.Generator().manual_seed(2)])


def test_every_shipped_model_is_found():
    names = {spec.split(":")[0] for spec, _, _ in SHIPPED}
    assert {"dncnn", "unet", "srcnn"} <= names, SHIPPED


@pytest.mark.parametrize("backend_spec", list(ENGINES))
@pytest.mark.parametrize(("spec", "degradation", "channels"), SHIPPED,
                         ids=[f"{s}-{d}-{c}ch" for s, d, c in SHIPPED])
def test_engine_matches_eager_on_every_shipped_model(backend_spec, spec, degradation, channels):
    pytest.importorskip(ENGINES[backend_spec], reason=f"{ENGINES[backend_spec]} is not installed (an extra)")
    degraded = degraded_sample(degradation, channels)
    outputs = []
    for name in ("eager:device=cpu", backend_spec):
        restorer = HOST.registry("restorer").build(spec)
        restorer.configure_inference(HOST.registry("backend").build(name), tile=None)
        outputs.append(restorer.restore(degraded.image, degraded.info))
    reference, out = outputs
    assert out.shape == reference.shape and out.dtype == torch.float32
    assert float((out - reference).abs().max()) <= FP32_TOLERANCE


def test_engine_runs_through_tiling_like_the_torch_backends():
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (an extra)")
    degraded = degraded_sample("gaussian25", 1)
    image = torch.nn.functional.interpolate(degraded.image, size=(150, 170), mode="bilinear")
    outputs = []
    for name in ("eager:device=cpu", "onnxruntime"):
        restorer = HOST.registry("restorer").build("dncnn")
        restorer.configure_inference(HOST.registry("backend").build(name), tile=96)
        outputs.append(restorer.restore(image, degraded.info))
    assert float((outputs[0] - outputs[1]).abs().max()) <= FP32_TOLERANCE


def test_openvino_bf16_stays_within_40_db_of_eager():
    pytest.importorskip("openvino", reason="openvino is not installed (an extra)")
    degraded = degraded_sample("gaussian25", 3)
    outputs = []
    for name in ("eager:device=cpu", "openvino:precision=bf16"):
        restorer = HOST.registry("restorer").build("dncnn")
        restorer.configure_inference(HOST.registry("backend").build(name), tile=None)
        outputs.append(restorer.restore(degraded.image, degraded.info).double())
    assert float(psnr(outputs[1], outputs[0])[0]) > 40


@pytest.mark.parametrize(("name", "package", "extra"), [("onnxruntime", "onnxruntime", "onnx"),
                                                        ("openvino", "openvino", "openvino")])
def test_missing_engine_is_unavailable_with_the_pip_command(monkeypatch, name, package, extra):
    monkeypatch.setattr(onnx_backends, "installed", lambda module: module != package)
    reason = HOST.registry("backend").build(name).unavailable()
    assert reason == f"{package} is not installed; pip install 'restore-framework[{extra}]'"
    result = CliRunner().invoke(cli, ["bench", "-r", "dncnn", "-d", "gaussian25", "-b", name, "--limit", "1"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.strip() == f"restore: error: backend {name} is unavailable: {reason}"


def test_int8_is_refused_with_the_measured_cost():
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (an extra)")
    reason = HOST.registry("backend").build("onnxruntime:precision=int8").unavailable()
    assert reason == onnx_backends.INT8_REFUSAL and " dB" in reason and "precision-cost" in reason


def test_unet_export_pads_inside_the_graph_for_any_size():
    # U-Net pads to its size multiple in forward(); the graph must compute that padding per input
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (an extra)")
    torch.manual_seed(0)
    net = HOST.registry("restorer").build("unet").build_network(1).eval()
    session = ort.InferenceSession(export_onnx(net), providers=["CPUExecutionProvider"])
    for shape in [(1, 1, 64, 64), (2, 1, 50, 70), (1, 1, 67, 61)]:
        x = torch.rand(*shape)
        with torch.inference_mode():
            reference = net(x)
        out = torch.from_numpy(session.run(None, {"input": x.numpy()})[0])
        assert out.shape == x.shape
        assert float((out - reference).abs().max()) <= 1e-3 * float(reference.abs().max())


def test_export_command_writes_a_checked_onnx_file(tmp_path):
    onnx = pytest.importorskip("onnx", reason="onnx is not installed (an extra)")
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (an extra)")
    out = tmp_path / "m.onnx"
    result = CliRunner().invoke(cli, ["export", "dncnn", "--channels", "1", "--sigma", "25", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"ONNX opset {OPSET}" in result.stdout and "0 BatchNorm left" in result.stdout
    diffs = [float(word.rstrip(",")) for word in result.stdout.split() if "e-" in word]
    assert len(diffs) == 2 and max(diffs) <= FP32_TOLERANCE, result.stdout
    model = onnx.load(str(out))
    assert model.opset_import[0].version == OPSET
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 1, "height", "width"]
    assert not any(node.op_type == "BatchNormalization" for node in model.graph.node)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # written atomically: nothing left over


@pytest.mark.parametrize(("args", "message"), [
    (["nlm"], "nlm has no network to export"),
    (["dncnn"], "cannot export dncnn: dncnn is non-blind and needs the noise sigma"),
    (["dncnn", "--sigma", "25", "--channels", "3", "--scale", "2"], "cannot export dncnn"),
])
def test_export_refuses_in_one_line(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["export", *args, "-o", str(tmp_path / "x.onnx")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith(f"restore: error: {message}") and result.stderr.count("\n") == 1
    assert not (tmp_path / "x.onnx").exists()
