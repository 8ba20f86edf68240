"""The JPEG artifact remover (`dncnn-jpeg`): told the quality, by option, degradation or file."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from restore_builtins.dncnn_network import ConditionedDnCNNNetwork, DnCNNNetwork
from restore_builtins.jpeg_dncnn import JpegDnCNN, quality_level

from restore_core import DEBLOCKING, DENOISING, DegradationInfo
from restore_core.cli import cli
from restore_core.imaging.jpeg_quality import quality_scale
from restore_core.plugins.host import default_host
from restore_core.restoring import degradation_info

HOST = default_host()


def _build(spec: str = "dncnn-jpeg"):
    return HOST.registry("restorer").build(spec)


def test_the_quality_level_is_monotone_and_follows_the_ijg_scaling():
    levels = [quality_level(q) for q in range(1, 101)]
    assert all(a >= b for a, b in itertools.pairwise(levels))
    assert quality_scale(50) == 100 and quality_scale(10) == 500 and quality_scale(90) == 20
    assert quality_level(50) == pytest.approx(0.6 * 10)
    assert quality_level(100) == pytest.approx(0.6)  # never zero: quality 100 still rounds to 8 bits


def test_dncnn_jpeg_serves_deblocking_when_the_quality_is_known():
    restorer = _build()
    assert restorer.supports(DegradationInfo(DEBLOCKING, params={"quality": 20}), 3) is None
    assert restorer.supports(DegradationInfo(DEBLOCKING, params={"qualities": (10, 90)}), 1) is None
    reason = restorer.supports(DegradationInfo(DEBLOCKING), 1)
    assert reason is not None and "dncnn-jpeg:quality=N" in reason
    assert _build("dncnn-jpeg:quality=30").supports(DegradationInfo(DEBLOCKING), 1) is None
    assert restorer.supports(DegradationInfo(DENOISING, sigma=25.0), 3) is not None
    assert not restorer.noise_level_conditioned  # its map is a quality: pnp must not take it as a denoiser
    keys = {restorer.weights_key(DegradationInfo(DEBLOCKING, params={"quality": q}), 3) for q in (10, 90)}
    assert keys == {"dncnn-17l-64f-rgb-jpeg"}
    assert restorer.training_degradation(DegradationInfo(DEBLOCKING)) == "jpeg-range:quality_min=10,quality_max=90"


def test_the_map_holds_each_images_quality_level_the_option_first():
    image = torch.rand(2, 1, 8, 12)
    info = DegradationInfo(DEBLOCKING, params={"qualities": (10, 90), "quality": 50})
    told = _build().network_input(image, info)
    assert told.shape == (2, 2, 8, 12) and torch.equal(told[:, :1], image)
    assert float(told[0, 1, 3, 4]) * 255 == pytest.approx(quality_level(10), rel=1e-6)
    assert float(told[1, 1, 0, 0]) * 255 == pytest.approx(quality_level(90), rel=1e-6)
    forced = _build("dncnn-jpeg:quality=40").network_input(image, info)
    assert torch.allclose(forced[:, 1] * 255, torch.full((2, 8, 12), quality_level(40)))
    with pytest.raises(ValueError, match="3 qualities disclosed for 2 images"):
        _build().noise_map(image, DegradationInfo(DEBLOCKING, params={"qualities": (10, 20, 30)}))


@pytest.mark.parametrize("quality", [0, 101, 2.5, "high"])
def test_a_quality_outside_1_to_100_is_refused(quality):
    with pytest.raises(ValueError, match="quality must be an integer from 1 to 100"):
        JpegDnCNN(quality=quality)


def test_dncnn_jpeg_warm_starts_from_fdncnn_exactly_and_from_a_dncnn_with_the_map_off():
    restorer = _build("dncnn-jpeg:layers=5,features=8")
    sample = torch.rand(2, 2, 16, 16)
    conditioned = ConditionedDnCNNNetwork(1, 5, 8)
    network = restorer.build_network(1)
    restorer.warm_start(network, conditioned.state_dict(), sample)
    assert all(torch.equal(a, b) for a, b in zip(network.state_dict().values(),
                                                   conditioned.state_dict().values(), strict=True))
    plain = DnCNNNetwork(1, 5, 8).eval()
    network = restorer.build_network(1)
    restorer.warm_start(network, plain.state_dict(), sample)
    network.eval()
    with torch.no_grad():  # whatever the map says, it computes what its parent does
        assert torch.allclose(network(sample), plain(sample[:, :1]), atol=1e-6)


def _save(path, channels: int = 1, quality: int | None = None) -> None:
    pixels = np.random.default_rng(1).integers(0, 256, (32, 40) if channels == 1 else (32, 40, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, **({} if quality is None else {"quality": quality}))


def test_a_real_jpeg_file_tells_a_deblocking_restorer_its_quality(tmp_path):
    jpeg, png = tmp_path / "photo.jpg", tmp_path / "photo.png"
    _save(jpeg, quality=23)
    _save(png)
    remover = _build()
    assert degradation_info(restorer=remover, path=jpeg) == DegradationInfo(DEBLOCKING, params={"quality": 23})
    assert degradation_info(restorer=remover, path=png) == DegradationInfo(DEBLOCKING)
    # a denoiser is told what it always was: noise of the given level
    assert degradation_info(sigma=15.0, restorer=_build("fdncnn"), path=jpeg) == DegradationInfo(DENOISING, sigma=15.0)


@pytest.mark.parametrize(("extra", "needle"), [([], "dncnn-jpeg:quality=N"), (["--sigma", "25"], "not a noise sigma"),
                                               (["--sigma", "auto"], "not a noise sigma")])
def test_restore_run_on_a_png_asks_for_the_quality_in_one_line(tmp_path, extra, needle):
    png = tmp_path / "photo.png"
    _save(png)
    result = CliRunner().invoke(cli, ["run", "dncnn-jpeg", str(png), "-o", str(tmp_path / "out.png"), *extra])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert needle in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out.png").exists()


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return -10 * math.log10(float(((a - b) ** 2).mean()))


@pytest.mark.parametrize("channels", [1, 3])
def test_restore_run_on_a_jpeg_reads_its_quality_and_removes_artifacts(tmp_path, channels):
    from restore_core.imaging.io import read_image, to_array

    clean = HOST.registry("dataset").build("skimage-gray" if channels == 1 else "skimage")
    index = next(i for i, r in enumerate(clean.records) if r.image_id == "camera" or r.image_id == "astronaut")
    original = clean.load(index)[..., 100:196, 100:196].contiguous()
    jpeg = tmp_path / "photo.jpg"
    Image.fromarray(to_array(original[0])).save(jpeg, quality=15)
    out = tmp_path / "out.png"
    result = CliRunner().invoke(cli, ["run", "dncnn-jpeg", str(jpeg), "-o", str(out)])
    assert result.exit_code == 0, result.output
    compressed, restored = read_image(jpeg, "gray" if channels == 1 else "rgb"), read_image(out)
    assert _psnr(restored, original) > _psnr(compressed, original) + 0.5
