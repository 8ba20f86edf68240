"""Noise estimation (`sigma=auto`, `--sigma auto`): close to the noise added to real photos, and
used by the non-blind denoisers the way a known sigma is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from restore_core import DENOISING, DegradationInfo
from restore_core.cli import cli
from restore_core.errors import WeightsNotFoundError
from restore_core.imaging.io import to_tensor
from restore_core.imaging.noise_level import estimate_noise_sigma
from restore_core.restoring import build_restorer, restore_image


def photo(name: str) -> torch.Tensor:
    import skimage.data

    return to_tensor(getattr(skimage.data, name)())


def noisy(clean: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    """`clean` plus white Gaussian noise, unclipped (as the gaussian degradation leaves it)."""
    return clean + torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed)) * sigma / 255


@pytest.mark.parametrize("name", ["camera", "astronaut"])
@pytest.mark.parametrize("sigma", [15, 25, 50])
def test_the_estimate_is_within_15_percent_of_the_added_noise(name: str, sigma: int) -> None:
    estimate = estimate_noise_sigma(noisy(photo(name), sigma))[0]
    assert estimate == pytest.approx(sigma, rel=0.15)


def test_a_clean_photo_reads_as_nearly_noiseless() -> None:
    assert estimate_noise_sigma(photo("camera"))[0] < 3


def test_each_image_of_a_batch_gets_its_own_estimate() -> None:
    clean = photo("camera")[..., :256, :256]
    batch = torch.cat([noisy(clean, 15), noisy(clean, 50)])
    low, high = estimate_noise_sigma(batch)
    assert low == pytest.approx(15, rel=0.15) and high == pytest.approx(50, rel=0.15)


def gray_noisy(sigma: float) -> torch.Tensor:
    return noisy(photo("camera")[..., 100:196, 100:196], sigma)


def test_dncnn_sigma_auto_uses_the_nearest_trained_weights() -> None:
    image = gray_noisy(25)
    auto = restore_image("dncnn:sigma=auto", image, tile=0)  # no sigma given at all
    told = restore_image("dncnn", image, sigma=25, tile=0)
    assert torch.equal(auto, told)
    assert build_restorer("dncnn:sigma=auto").supports(DegradationInfo(DENOISING), 1) is None
    assert build_restorer("dncnn").supports(DegradationInfo(DENOISING), 1) is not None


def test_dncnn_sigma_auto_refuses_a_level_it_has_no_weights_near() -> None:
    with pytest.raises(WeightsNotFoundError, match=r"estimated sigma 5\d\.\d.*weights for sigma 25.*gaussian5\d"):
        restore_image("dncnn:sigma=auto", gray_noisy(50), tile=0)


def test_nlm_sigma_auto_denoises_with_the_estimate() -> None:
    image = gray_noisy(25)
    estimate = estimate_noise_sigma(image)[0]
    assert torch.equal(restore_image("nlm:sigma=auto", image), restore_image("nlm", image, sigma=estimate))


def test_restore_image_sigma_auto_adds_the_option_to_a_spec() -> None:
    image = gray_noisy(25)
    assert torch.equal(restore_image("dncnn", image, sigma="auto", tile=0), restore_image("dncnn", image, sigma=25))


def test_restore_run_sigma_auto_prints_the_estimate(tmp_path: Path) -> None:
    clean = photo("camera")[0, 0, 100:196, 100:196].numpy() * 255
    data = clean + np.random.default_rng(0).normal(0, 25, clean.shape)
    Image.fromarray(data.clip(0, 255).round().astype(np.uint8)).save(tmp_path / "noisy.png")
    result = CliRunner().invoke(cli, ["run", "dncnn", str(tmp_path / "noisy.png"), "-o", str(tmp_path / "out.png"),
                                      "--sigma", "auto"])
    assert result.exit_code == 0, result.stderr
    line = next(line for line in result.stderr.splitlines() if line.startswith("estimated sigma"))
    assert line.endswith("for noisy.png") and float(line.split()[2]) == pytest.approx(25, rel=0.15)
    assert (tmp_path / "out.png").is_file()


def test_restore_run_refuses_a_sigma_that_is_neither_a_level_nor_auto(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "in.png")
    result = CliRunner().invoke(cli, ["run", "dncnn", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"),
                                      "--sigma", "loud"])
    assert result.exit_code == 2 and "auto" in result.stderr and len(result.stderr.strip().splitlines()) == 1
