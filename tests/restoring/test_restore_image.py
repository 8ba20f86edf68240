"""Restoring from Python: `restore_image` gives what `restore run` writes, and refuses what it refuses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from restore_core.cli import cli
from restore_core.errors import UnknownNameError, UsageError
from restore_core.imaging.io import read_image, to_tensor
from restore_core.restoring import build_restorer, plan_outputs, restore_files, restore_image


@pytest.fixture
def noisy_png(tmp_path: Path) -> Path:
    """A 48-px crop of scikit-image's camera with sigma-25 noise, as an 8-bit PNG."""
    import skimage.data

    clean = skimage.data.camera()[100:148, 120:168].astype(np.float64)
    noisy = clean + np.random.default_rng(0).normal(0, 25, clean.shape)
    path = tmp_path / "noisy.png"
    Image.fromarray(noisy.clip(0, 255).round().astype(np.uint8)).save(path)
    return path


def test_restore_image_equals_what_restore_run_writes(noisy_png, tmp_path):
    out = tmp_path / "restored.png"
    result = CliRunner().invoke(cli, ["run", "dncnn", str(noisy_png), "-o", str(out), "--sigma", "25"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    written = read_image(out)
    restored = restore_image("dncnn", read_image(noisy_png), sigma=25)
    assert restored.shape == written.shape == (1, 1, 48, 48) and restored.dtype == torch.float32
    # the PNG holds the restored values rounded to 1/255
    assert (restored - written).abs().max().item() <= 0.5 / 255 + 1e-6
    from_path = restore_image("dncnn", noisy_png, sigma=25)  # a file path reads the same image
    assert torch.equal(from_path, restored)


def test_identity_returns_the_input_clipped():
    image = torch.linspace(-0.5, 1.5, 3 * 16 * 16).reshape(1, 3, 16, 16)
    assert torch.equal(restore_image("identity", image), image.clamp(0, 1))
    built = build_restorer("identity")
    assert torch.equal(restore_image(built, image, sigma=25), image.clamp(0, 1))


def test_a_notebook_image_runs_through_a_network():
    import skimage.data

    photo = to_tensor(skimage.data.astronaut()[:64, :64])
    restored = restore_image("dncnn", photo, sigma=25, backend="eager", tile=0)
    assert restored.shape == photo.shape and 0 <= restored.min() <= restored.max() <= 1


@pytest.mark.parametrize("call,error,needle", [
    (lambda image: restore_image("nosuchrestorer", image), UnknownNameError, "nosuchrestorer"),
    (lambda image: restore_image("srcnn", image, sigma=25), UsageError, "cannot restore"),
    (lambda image: restore_image("identity", image, scale=2), UsageError, "keeps the size"),
    (lambda image: restore_image("identity", (image * 255).to(torch.uint8)), UsageError, "float32"),
    (lambda image: restore_image("identity", image[0]), UsageError, "(N, C, H, W)"),
    (lambda image: restore_image("dncnn,identity", image), UsageError, "one restorer"),
    (lambda image: restore_image("dncnn", image, backend="eager,optimized"), UsageError, "one backend"),
])
def test_bad_requests_are_one_line_errors(call, error, needle):
    with pytest.raises(error) as info:
        call(torch.rand(1, 1, 32, 32))
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_plan_outputs_names_and_refuses_before_writing(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.jpg"):
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / name)
    out = tmp_path / "out"
    assert plan_outputs([folder], out) == [(folder / "a.png", out / "a.png"), (folder / "b.jpg", out / "b.png")]
    assert plan_outputs([folder / "a.png"], tmp_path / "one.png") == [(folder / "a.png", tmp_path / "one.png")]
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "b.png")
    with pytest.raises(UsageError, match="would both be written to"):
        plan_outputs([folder], out)
    with pytest.raises(UsageError, match="is an input"):
        plan_outputs([folder / "a.png"], folder)
    assert not out.exists()


def test_restore_files_reports_each_file_written(noisy_png, tmp_path):
    seen: list[tuple[Path, Path]] = []
    written = restore_files("identity", [noisy_png], tmp_path / "out", degradation="gaussian25", seed=3,
                            on_written=lambda *pair: seen.append(pair))
    assert written == seen == [(noisy_png, tmp_path / "out" / "noisy.png")]
    again = restore_files("identity", [noisy_png], tmp_path / "again", degradation="gaussian25", seed=3)
    # the noise is seeded per image: the same seed gives the same file
    assert (tmp_path / "out" / "noisy.png").read_bytes() == again[0][1].read_bytes()
