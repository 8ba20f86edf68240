"""The real-noise denoiser (`dncnn-real`, alias `real`) and `restore run` with no restorer named."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from restore_core import DENOISING, DegradationInfo
from restore_core.cli import cli
from restore_core.errors import UsageError
from restore_core.imaging.io import write_png
from restore_core.plugins.host import default_host
from restore_core.restoring import DEFAULT_RESTORER, restore_image, split_restorer
from restore_core.testing import natural_image
from restore_core.train.weights import save_weights

HOST = default_host()


def test_real_is_an_alias_of_a_blind_colour_dncnn17_trained_on_the_camera_pipeline():
    restorer = HOST.registry("restorer").build("real")
    assert restorer.name == "dncnn-real" and restorer.layers == 17 and restorer.blind
    info = DegradationInfo(DENOISING, sigma=None)
    assert restorer.supports(info, 3) is None and restorer.supports(info, 1) is None
    assert restorer.weights_key(info, 3) == "dncnn-17l-64f-rgb-real"
    training = restorer.training_degradation(info)
    assert training.startswith("camera-range:") and HOST.registry("degradation").build(training).name == "camera-range"


def test_a_gray_image_goes_through_the_colour_model_as_r_equals_g_equals_b(tmp_path):
    restorer = HOST.registry("restorer").build("dncnn-real:layers=3,features=4")
    network = restorer.build_network(3)
    key = restorer.weights_key(DegradationInfo(DENOISING), 3)
    path = save_weights(tmp_path / "real.safetensors", network, {"key": key})
    model = HOST.registry("restorer").build(f"dncnn-real:layers=3,features=4,weights={path}")
    gray = natural_image(1, 32)
    out = restore_image(model, gray)
    colour = restore_image(model, gray.expand(-1, 3, -1, -1).contiguous())
    luma = (colour * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    assert out.shape == gray.shape and torch.allclose(out, luma.clamp(0, 1), atol=1e-5)


def test_split_restorer(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photos").mkdir()
    assert split_restorer(["photo.jpg"]) == (DEFAULT_RESTORER, ["photo.jpg"])
    assert split_restorer(["photos", "b.png"]) == (DEFAULT_RESTORER, ["photos", "b.png"])
    assert split_restorer(["dir/photo"]) == (DEFAULT_RESTORER, ["dir/photo"])
    assert split_restorer(["dncnn:layers=17", "a.png"]) == ("dncnn:layers=17", ["a.png"])
    assert split_restorer(["dncn", "a.png"]) == ("dncn", ["a.png"])  # a typo keeps its close-match suggestions
    Path("nlm").mkdir()  # a registered name wins over a folder of that name
    assert split_restorer(["nlm", "a.png"]) == ("nlm", ["a.png"])
    with pytest.raises(UsageError, match="no images to restore after the restorer 'dncnn'"):
        split_restorer(["dncnn"])


def test_run_with_no_restorer_named_uses_the_real_noise_model(tmp_path):
    clean = natural_image(3, 48)
    noisy = HOST.registry("degradation").build("camera:preset=phone-low-light").degrade(
        clean, [torch.Generator().manual_seed(0)]).image
    write_png(tmp_path / "photo.png", noisy)
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "photo.png"), "-o", str(tmp_path / "out.png")])
    assert result.exit_code == 0, result.stderr
    assert "real" in result.stderr and (tmp_path / "out.png").is_file()
    mse = lambda a, b: float(((a - b) ** 2).mean())  # noqa: E731
    from restore_core.imaging.io import read_image

    assert mse(read_image(tmp_path / "out.png"), clean) < mse(noisy, clean)
