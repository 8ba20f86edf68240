"""The degradation library: each noise model's statistics, JPEG's round trip, blur kernels, bad
input as one-line usage errors when the spec is built, and the classical references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from restore_core.cli import cli
from restore_core.components.interfaces import DEBLOCKING, DEBLURRING, DENOISING, SUPER_RESOLUTION
from restore_core.errors import SpecError
from restore_core.testing import generators, natural_image


def _degrade(host, spec: str, clean: torch.Tensor, seed: int = 0):
    return host.registry("degradation").build(spec).degrade(clean, generators(clean.shape[0], seed))


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / ((a.clamp(0, 1).double() - b.double()) ** 2).mean()))


def test_poisson_noise_has_variance_x_over_peak(host):
    flat = torch.full((1, 1, 128, 128), 0.4)
    for peak in (10.0, 60.0):
        out = _degrade(host, f"poisson:peak={peak}", flat)
        assert float(out.image.mean()) == pytest.approx(0.4, rel=0.02)
        assert float(out.image.var()) == pytest.approx(0.4 / peak, rel=0.1)  # 16k samples: ~1% noise
        assert out.info.task == DENOISING and out.info.sigma is None and out.info.params == {"peak": peak}
    both = _degrade(host, "poisson-gaussian:peak=20,sigma=10", flat)
    assert float(both.image.var()) == pytest.approx(0.4 / 20 + (10 / 255) ** 2, rel=0.1)


def test_speckle_and_salt_pepper_statistics(host):
    flat = torch.full((1, 1, 128, 128), 0.5)
    speckled = _degrade(host, "speckle:sigma=0.3", flat).image
    assert float(speckled.std()) == pytest.approx(0.5 * 0.3, rel=0.1)
    out = _degrade(host, "salt-pepper:amount=0.2", flat)
    hit = out.image != 0.5
    assert float(hit.float().mean()) == pytest.approx(0.2, abs=0.02)
    assert set(out.image[hit].unique().tolist()) == {0.0, 1.0} and out.info.params == {"amount": 0.2}


@pytest.mark.parametrize("channels", [1, 3])
def test_jpeg_is_an_8_bit_round_trip_worse_at_low_quality(host, channels):
    clean = natural_image(channels, 64)
    low, high = _degrade(host, "jpeg:quality=10", clean), _degrade(host, "jpeg90", clean)
    assert torch.equal(low.image * 255, (low.image * 255).round())  # decoded 8-bit values
    assert _psnr(high.image, clean) > _psnr(low.image, clean) + 5
    assert low.info.task == DEBLOCKING and low.info.params == {"quality": 10} and low.info.forward is None
    if channels == 3:  # 4:2:0 chroma is coarser than 4:4:4 at the same quality
        full = _degrade(host, "jpeg:quality=10,subsampling=444", clean)
        assert _psnr(full.image, clean) > _psnr(low.image, clean)


def test_blur_kernels_and_files(host, tmp_path):
    from PIL import Image

    registry = host.registry("degradation")
    motion = registry.build("blur:kernel=motion,length=7,angle=90")._kernel
    assert motion.shape == (7, 7) and np.isclose(motion.sum(), 1)
    assert np.allclose(motion[:, 3], 1 / 7, atol=0.02) and motion[:, :3].sum() < 1e-6  # a vertical line
    assert registry.build("blur:kernel=box,size=3")._kernel.shape == (3, 3)
    kernel = np.zeros((4, 6), np.float32)
    kernel[1, 2:5] = 1
    np.save(tmp_path / "k.npy", kernel)
    Image.fromarray((kernel * 255).astype(np.uint8)).save(tmp_path / "k.png")
    for name in ("k.npy", "k.png"):
        out = _degrade(host, f"blur:kernel={tmp_path / name},noise=2", natural_image(1, 48))
        assert out.info.task == DEBLURRING and out.info.sigma == 2
        assert torch.allclose(out.info.params["kernel"], torch.from_numpy(kernel / 3))


@pytest.mark.parametrize(("spec", "message"), [
    ("jpeg:quality=0", "quality must be an integer from 1 to 100, got 0"),
    ("jpeg:quality=101", "quality must be an integer from 1 to 100"),
    ("poisson:peak=-3", "peak must be a positive photon count"),
    ("poisson-gaussian:peak=0", "peak must be a positive photon count"),
    ("blur:kernel=disk", "kernel must be gaussian, motion, box or a .npy/.png file path, not 'disk'"),
    ("blur:kernel=missing.npy", "kernel file 'missing.npy' does not exist"),
    ("speckle:sigma=2", "sigma must be within (0, 1]"),
    ("salt-pepper:amount=0", "amount must be a fraction within (0, 1]"),
    ("blur-down:scale=1", "scale must be from 2 to 16"),
    ("jpeg:subsampling=411", "is not one of 444, 422, 420"),
])
def test_bad_parameters_are_usage_errors_when_the_spec_is_built(host, spec, message):
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        host.registry("degradation").build(spec)


def test_an_unreadable_kernel_file_is_one_line_exit_2(tmp_path):
    (tmp_path / "k.npy").write_text("not an array")
    result = CliRunner().invoke(cli, ["bench", "-r", "wiener", "-d", f"blur:kernel={tmp_path / 'k.npy'}",
                                      "--dataset", "skimage-gray", "--limit", "1"])
    assert result.exit_code == 2, result.output
    assert "cannot read kernel file" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(("degradation", "reference", "gain"), [
    ("salt-pepper:amount=0.1", "median-filter", 8.0),
    ("poisson:peak=30", "vst-nlm", 4.0),
    ("poisson-gaussian:peak=30,sigma=5", "vst-nlm", 4.0),
    ("speckle:sigma=0.2", "log-nlm", 3.0),
    ("blur:kernel=gaussian,sigma=1.6,noise=1", "wiener", 1.0),
    ("blur:kernel=motion,length=9,angle=30", "richardson-lucy", 1.0),
    ("jpeg:quality=10", "tv", 0.1),
    ("gaussian25", "tv", 4.0),
])
def test_each_reference_beats_the_degraded_input(host, degradation, reference, gain):
    clean = natural_image(1, 96)
    out = _degrade(host, degradation, clean)
    restorer = host.registry("restorer").build(reference)
    assert restorer.supports(out.info, 1) is None
    restored = restorer.restore(out.image, out.info)
    assert _psnr(restored, out.target) > _psnr(out.image, out.target) + gain


def test_references_decline_what_they_cannot_use(host):
    registry = host.registry("degradation")
    info = {spec: registry.build(spec).degrade(natural_image(1, 48), generators(1)).info
            for spec in ("poisson30", "speckle", "jpeg30", "blur", "blur-down", "gaussian25")}
    assert info["blur-down"].task == SUPER_RESOLUTION
    build = host.registry("restorer").build
    assert "needs the Poisson peak" in build("vst-nlm").supports(info["gaussian25"], 1)
    assert "needs the speckle level" in build("log-nlm").supports(info["poisson30"], 1)
    assert "serves deblurring, not deblocking" in build("wiener").supports(info["jpeg30"], 1)
    assert "serves deblurring, not super-resolution" in build("richardson-lucy").supports(info["blur-down"], 1)
    assert "needs weight=" in build("tv").supports(info["speckle"], 1)
    assert build("tv:weight=0.1").supports(info["speckle"], 1) is None
    assert build("median-filter").supports(info["blur"], 1) == "median-filter serves denoising, not deblurring"
