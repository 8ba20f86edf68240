"""`restore bench report` on tiny runs: per-image tables in Markdown, comparison grids, captions, plots."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from restore_core.bench.samples import detail_region, save_samples
from restore_core.bench.store import latest, read_results
from restore_core.cli import cli
from restore_core.components.interfaces import DENOISING, DegradationInfo, Degraded
from restore_core.imaging.io import to_array
from restore_core.plugins.host import default_host

CROP = 96


def _bench_and_report(out: Path, *args: str) -> Path:
    """Run `restore bench ARGS --out OUT` on the embedded default dataset, then write both reports."""
    result = CliRunner().invoke(cli, ["bench", *args, "--crop", str(CROP), "--out", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = CliRunner().invoke(cli, ["bench", "report", str(out), "--html", "--markdown"])
    assert report.exit_code == 0, report.output
    return out


@pytest.fixture(scope="module")
def denoise_run(tmp_path_factory) -> Path:
    """Two restorers on two images at sigma 25, reported."""
    return _bench_and_report(tmp_path_factory.mktemp("reports") / "denoise",
                             "-r", "dncnn,identity", "-d", "gaussian25", "--limit", "2")


@pytest.fixture(scope="module")
def sr_run(tmp_path_factory) -> Path:
    """SRCNN and bicubic on one image at x3, reported."""
    return _bench_and_report(tmp_path_factory.mktemp("reports") / "sr",
                             "-r", "srcnn,bicubic", "-d", "x3", "--limit", "1")


def _records(run: Path) -> list[dict]:
    return [r for r in latest(read_results(run)) if r["image"] != "*skipped*"]


def _label(record: dict) -> str:
    return record["restorer"] + (f" [{record['backend']}]" if record["backend"] else "")


def _md_tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table as rows of stripped cells, the separator row dropped."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def _md_grids(run: Path) -> list[list[list[str]]]:
    """The comparison grids of report.md: tables whose second row holds images."""
    return [t for t in _md_tables((run / "report.md").read_text()) if len(t) > 1 and t[1][0].startswith("![")]


def _md_image(cell: str, run: Path) -> Path:
    path = Path(re.fullmatch(r"!\[[^\]\[]*\]\(([^)]+)\)", cell).group(1))
    return path if path.is_absolute() else run / path


def _html_grids(run: Path) -> list[list[tuple[str, int, int, bytes, str]]]:
    """The grids of report.html: per tile (name, width, height, PNG bytes, caption)."""
    page = (run / "report.html").read_text()
    grids = []
    for block in re.findall(r"<div class=grid>(.*?)</div>", page, flags=re.S):
        tiles = re.findall(r'<img alt="([^"]*)" width=(\d+) height=(\d+) src="data:image/png;base64,([^"]+)">'
                           r"<figcaption>(.*?)</figcaption>", block)
        grids.append([(name, int(w), int(h), base64.b64decode(data), caption) for name, w, h, data, caption in tiles])
    return grids


def test_markdown_has_per_image_tables_with_the_runs_numbers(denoise_run):
    records = _records(denoise_run)
    assert len(records) == 4  # 2 restorers x 2 images
    markdown = (denoise_run / "report.md").read_text()
    assert "## Per image" in markdown
    tables = [t for t in _md_tables(markdown) if t[0][0] == "image"]
    assert len(tables) == 1
    head, rows = tables[0][0], {row[0]: row for row in tables[0][1:]}
    assert set(rows) == {r["image"] for r in records}
    for r in records:
        row = rows[r["image"]]
        assert row[head.index(f"{_label(r)} psnr")] == f"{r['metrics']['psnr']:.2f}"
        assert row[head.index(f"{_label(r)} ssim")] == f"{r['metrics']['ssim']:.4f}"
        assert row[head.index("psnr in")] == f"{r['input_metrics']['psnr']:.2f}"
        assert row[head.index("ssim in")] == f"{r['input_metrics']['ssim']:.4f}"


@pytest.mark.parametrize("run_name", ["denoise_run", "sr_run"])
def test_grid_tiles_decode_and_are_one_size(run_name, request):
    run: Path = request.getfixturevalue(run_name)
    restorers = {_label(r) for r in _records(run)}
    (grid,) = _md_grids(run)
    assert grid[0][:1] == ["clean"] and len(grid[0]) == 2 + len(restorers)  # clean, degraded, each restorer
    sizes = set()
    for cell in grid[1]:
        with Image.open(_md_image(cell, run)) as img:
            img.load()
            sizes.add(img.size)
    assert len(sizes) == 1
    (size,) = sizes
    (tiles,) = _html_grids(run)
    assert len(tiles) == len(grid[0])
    for _, width, height, png, _ in tiles:  # each drawn at its own size, which is every tile's
        with Image.open(io.BytesIO(png)) as img:
            img.load()
            assert img.size == (width, height) == size
    page = (run / "report.html").read_text()
    assert "flex-wrap:nowrap" in page  # one row of tiles, scrolled sideways when wide


def test_tiles_hold_the_whole_image_and_a_zoomed_detail(denoise_run):
    info = json.loads((denoise_run / "samples" / "skimage" / "gaussian25" / "info.json").read_text())
    y, x, side = info["crop"]
    zoom = info["zoom"]
    clean = default_host().registry("dataset").build("skimage").cropped(CROP).load(0)
    expected = to_array(clean[..., y : y + side, x : x + side]).repeat(zoom, 0).repeat(zoom, 1)
    with Image.open(denoise_run / "samples" / "skimage" / "gaussian25" / "clean.png") as img:
        tile = np.asarray(img)
    n = side * zoom
    assert tile.shape[0] > n + CROP // 2  # the overview sits above the zoom
    found = [(oy, ox) for oy in range(tile.shape[0] - n + 1) for ox in range(tile.shape[1] - n + 1)
             if np.array_equal(tile[oy : oy + n, ox : ox + n], expected)]
    assert found and found[0][0] > 0


def test_detail_region_lands_on_texture():
    image = torch.full((1, 1, 200, 300), 0.5)
    image[..., 120:184, 30:94] = torch.rand(1, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    y, x = detail_region(image, 64)
    assert abs(y - 120) <= 8 and abs(x - 30) <= 8
    assert detail_region(torch.full((1, 3, 100, 100), 0.3), 64) == (18, 18)  # flat: the centre


def test_colour_tiles_stay_small(tmp_path):
    import skimage.data

    clean = torch.from_numpy(skimage.data.astronaut()).permute(2, 0, 1)[None].float() / 255
    noisy = clean + torch.randn(clean.shape, generator=torch.Generator().manual_seed(0)) * 50 / 255
    save_samples(tmp_path, "set", "gaussian50", "astronaut", Degraded(noisy, clean, DegradationInfo(DENOISING, 50)),
                 {"identity": noisy.clamp(0, 1)})
    tiles = list((tmp_path / "set" / "gaussian50").glob("*.png"))
    assert len(tiles) == 3
    for png in tiles:
        assert png.stat().st_size < 64 * 1024, png.name
        with Image.open(png) as img:
            assert max(img.size) < 400


def test_super_resolution_degraded_tile_has_the_bicubic_psnr(sr_run):
    records = _records(sr_run)
    bicubic = next(r for r in records if r["restorer"] == "bicubic")
    upsampled = bicubic["input_metrics"]["psnr"]
    assert upsampled is not None and f"{upsampled:.2f}" == f"{bicubic['metrics']['psnr']:.2f}"
    (grid,) = _md_grids(sr_run)
    column = next(i for i, name in enumerate(grid[0]) if name.startswith("degraded"))
    assert grid[2][column] == f"psnr {upsampled:.2f} (bicubic-upsampled)"
    (tiles,) = _html_grids(sr_run)
    degraded = next(t for t in tiles if t[0].startswith("degraded"))
    assert f"psnr {upsampled:.2f} (bicubic-upsampled)" in degraded[4]
    assert all(re.search(r"psnr \d+\.\d\d", caption) for name, *_, caption in tiles if name != "clean")


@pytest.mark.parametrize("run_name", ["denoise_run", "sr_run"])
def test_quality_speed_plot_decodes(run_name, request):
    pytest.importorskip("matplotlib")
    run: Path = request.getfixturevalue(run_name)
    plot = run / "plot-quality-vs-speed.png"
    with Image.open(plot) as img:
        img.load()
        assert img.size[0] > 300 and img.size[1] > 200
    assert "![plot-quality-vs-speed](plot-quality-vs-speed.png)" in (run / "report.md").read_text()
    assert (run / "report.html").read_text().count('alt="plot-quality-vs-speed"') == 1


def test_older_runs_centre_crops_still_render(denoise_run, tmp_path):
    run = tmp_path / "old"
    shutil.copytree(denoise_run, run, ignore=shutil.ignore_patterns("report.*", "plot-*"))
    folder = run / "samples" / "skimage" / "gaussian25"
    info = json.loads((folder / "info.json").read_text())
    for png in folder.glob("*.png"):  # samples as runs before the overview+zoom tiles saved them
        with Image.open(png) as img:
            img.crop((0, 0, 80, 80)).save(png)
    (folder / "info.json").write_text(json.dumps({"image": info["image"], "crop": [8, 8, 80],
                                                  "restored": info["restored"]}))
    report = CliRunner().invoke(cli, ["bench", "report", str(run), "--html", "--markdown"])
    assert report.exit_code == 0, report.output
    (tiles,) = _html_grids(run)
    assert {(w, h) for _, w, h, _, _ in tiles} == {(120, 120)}  # shown at 1.5x, all alike
    assert "older version" in (run / "report.md").read_text()
    assert len(_md_grids(run)[0][1]) == len(tiles)
