"""The no-reference check of restored photos (`restore_core.imaging.no_reference`)."""

from __future__ import annotations

import pytest
import torch

from restore_core.imaging.no_reference import _gaussian, no_reference_check
from restore_core.testing import natural_image


def _noisy(sigma: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    clean = natural_image(3, 128)
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed)) * sigma / 255
    return clean, (clean + noise).clamp(0, 1)


def test_identity_changes_nothing():
    _, noisy = _noisy(15)
    (check,) = no_reference_check(noisy, noisy)
    assert check.noise_in == check.noise_out and check.edge_contrast == pytest.approx(1.0)
    assert not check.passes()  # no less noise


def test_flat_noise_grows_with_sigma_and_a_denoiser_lowers_it():
    levels = [no_reference_check(_noisy(s)[1], _noisy(s)[1])[0].noise_in for s in (5, 15, 30)]
    assert levels[0] < levels[1] < levels[2]
    clean, noisy = _noisy(20)
    (check,) = no_reference_check(noisy, clean)  # a perfect denoiser
    assert check.noise_out < 0.5 * check.noise_in and check.edge_contrast > 0.9 and check.passes()


def test_blurring_lowers_edge_contrast():
    _, noisy = _noisy(20)
    blurred = torch.cat([_gaussian(c.unsqueeze(1), 3.0) for c in noisy.unbind(1)], dim=1)
    (check,) = no_reference_check(noisy, blurred)
    assert check.noise_out < check.noise_in and check.edge_contrast < 0.8 and not check.passes()


def test_gray_and_bad_inputs():
    clean = natural_image(1, 96)
    assert len(no_reference_check(torch.cat([clean, clean]), torch.cat([clean, clean]))) == 2
    with pytest.raises(ValueError, match="one shape"):
        no_reference_check(clean, natural_image(3, 96))
    with pytest.raises(ValueError, match="at least 64x64"):
        no_reference_check(clean[..., :32, :32], clean[..., :32, :32])
