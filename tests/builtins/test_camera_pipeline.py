"""The camera pipeline degradation (`camera`): each stage's math, the noise model's statistics,
per-image seeding, the ISO ordering, chains, and `restore bench` with good and bad specs."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest
import torch
from click.testing import CliRunner
from restore_builtins import camera_pipeline as cp

from restore_core.cli import cli
from restore_core.components.interfaces import DENOISING
from restore_core.errors import SpecError
from restore_core.plugins.host import default_host
from restore_core.testing import check_degradation, check_registration, generators, natural_image


def _build(spec: str):
    return default_host().registry("degradation").build(spec)


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / ((a.double() - b.double()) ** 2).mean()))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("tone", [True, False])
def test_tone_and_gamma_round_trip(dtype, tone):
    y = torch.linspace(0, 1, 10001, dtype=dtype)
    assert float((cp.forward_tone(cp.inverse_tone(y, tone), tone) - y).abs().max()) < 1e-5
    assert float((cp.smoothstep(cp.inverse_smoothstep(y)) - y).abs().max()) < 1e-5
    assert float((cp.linear_to_srgb(cp.srgb_to_linear(y)) - y).abs().max()) < 1e-5
    # the sRGB segments meet where IEC 61966-2-1 says, and the curves are monotone
    assert float(cp.srgb_to_linear(torch.tensor(0.04045, dtype=torch.float64))) == pytest.approx(0.04045 / 12.92)
    assert bool((cp.inverse_tone(y, tone).diff() >= 0).all())


def test_gains_invert():
    rgb = torch.rand(3, 8, 8, dtype=torch.float64)
    gains = cp.camera_settings(preset="phone-low-light").gains()
    back = cp.apply_gains(cp.apply_gains(rgb, [1 / g for g in gains]), gains)
    assert torch.allclose(back, rgb)
    assert gains == (2.0 * 1.5, 2.0, 2.0 * 2.4)


def test_mosaic_keeps_one_channel_per_pixel_in_rggb_order():
    rgb = torch.rand(2, 3, 6, 8)
    raw = cp.mosaic(rgb)
    assert raw.shape == (2, 1, 6, 8)
    assert torch.equal(raw[:, 0, 0::2, 0::2], rgb[:, 0, 0::2, 0::2])  # R at (even, even)
    assert torch.equal(raw[:, 0, 0::2, 1::2], rgb[:, 1, 0::2, 1::2])  # G at (even, odd)
    assert torch.equal(raw[:, 0, 1::2, 0::2], rgb[:, 1, 1::2, 0::2])  # G at (odd, even)
    assert torch.equal(raw[:, 0, 1::2, 1::2], rgb[:, 2, 1::2, 1::2])  # B at (odd, odd)
    masks = cp.bayer_masks(6, 8)
    assert torch.equal(masks.sum(0), torch.ones(6, 8)) and masks[1].sum() == 24  # half the pixels are green


@pytest.mark.parametrize("method", ["bilinear", "malvar"])
def test_demosaic_of_a_constant_colour_returns_it(method):
    colour = torch.tensor([0.7, 0.4, 0.2], dtype=torch.float64).view(1, 3, 1, 1)
    flat = colour.expand(1, 3, 16, 20)
    out = cp.demosaic(cp.mosaic(flat), method)
    assert out.shape == (1, 3, 16, 20)
    assert torch.allclose(out[..., 2:-2, 2:-2], flat[..., 2:-2, 2:-2], atol=1e-12)
    assert torch.allclose(out, flat, atol=1e-12)  # mirrored borders keep the Bayer phase: exact there too


def test_demosaic_keeps_the_samples_and_malvar_beats_bilinear_on_a_photo():
    clean = natural_image(3, 64).double()
    raw = cp.mosaic(clean)
    errors = {}
    for method in cp.DEMOSAICS:
        out = cp.demosaic(raw, method)
        assert torch.allclose(cp.mosaic(out), raw)  # each pixel's own sample is kept
        errors[method] = _psnr(out, clean)
    assert errors["malvar"] > errors["bilinear"]
    with pytest.raises(ValueError, match="bilinear or malvar"):
        cp.demosaic(raw, "ahd")


@pytest.mark.parametrize(("shot", "read"), [(0.01, 0.02), (0.0032, cp.noise_for_iso(3200)[1])])
@pytest.mark.parametrize("level", [0.05, 0.3, 0.8])
def test_raw_noise_variance_is_shot_x_plus_read_squared(shot, read, level):
    flat = torch.full((1, 256, 256), level, dtype=torch.float64)
    noisy = cp.add_raw_noise(flat, shot, read, torch.Generator().manual_seed(3))
    assert float(noisy.mean()) == pytest.approx(level, rel=0.01)
    assert float(noisy.var()) == pytest.approx(shot * level + read**2, rel=0.1)


def test_iso_table_is_monotone_and_follows_the_log_linear_fit():
    isos = [100, 200, 400, 800, 1600, 3200, 6400]
    noise = [cp.noise_for_iso(iso) for iso in isos]
    shots, reads = zip(*noise, strict=True)
    assert list(shots) == sorted(shots) and list(reads) == sorted(reads)
    assert shots[0] == pytest.approx(1e-4)
    for shot, read in noise:
        assert 2 * math.log(read) == pytest.approx(2.18 * math.log(shot) + 1.20)
    for name, preset in cp.PRESETS.items():
        settings = cp.camera_settings(preset=name)
        assert (settings.iso, settings.shot, settings.read) == (preset.iso, *cp.noise_for_iso(preset.iso))


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("spec", ["camera", "camera:preset=dslr-high-iso,demosaic=malvar,jpeg=70"])
def test_conformance_and_per_image_seeding(spec, channels):
    deg = _build(spec)
    check_degradation(deg, channels)  # shapes, float32, target, determinism, batch independence
    batch = torch.cat([natural_image(channels, 32), natural_image(channels, 64)[..., 16:48, 16:48]])
    together = deg.degrade(batch, generators(2, seed=5)).image
    alone = deg.degrade(batch[1:], [torch.Generator().manual_seed(6)]).image
    assert torch.equal(together[1], alone[0])
    assert not torch.equal(together, deg.degrade(batch, generators(2, seed=7)).image)  # the seed matters
    assert together.dtype == torch.float32 and float(together.min()) >= 0 and float(together.max()) <= 1


def test_registration_and_info():
    check_registration(default_host().registry("degradation").lookup("camera"), default_host())
    out = _build("camera:preset=phone-low-light").degrade(natural_image(3, 32), generators(1))
    info = out.info
    assert info.task == DENOISING and info.sigma is None and info.forward is None and info.adjoint is None
    assert info.params["preset"] == "phone-low-light" and info.params["iso"] == 3200
    assert (info.params["shot"], info.params["read"]) == cp.noise_for_iso(3200)
    assert info.params["red_gain"] == 1.5 and info.params["blue_gain"] == 2.4 and info.params["digital_gain"] == 2.0
    by_iso = _build("camera1600").degrade(natural_image(3, 32), generators(1)).info.params
    assert by_iso["iso"] == 1600 and "preset" not in by_iso
    assert _build("camera").degrade(natural_image(3, 32), generators(1)).info.params["preset"] == cp.DEFAULT_PRESET


def test_gray_goes_through_as_r_equals_g_equals_b():
    gray = natural_image(1, 48)
    settings = dataclasses.replace(cp.camera_settings(preset="phone-low-light"), shot=1e-12, read=0.0)
    stages = cp.camera_stages(gray[0].expand(3, -1, -1), torch.Generator().manual_seed(0), settings)
    flat = natural_image(1, 48) * 0 + 0.4  # a flat gray survives the noise-free pipeline unchanged
    flat_out = cp.camera_stages(flat[0].expand(3, -1, -1), torch.Generator().manual_seed(0), settings)["output"]
    assert torch.allclose(flat_out, flat[0].expand(3, -1, -1), atol=1e-5)
    assert list(stages) == ["srgb", "linear", "raw", "mosaic", "noisy", "demosaiced", "balanced", "output"]
    out = _build("camera").degrade(gray, generators(1)).image
    assert out.shape == gray.shape


def test_camera_stages_shapes_and_jpeg():
    settings = cp.camera_settings(preset="phone-low-light", jpeg=80)
    stages = cp.camera_stages(natural_image(3, 32)[0], torch.Generator().manual_seed(0), settings)
    assert list(stages)[-1] == "jpeg"
    assert stages["mosaic"].shape == stages["noisy"].shape == (1, 32, 32)
    assert all(v.shape == (3, 32, 32) for k, v in stages.items() if k not in ("mosaic", "noisy"))
    assert torch.equal(stages["jpeg"] * 255, (stages["jpeg"] * 255).round())  # decoded 8-bit values
    out = _build("camera:preset=phone-low-light,jpeg=80").degrade(natural_image(3, 32), generators(1, seed=0))
    assert torch.equal(out.image[0], stages["jpeg"])  # the degradation is the last stage, same generator


def test_higher_iso_gives_lower_psnr():
    clean = natural_image(3, 64)
    psnrs = [_psnr(_build(f"camera:iso={iso}").degrade(clean, generators(1)).image, clean)
             for iso in (100, 800, 3200, 12800)]
    assert psnrs == sorted(psnrs, reverse=True) and psnrs[0] > psnrs[-1] + 5


def test_in_a_chain():
    chain = default_host().registry("degradation").build("camera:preset=phone-low-light+jpeg:quality=80")
    clean = natural_image(3, 48)
    out = chain.degrade(clean, generators(1))
    assert out.image.shape == clean.shape and out.info.params["quality"] == 80 and out.info.params["iso"] == 3200
    check_degradation(chain, 3)


@pytest.mark.parametrize(("spec", "message"), [
    ("camera:iso=800,preset=phone-daylight", "give iso or preset, not both"),
    ("camera:preset=cinema", "preset must be one of phone-daylight"),
    ("camera:iso=5", "iso must be within [50, 25600]"),
    ("camera:jpeg=101", "jpeg must be a quality from 1 to 100"),
    ("camera:demosaic=ahd", "'ahd' is not one of bilinear, malvar"),
])
def test_bad_parameters_are_one_line_errors(spec, message):
    with pytest.raises(SpecError, match=message.replace("[", r"\[")):
        _build(spec)
    result = CliRunner().invoke(cli, ["bench", "-r", "identity", "-d", spec, "--limit", "1", "--crop", "64"])
    assert result.exit_code != 0
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_training_batch_and_probe():
    from restore_core.train.loop import TrainConfig, probe_info, training_batch

    images = [(natural_image(3, 64)[0] * 255).round().to(torch.uint8)]
    restorer = default_host().registry("restorer").build("dncnn:layers=3")
    deg = _build("camera:preset=phone-low-light")
    x, y = training_batch(restorer, deg, images, TrainConfig(patch=16, batch=2), random.Random(0))
    assert x.shape == y.shape and x.shape[:2] == (2, 3) and x.shape[-2:] == (16, 16)
    assert probe_info(deg, 1).params["iso"] == 3200 and probe_info(deg, 3).task == DENOISING


def test_small_images_are_refused():
    with pytest.raises(ValueError, match="at least 4x4 pixels"):
        _build("camera").degrade(torch.rand(1, 3, 3, 8), generators(1))


def test_bench_runs_it():
    result = CliRunner().invoke(cli, ["bench", "-r", "identity,nlm:sigma=auto", "-d", "camera:preset=phone-low-light",
                                      "--limit", "1", "--crop", "64", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert "camera" in result.stdout and "nlm" in result.stdout and "identity" in result.stdout


# ------------------------------------------------------------------------------ camera-range


@pytest.mark.parametrize("channels", [1, 3])
def test_camera_range_conformance_and_per_image_seeding(channels):
    deg = _build("camera-range")
    check_degradation(deg, channels)
    check_registration(default_host().registry("degradation").lookup("camera-range"), default_host())
    batch = torch.cat([natural_image(channels, 32), natural_image(channels, 64)[..., 16:48, 16:48]])
    together = deg.degrade(batch, generators(2, seed=5))
    alone = deg.degrade(batch[1:], [torch.Generator().manual_seed(6)])
    assert torch.equal(together.image[1], alone.image[0])
    assert alone.info.params["isos"] == (together.info.params["isos"][1],)
    assert alone.info.params["iso"] == together.info.params["isos"][1] and "iso" not in together.info.params
    assert together.info.sigma is None and together.info.forward is None


def test_camera_range_draws_are_in_range_and_run_the_fixed_pipeline():
    deg = cp.CameraPipelineRange(iso_min=200, iso_max=3200, jpeg_fraction=0.5, jpeg_min=80, jpeg_max=90)
    drawn = [deg.draw(torch.Generator().manual_seed(s)) for s in range(200)]
    isos = [s.iso for s in drawn]
    assert min(isos) >= 200 and max(isos) <= 3200
    # log-uniform: about half the draws lie below the geometric mean (800)
    assert 0.35 < sum(iso < 800 for iso in isos) / len(isos) < 0.65
    jpegs = [s.jpeg for s in drawn]
    assert 0.35 < sum(q == 0 for q in jpegs) / len(jpegs) < 0.65
    assert {q for q in jpegs if q} <= set(range(80, 91)) and {80, 90} <= set(jpegs)
    assert {s.demosaic for s in drawn} == set(cp.DEMOSAICS)
    for (low, high), values in zip(cp.GAIN_RANGES, zip(*[(s.red_gain, s.blue_gain, s.digital_gain) for s in drawn],
                                                       strict=True), strict=True):
        assert low <= min(values) and max(values) <= high
    assert all(s.shot == cp.noise_for_iso(s.iso)[0] and s.read == cp.noise_for_iso(s.iso)[1] for s in drawn)
    # the image is the fixed pipeline's with the drawn camera, after the draw, on the same generator
    image = natural_image(3, 32)
    g = torch.Generator().manual_seed(11)
    settings = deg.draw(g)
    expected = list(cp.camera_stages(image[0], g, settings).values())[-1]
    assert torch.equal(deg.degrade(image, [torch.Generator().manual_seed(11)]).image[0], expected)


@pytest.mark.parametrize(("spec", "message"), [
    ("camera-range:iso_min=10", "iso_min <= iso_max"),
    ("camera-range:iso_min=800,iso_max=400", "iso_min <= iso_max"),
    ("camera-range:jpeg_fraction=1.5", "jpeg_fraction must be within [0, 1]"),
    ("camera-range:jpeg_min=0", "1 <= jpeg_min <= jpeg_max <= 100"),
])
def test_camera_range_bad_parameters(spec, message):
    with pytest.raises(SpecError, match=message.replace("[", r"\[")):
        _build(spec)
