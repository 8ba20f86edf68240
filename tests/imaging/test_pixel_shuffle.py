"""Pixel-shuffle down-sampling (`restore_core.imaging.pixel_shuffle`) and the `pd` option of the denoisers."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from restore_core.cli import cli
from restore_core.imaging.pixel_shuffle import merge, pd_denoise, split


def test_split_takes_every_factorth_pixel_and_merge_puts_them_back():
    x = torch.rand(2, 3, 12, 18, generator=torch.Generator().manual_seed(0))
    sub = split(x, 3)
    assert sub.shape == (18, 3, 4, 6)
    # sub-image k of image n holds the pixels at offset (k // 3, k % 3) of each 3x3 block
    assert torch.equal(sub[9 + 5], x[1, :, 1::3, 2::3])
    assert torch.equal(merge(sub, 3), x)


@pytest.mark.parametrize("refine", [True, False])
@pytest.mark.parametrize("shape", [(1, 1, 16, 16), (2, 3, 17, 23)])
def test_an_identity_denoiser_returns_the_input_at_any_size(shape, refine):
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(1))
    out = pd_denoise(lambda image, _map: image, x, 2, refine=refine)
    assert out.shape == x.shape and torch.equal(out, x)


def test_the_noise_map_travels_with_its_pixels():
    x = torch.rand(1, 3, 15, 20)
    noise_map = torch.linspace(5, 50, 20).view(1, 1, 1, 20).expand(1, 1, 15, 20) + torch.arange(15.0).view(1, 1, 15, 1)
    seen = []

    def echo_map(image: torch.Tensor, given: torch.Tensor) -> torch.Tensor:
        seen.append(given.shape[-2:] == image.shape[-2:])
        return given.expand(-1, 3, -1, -1)

    out = pd_denoise(echo_map, x, 2, noise_map=noise_map)
    assert all(seen) and len(seen) == 5  # the sub-images, then the 4 refinement passes
    assert torch.allclose(out, noise_map.expand(1, 3, 15, 20))


def test_sub_sampling_breaks_up_the_spatial_correlation_of_demosaiced_like_noise():
    white = torch.randn(1, 1, 256, 257, generator=torch.Generator().manual_seed(2))
    correlated = (white[..., :-1] + white[..., 1:]) / 2**0.5  # neighbours share half their noise

    def lag1(noise: torch.Tensor) -> float:
        a, b = noise[..., :-1].flatten(), noise[..., 1:].flatten()
        return float(torch.corrcoef(torch.stack([a, b]))[0, 1])

    assert lag1(correlated) > 0.45
    assert abs(lag1(split(correlated, 2))) < 0.03


def test_pd_is_an_option_of_the_denoisers_and_a_bad_factor_is_one_line():
    runner = CliRunner()
    ok = runner.invoke(cli, ["bench", "-r", "dncnn:pd=2", "-d", "gaussian25", "--limit", "1", "--crop", "48",
                             "--format", "json"])
    assert ok.exit_code == 0, ok.output
    assert '"restorer": "dncnn:pd=2"' in ok.stdout
    bad = runner.invoke(cli, ["bench", "-r", "dncnn:pd=0", "-d", "gaussian25", "--limit", "1"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output and "pd (the pixel-shuffle" in bad.output
