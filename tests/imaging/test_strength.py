"""Restoration strength (`restore_core.imaging.strength`) and `--strength` through `restore run`."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from restore_core.cli import cli
from restore_core.imaging.io import read_image, write_png
from restore_core.imaging.strength import MAX_STRENGTH, check_strength, with_strength
from restore_core.restoring import restore_image


def _pair() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    degraded = torch.rand(1, 3, 16, 16, generator=g)
    return degraded, (degraded * 0.5 + 0.25).clamp(0, 1)


def test_strength_one_is_the_output_and_zero_the_input():
    degraded, restored = _pair()
    assert with_strength(degraded, restored, 1.0) is restored
    assert torch.equal(with_strength(degraded, restored, 0.0), degraded)
    half = with_strength(degraded, restored, 0.5)
    assert torch.allclose(half, (degraded + restored) / 2, atol=1e-7)
    # above 1 it removes more than the restorer did, and stays within [0, 1]
    strong = with_strength(degraded, restored, MAX_STRENGTH)
    assert float(strong.min()) >= 0 and float(strong.max()) <= 1
    assert float((strong - degraded).abs().mean()) > float((restored - degraded).abs().mean())


@pytest.mark.parametrize("bad", [-0.1, 2.5, float("nan"), float("inf"), "1", True])
def test_bad_strengths_are_refused(bad):
    with pytest.raises(ValueError, match="strength is a number from 0"):
        check_strength(bad)


def test_shapes_must_match():
    with pytest.raises(ValueError, match="one shape"):
        with_strength(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 16, 16), 0.5)


def test_restore_image_scales_what_the_restorer_removes():
    degraded = torch.rand(1, 1, 24, 24, generator=torch.Generator().manual_seed(1))
    full = restore_image("median-filter", degraded)
    half = restore_image("median-filter", degraded, strength=0.5)
    assert torch.allclose(half, (degraded + 0.5 * (full - degraded)).clamp(0, 1), atol=1e-6)
    assert torch.equal(restore_image("median-filter", degraded, strength=0.0), degraded)


def test_run_strength_on_the_command_line(tmp_path):
    image = torch.rand(1, 1, 24, 24, generator=torch.Generator().manual_seed(2))
    write_png(tmp_path / "in.png", image)
    runner = CliRunner()
    for strength in ("1", "0"):
        result = runner.invoke(cli, ["run", "median-filter", str(tmp_path / "in.png"), "-o",
                                     str(tmp_path / f"out{strength}.png"), "--strength", strength])
        assert result.exit_code == 0, result.stderr
    assert torch.equal(read_image(tmp_path / "out0.png"), read_image(tmp_path / "in.png"))
    assert not torch.equal(read_image(tmp_path / "out1.png"), read_image(tmp_path / "in.png"))
    for args, message in ((["--strength", "3"], "strength is a number from 0"),
                          (["--scale", "2", "--strength", "0.5"], "super-resolution changes its size")):
        result = runner.invoke(cli, ["run", "bicubic", str(tmp_path / "in.png"), "-o", str(tmp_path / "x.png"), *args])
        assert result.exit_code == 2 and message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.png").exists()
