"""PSNR-B against a hand computation, SSIM in the Wang et al. convention against published and
independent values, and scoring inside or outside a mask."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from restore_core.components.interfaces import DENOISING, DegradationInfo
from restore_core.errors import SpecError

DENOISE = DegradationInfo(DENOISING, sigma=25)


def blocks() -> tuple[torch.Tensor, torch.Tensor]:
    """A 16x16 image whose top-left 8x8 block is 0.2 and the rest 0, and a black target."""
    restored = torch.zeros(1, 1, 16, 16)
    restored[..., :8, :8] = 0.2
    return restored, torch.zeros_like(restored)


def test_psnr_b_of_a_blocky_image_by_hand(host) -> None:
    restored, target = blocks()
    # MSE = 0.2^2 * 64/256 = 0.01. Pairs across the boundary column 7|8: 16 rows, 8 of them (rows 0-7)
    # differ by 0.2; across row 7|8 likewise: D_B = 16 * 0.04 / 32 = 0.02. Every other pair is equal:
    # D_Bc = 0. eta = log2(8) / log2(16) = 0.75, so BEF = 0.015 and PSNR-B = 10 log10(1 / 0.025).
    score = float(host.registry("metric").build("psnr-b").measure(restored, target, DENOISE)[0])
    assert score == pytest.approx(10 * math.log10(40), abs=1e-6)  # 0.2 is a float32
    assert float(host.registry("metric").build("psnr").measure(restored, target, DENOISE)[0]) == pytest.approx(20)


def test_psnr_b_equals_psnr_without_blocking(host) -> None:
    # a checkerboard differs equally across every pair, on block boundaries or not: D_B = D_Bc, BEF = 0
    rows, cols = np.indices((24, 24))
    restored = torch.from_numpy(((rows + cols) % 2 * 0.1).astype(np.float32))[None, None]
    target = torch.zeros_like(restored)
    psnr_b = float(host.registry("metric").build("psnr-b").measure(restored, target, DENOISE)[0])
    psnr = float(host.registry("metric").build("psnr").measure(restored, target, DENOISE)[0])
    assert psnr_b == pytest.approx(psnr, abs=1e-9)


def test_psnr_b_block_grid_follows_the_crop() -> None:
    from restore_builtins.psnr_b import blocking_effect_factor

    restored, _ = blocks()
    view = restored.double()[..., 3:-3, 3:-3]  # the grid's boundary 7|8 is the view's 4|5
    on_grid = float(blocking_effect_factor(view, offset=3)[0])
    # pairs (4, 5): 5 rows of the 10 differ by 0.2 in each direction; eta = 3 / log2(10)
    assert on_grid == pytest.approx(3 / math.log2(10) * (2 * 5 * 0.04) / (2 * 10), rel=1e-6)
    assert float(blocking_effect_factor(view, offset=0)[0]) == 0.0  # the wrong grid sees no blocks


def test_psnr_b_penalises_jpeg_blocking(host, tmp_path: Path) -> None:
    import skimage.data

    clean = skimage.data.camera()[:128, :128]
    Image.fromarray(clean).save(tmp_path / "q10.jpg", quality=10)
    jpeg = np.asarray(Image.open(tmp_path / "q10.jpg"), dtype=np.float32) / 255
    restored, target = torch.from_numpy(jpeg)[None, None], torch.from_numpy(clean / 255).float()[None, None]
    psnr_b = float(host.registry("metric").build("psnr-b").measure(restored, target, DENOISE)[0])
    psnr = float(host.registry("metric").build("psnr").measure(restored, target, DENOISE)[0])
    assert psnr - psnr_b > 0.1


def camera_pair() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-image's camera with the noise of its own SSIM reference test (seed 5, sigma 20, truncated)."""
    import skimage.data

    cam = skimage.data.camera()
    rng = np.random.RandomState(5)  # the legacy generator the reference value was computed with
    noisy = np.clip(cam + 20.0 * rng.randn(*cam.shape), 0, 255).astype(np.uint8)
    as_tensor = lambda a: torch.from_numpy(a / 255.0).float()[None, None]  # noqa: E731
    return as_tensor(noisy), as_tensor(cam)


def test_ssim_gaussian_matches_the_published_reference(host) -> None:
    # 0.357959091663361: IPOL's imdiff (Wang et al.'s SSIM: 11x11 Gaussian, sigma 1.5) on this pair,
    # published in scikit-image PR 4913 and its test suite; 3 decimals, as scikit-image checks it
    noisy, cam = camera_pair()
    score = float(host.registry("metric").build("ssim:window=gaussian").measure(noisy, cam, DENOISE)[0])
    assert score == pytest.approx(0.357959091663361, abs=1.5e-3)
    default = float(host.registry("metric").build("ssim").measure(noisy, cam, DENOISE)[0])
    assert default == pytest.approx(0.3674518327910367, abs=1e-4)  # scikit-image 0.17's 7x7 uniform value
    assert abs(default - score) > 5e-3  # the conventions differ by more than the reference's precision


def direct_gaussian_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """Wang et al.'s formula written out: Gaussian-weighted moments (population), K1 0.01, K2 0.03, L 1."""
    from scipy.ndimage import gaussian_filter

    blur = lambda a: gaussian_filter(a, sigma=1.5, truncate=3.5, mode="reflect")  # noqa: E731
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    ssim_map = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(ssim_map[5:-5, 5:-5].mean())  # windows that overhang the border left out


@pytest.mark.parametrize("channels", [1, 3])
def test_ssim_gaussian_matches_a_direct_implementation(host, channels: int) -> None:
    g = torch.Generator().manual_seed(channels)
    clean = torch.rand(1, channels, 40, 36, generator=g, dtype=torch.float64).float()
    noisy = (clean + 0.1 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    ours = float(host.registry("metric").build("ssim:window=gaussian").measure(noisy, clean, DENOISE)[0])
    a, b = noisy[0].double().numpy(), clean[0].double().numpy()
    assert ours == pytest.approx(np.mean([direct_gaussian_ssim(a[c], b[c]) for c in range(channels)]), abs=1e-9)


def test_ssim_gaussian_needs_an_11_pixel_image(host) -> None:
    small = torch.rand(1, 1, 10, 20)
    with pytest.raises(ValueError, match="at least 11x11"):
        host.registry("metric").build("ssim:window=gaussian").measure(small, small, DENOISE)
    with pytest.raises(SpecError, match="uniform"):
        host.registry("metric").build("ssim:window=box")


@pytest.fixture
def half_mask(tmp_path: Path) -> Path:
    """A 40x36 mask whose left 20 columns are white."""
    mask = np.zeros((40, 36), np.uint8)
    mask[:, :20] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    return tmp_path / "mask.png"


def test_psnr_inside_and_outside_a_mask(host, half_mask: Path) -> None:
    g = torch.Generator().manual_seed(0)
    clean = torch.rand(1, 3, 40, 36, generator=g)
    noisy = clean.clone()
    noisy[..., :20] += 0.1  # error 0.1 inside, none outside... except one pixel, so outside is finite
    noisy[..., 0, 30] += 0.2
    metric = host.registry("metric")
    inside = float(metric.build(f"psnr:mask={half_mask}").measure(noisy, clean, DENOISE)[0])
    outside = float(metric.build(f"psnr:mask={half_mask},where=outside").measure(noisy, clean, DENOISE)[0])
    assert inside == pytest.approx(20.0, abs=1e-4)
    assert outside == pytest.approx(10 * math.log10(40 * 16 / 0.04), abs=1e-3)  # one 0.2 error in 40x16 pixels
    whole = float(metric.build("psnr").measure(noisy, clean, DENOISE)[0])
    assert inside < whole < outside


def test_ssim_inside_a_mask_averages_the_map_there(host, half_mask: Path) -> None:
    from skimage.metrics import structural_similarity

    g = torch.Generator().manual_seed(1)
    clean = torch.rand(1, 1, 40, 36, generator=g)
    noisy = (clean + 0.1 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    ours = float(host.registry("metric").build(f"ssim:mask={half_mask}").measure(noisy, clean, DENOISE)[0])
    _, full = structural_similarity(noisy[0, 0].double().numpy(), clean[0, 0].double().numpy(), data_range=1.0,
                                    full=True)
    assert ours == pytest.approx(float(full[3:-3, 3:20].mean()), abs=1e-9)


def test_bad_masks_for_metrics(host, half_mask: Path, tmp_path: Path) -> None:
    metric = host.registry("metric")
    with pytest.raises(SpecError, match="does not exist"):
        metric.build(f"psnr:mask={tmp_path / 'missing.png'}")
    with pytest.raises(SpecError, match="needs a mask"):
        metric.build("psnr:where=outside")
    with pytest.raises(SpecError, match="not one of inside, outside"):
        metric.build(f"psnr:mask={half_mask},where=around")
    other = torch.rand(1, 1, 30, 30)
    with pytest.raises(ValueError, match="36x40 but the image is 30x30"):
        metric.build(f"psnr:mask={half_mask}").measure(other, other, DENOISE)
