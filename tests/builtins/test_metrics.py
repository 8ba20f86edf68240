"""Metrics agree with scikit-image on known pairs and follow the stated protocol."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from restore_core.components.interfaces import DENOISING, SUPER_RESOLUTION, DegradationInfo
from restore_core.imaging.colour import luma, rgb_to_ycbcr, ycbcr_to_rgb

DENOISE = DegradationInfo(DENOISING, sigma=25)
SR3 = DegradationInfo(SUPER_RESOLUTION, scale=3)


def pair(channels: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    clean = torch.rand(1, channels, 40, 36, generator=g)
    noisy = (clean + 0.05 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    return noisy, clean


@pytest.mark.parametrize("channels", [1, 3])
def test_psnr_matches_skimage(host, channels: int) -> None:
    noisy, clean = pair(channels)
    ours = float(host.registry("metric").build("psnr").measure(noisy, clean, DENOISE)[0])
    theirs = peak_signal_noise_ratio(clean.double().numpy(), noisy.double().numpy(), data_range=1.0)
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_psnr_of_a_known_error() -> None:
    from restore_core.components.metric_protocol import psnr

    clean = torch.zeros(1, 1, 8, 8)
    assert float(psnr(clean + 0.1, clean)[0]) == pytest.approx(20.0)


@pytest.mark.parametrize("channels", [1, 3])
def test_ssim_matches_skimage(host, channels: int) -> None:
    noisy, clean = pair(channels, seed=1)
    ours = float(host.registry("metric").build("ssim").measure(noisy, clean, DENOISE)[0])
    a, b = noisy[0].double().numpy(), clean[0].double().numpy()
    if channels == 1:
        theirs = structural_similarity(a[0], b[0], data_range=1.0)
    else:
        theirs = structural_similarity(a, b, data_range=1.0, channel_axis=0)
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_sr_protocol_scores_cropped_luma(host) -> None:
    noisy, clean = pair(3, seed=2)
    ours = float(host.registry("metric").build("psnr").measure(noisy, clean, SR3)[0])
    y_out, y_ref = luma(noisy.double())[0, 0, 3:-3, 3:-3], luma(clean.double())[0, 0, 3:-3, 3:-3]
    assert ours == pytest.approx(peak_signal_noise_ratio(y_ref.numpy(), y_out.numpy(), data_range=1.0))
    explicit = host.registry("metric").build("psnr:channel=rgb,crop=0").measure(noisy, clean, SR3)
    assert float(explicit[0]) == pytest.approx(peak_signal_noise_ratio(clean.double().numpy(),
                                                                        noisy.double().numpy(), data_range=1))


def test_bt601_luma_matches_matlab_reference_values() -> None:
    # MATLAB rgb2ycbcr: white -> 235, black -> 16, pure red -> 81.481
    rgb = torch.tensor([1.0, 0.0, 1.0, 0.0]).view(1, 1, 2, 2).expand(1, 3, 2, 2).clone()
    rgb[0, 1:, 0, 0] = 0  # pixel (0,0) is pure red
    y = luma(rgb.double())[0, 0] * 255
    assert y[0, 1].item() == pytest.approx(16.0) and y[1, 0].item() == pytest.approx(235.0)
    assert y[0, 0].item() == pytest.approx(81.481)


def test_ycbcr_round_trip() -> None:
    rgb = torch.rand(2, 3, 5, 7, dtype=torch.float64)
    assert torch.allclose(ycbcr_to_rgb(rgb_to_ycbcr(rgb)), rgb, atol=1e-12)


def test_identical_images_score_perfectly(host) -> None:
    _, clean = pair(3)
    ssim = host.registry("metric").build("ssim")
    assert float(ssim.measure(clean, clean, DENOISE)[0]) == pytest.approx(1.0)
    assert np.isinf(float(host.registry("metric").build("psnr").measure(clean, clean, DENOISE)[0]))


def test_shape_mismatch_is_an_error(host) -> None:
    noisy, clean = pair(3)
    with pytest.raises(ValueError, match="differ"):
        host.registry("metric").build("psnr").measure(noisy[..., :-1], clean, DENOISE)


@pytest.mark.parametrize("name", ["psnr", "ssim"])
def test_negative_border_crop_is_refused(host, name: str) -> None:
    from restore_core.errors import SpecError

    with pytest.raises(SpecError, match="crop must be non-negative"):
        host.registry("metric").build(f"{name}:crop=-1")
