"""Region-selective restoration: untouched outside (bit for bit, in files too), no seam at either
edge of the feather, work proportional to the region, and bad masks refused before any work."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import ClassVar

import numpy as np
import png
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from restore_core import DENOISING, DegradationInfo, Restorer
from restore_core.cli import cli
from restore_core.errors import UsageError
from restore_core.imaging.io import read_image, to_tensor
from restore_core.imaging.regions import Box, bounding_box, feather_weights, parse_region, region_mask
from restore_core.restoring import restore_files, restore_image


class CountingRestorer(Restorer):
    """Darkens what it is given and counts the calls and pixels, to measure the work a region costs."""

    name = "counting"
    tasks = frozenset({DENOISING})
    receptive_radius: ClassVar[int] = 4

    def __init__(self) -> None:
        self.calls = 0
        self.pixels = 0

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Return half the input, counting."""
        self.calls += 1
        self.pixels += degraded.shape[0] * degraded.shape[-2] * degraded.shape[-1]
        return (degraded * 0.5).clamp(0, 1)


def noisy_photo(top: int = 100, left: int = 100, size: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """A crop of scikit-image's astronaut and the same with unclipped sigma-25 noise."""
    import skimage.data

    clean = to_tensor(skimage.data.astronaut()[top : top + size, left : left + size])
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(0)) * 25 / 255
    return clean, clean + noise


def disc(size: int = 128, radius: int = 40) -> torch.Tensor:
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return (rows - size // 2) ** 2 + (cols - size // 2) ** 2 < radius**2


def test_feather_weights_fall_from_one_to_zero_outside_the_mask() -> None:
    mask = torch.zeros(20, 30, dtype=torch.bool)
    mask[5:10, 8:20] = True
    w = feather_weights(mask, 4)
    assert torch.equal(w[mask], torch.ones(int(mask.sum())))
    row = w[7, 20:26].tolist()  # 1 to 5 pixels right of the mask
    assert all(a > b for a, b in itertools.pairwise(row[:4])) and row[4] == 0 and row[5] == 0
    assert row[0] == pytest.approx((1 + np.cos(np.pi / 5)) / 2)
    assert bounding_box(w > 0) == Box(1, 4, 14, 24)
    assert torch.equal(feather_weights(mask, 0), mask.float())


def test_outside_the_mask_and_feather_the_result_is_the_input_bit_for_bit() -> None:
    _, noisy = noisy_photo()
    mask = disc()
    out = restore_image("dncnn", noisy, sigma=25, mask=mask, feather=6, tile=0)
    untouched = feather_weights(mask, 6) == 0
    assert torch.equal(out[..., untouched], noisy[..., untouched])  # unclipped noise included
    assert not torch.equal(out[..., mask], noisy[..., mask])


def test_the_region_is_what_restoring_the_whole_image_gives_there() -> None:
    _, noisy = noisy_photo()
    whole = restore_image("dncnn", noisy, sigma=25, tile=0)
    part = restore_image("dncnn", noisy, sigma=25, region=(30, 40, 50, 20), feather=4, tile=0)
    # the crop carries dncnn's receptive radius of context, so the region sees what it sees in the whole
    assert (part - whole)[..., 40:60, 30:80].abs().max().item() < 1e-5


@pytest.mark.parametrize("bits", [8, 16])
def test_written_files_keep_the_untouched_pixels(tmp_path: Path, bits: int) -> None:
    _, noisy = noisy_photo(size=64)
    top = 255 if bits == 8 else 65535
    data = (noisy.clamp(0, 1)[0].permute(1, 2, 0).numpy() * top).round().astype(np.uint8 if bits == 8 else np.uint16)
    source = tmp_path / "in.png"
    png.Writer(64, 64, greyscale=False, bitdepth=bits).write(source.open("wb"), data.reshape(64, -1).tolist())
    restore_files("dncnn", [source], tmp_path / "out.png", sigma=25, region="10,12,20,16", feather=3, tile=0)
    width, height, rows, info = png.Reader(filename=str(tmp_path / "out.png")).asDirect()
    written = np.vstack([np.asarray(r) for r in rows]).reshape(height, width, 3)
    assert info["bitdepth"] == bits
    untouched = (feather_weights(region_mask((10, 12, 20, 16), 64, 64), 3) == 0).numpy()
    assert np.array_equal(written[untouched], data[untouched])
    assert not np.array_equal(written[12:28, 10:30], data[12:28, 10:30])


def across(image: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
    """Absolute differences of the neighbour pairs (horizontal and vertical) with one pixel inside and one out."""
    dx, dy = (image[..., :, 1:] - image[..., :, :-1]).abs(), (image[..., 1:, :] - image[..., :-1, :]).abs()
    return torch.cat([dx[..., inside[:, 1:] != inside[:, :-1]].flatten(),
                      dy[..., inside[1:, :] != inside[:-1, :]].flatten()])


@pytest.mark.parametrize("top,left", [(100, 100), (0, 300), (380, 380)])
def test_no_seam_at_either_edge_of_the_feather(top: int, left: int) -> None:
    _, noisy = noisy_photo(top, left)
    mask = disc()
    whole = restore_image("dncnn", noisy, sigma=25, tile=0)
    feathered = restore_image("dncnn", noisy, sigma=25, mask=mask, feather=8, tile=0)
    pasted = restore_image("dncnn", noisy, sigma=25, mask=mask, feather=0, tile=0)
    # across the mask's edge the result changes no more than the restored image itself does there
    # (content differs from crop to crop, so the restored image at the same pairs is the reference)
    reference = across(whole, mask).mean()
    assert across(feathered, mask).mean() <= 1.1 * reference
    assert across(pasted, mask).mean() > 2 * reference  # a hard paste shows the noisy/clean step
    # and across the feather's outer edge no more than the untouched input does there
    outer = feather_weights(mask, 8) > 0
    assert across(feathered, outer).mean() <= 1.1 * across(noisy, outer).mean()


@pytest.mark.parametrize("region,feather", [((20, 30, 16, 16), 4), ((20, 30, 32, 32), 4), ((50, 50, 10, 40), 2)])
def test_work_is_the_regions_box_plus_feather_and_context(region: tuple[int, int, int, int], feather: int) -> None:
    counting = CountingRestorer()
    image = torch.rand(1, 3, 200, 160)
    restore_image(counting, image, sigma=25, region=region, feather=feather)
    _, _, w, h = region
    reach = feather + CountingRestorer.receptive_radius
    assert counting.calls == 1
    assert counting.pixels == (w + 2 * reach) * (h + 2 * reach)
    assert counting.pixels < 200 * 160 / 5


def test_work_is_clipped_at_the_image_corner() -> None:
    counting = CountingRestorer()
    out = restore_image(counting, torch.rand(1, 1, 64, 64), sigma=25, region="0,0,10,10", feather=2)
    assert counting.pixels == (10 + 6) ** 2 and out.shape == (1, 1, 64, 64)


def test_a_mask_file_is_thresholded_at_half(tmp_path: Path) -> None:
    counting = CountingRestorer()
    mask = np.zeros((32, 48), np.uint8)
    mask[8:12, 10:20] = 200
    mask[20:24, 30:40] = 100  # below half: not selected
    Image.fromarray(mask).save(tmp_path / "mask.png")
    image = torch.rand(1, 1, 32, 48)
    out = restore_image(counting, image, sigma=25, mask=tmp_path / "mask.png", feather=0)
    changed = out != image
    assert changed[..., 8:12, 10:20].all() and int(changed.sum()) == 40


@pytest.mark.parametrize("kwargs,needle", [
    ({"mask": np.zeros((32, 48), bool)}, "selects no pixel"),
    ({"mask": np.ones((30, 48), bool)}, "48x30 but the image is 48x32"),
    ({"region": (40, 0, 10, 10)}, "reaches outside the 48x32 image"),
    ({"region": (0, 0, 0, 10)}, "is empty"),
    ({"region": "1,2,3"}, "X,Y,W,H"),
    ({"region": (0, 0, 4, 4), "mask": np.ones((32, 48), bool)}, "not both"),
    ({"region": (0, 0, 4, 4), "feather": -1}, "feather"),
    ({"region": (0, 0, 4, 4), "sigma": None, "scale": 2}, "super-resolution"),
])
def test_bad_regions_are_refused_before_any_work(kwargs: dict, needle: str) -> None:
    counting = CountingRestorer()
    with pytest.raises(UsageError, match=needle):
        restore_image(counting, torch.rand(1, 1, 32, 48), **{"sigma": 25, **kwargs})
    assert counting.calls == 0


def test_parse_region() -> None:
    assert parse_region(" 1, 2,30,40 ") == (1, 2, 30, 40)
    with pytest.raises(UsageError):
        parse_region("1,2,-3,4")


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    from restore_core.imaging.io import write_png

    write_png(tmp_path / "photo.png", noisy_photo(size=64)[1])
    return tmp_path / "photo.png"


@pytest.mark.parametrize("extra,needle", [
    (["--mask", "wrong.png"], "wrong.png is 40x30 but the image is 64x64"),
    (["--mask", "empty.png"], "selects no pixel"),
    (["--region", "60,0,10,10"], "reaches outside the 64x64 image"),
])
def test_restore_run_refuses_bad_masks_in_one_line(photo: Path, extra: list[str], needle: str) -> None:
    folder = photo.parent
    Image.fromarray(np.full((30, 40), 255, np.uint8)).save(folder / "wrong.png")
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(folder / "empty.png")
    extra = [str(folder / e) if e.endswith(".png") else e for e in extra]
    result = CliRunner().invoke(cli, ["run", "dncnn", str(photo), "-o", str(folder / "out.png"), "--sigma", "25",
                                      *extra])
    assert result.exit_code == 2
    assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (folder / "out.png").exists()


def test_restore_run_with_a_mask(photo: Path) -> None:
    folder = photo.parent
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 16:48] = 255
    Image.fromarray(mask).save(folder / "mask.png")
    result = CliRunner().invoke(cli, ["run", "dncnn", str(photo), "-o", str(folder / "out.png"), "--sigma", "25",
                                      "--mask", str(folder / "mask.png"), "--feather", "4"])
    assert result.exit_code == 0, result.stderr
    before, after = read_image(photo), read_image(folder / "out.png")
    untouched = feather_weights(torch.from_numpy(mask > 127), 4) == 0
    assert torch.equal(after[..., untouched], before[..., untouched])
    assert (after - before)[..., 16:48, 16:48].abs().mean() > 0.02
