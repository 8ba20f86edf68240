"""A component that raises in the middle of a matrix fails its own cell, named, and nothing else.

The failing restorer comes from a plugin registered as a third-party distribution would be, so the
message can name it with its distribution and version.
"""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from tests_support import write_crops

from restore_core import DENOISING, Metric, Restorer, hookimpl
from restore_core.bench.plan import BenchPlan
from restore_core.bench.runner import run_plan
from restore_core.bench.store import read_records
from restore_core.cli import cli
from restore_core.errors import ComponentError
from restore_core.plugins.host import PluginHost

FAIL_ON = {"image": "p1"}  # the image the exploding restorer fails on; a test may clear it


class Exploding(Restorer):
    """Returns its input, except on one image, where it raises (a plugin's bug)."""

    name = "exploding"
    description = "identity that raises on one image (test plugin)"
    tasks = frozenset({DENOISING})

    def restore(self, degraded: torch.Tensor, info) -> torch.Tensor:
        """Return the input clipped, or raise on the marked image."""
        # the runner restores each image once untimed (the first) and then timed, always in order
        if FAIL_ON["image"] and float(degraded.mean()) == pytest.approx(FAIL_ON.get("mean", -1.0)):
            raise ValueError("boom in the plugin")
        return degraded.clamp(0, 1)


class Negative(Metric):
    """A metric that raises on every image."""

    name = "negative"
    description = "a metric that always raises (test plugin)"
    higher_is_better = False

    def measure(self, restored: torch.Tensor, target: torch.Tensor, info) -> torch.Tensor:
        """Raise."""
        raise RuntimeError("metric bug")


@pytest.fixture
def extra_host() -> PluginHost:
    host = PluginHost(strict=True)
    host.load_entry_points()
    plugin = types.SimpleNamespace(register_restorers=hookimpl(lambda register: register(Exploding)),
                                   register_metrics=hookimpl(lambda register: register(Negative)))
    host.add_plugin(plugin, "extra", distribution=("restore-plugin-extra", "0.1.0"))
    return host


@pytest.fixture
def folder(tmp_path) -> Path:
    return write_crops(tmp_path / "imgs", "astronaut", 3, 64, 50, 100, "p")


def _arm(folder: Path, image: str = "p1", sigma: float = 25) -> None:
    """Make `exploding` raise on `image` under gaussian`sigma` (the noisy image's mean identifies it)."""
    plan = BenchPlan.from_specs("identity", f"gaussian{sigma:g}", str(folder))
    built = plan.build()
    from restore_core.data.seeding import image_generator

    index = [r.image_id for r in built.datasets[0].records].index(image)
    deg = built.degradations[0].component
    noisy = deg.degrade(built.datasets[0].load(index), [image_generator(0, image, deg.spec())]).image
    FAIL_ON.update(image=image, mean=float(noisy.mean()))


def test_a_failing_restorer_fails_its_cell_and_the_rest_of_the_matrix_runs(extra_host, folder, tmp_path):
    _arm(folder)
    run = tmp_path / "run"
    args = ["bench", "-r", "identity,exploding,nlm", "-d", "gaussian25,gaussian15", "--dataset", str(folder),
            "--out", str(run), "--format", "json"]
    result = CliRunner().invoke(cli, args, obj=extra_host)
    assert result.exit_code == 1, result.stderr
    rows = {(r["restorer"], r["degradation"]): r for r in json.loads(result.stdout)}
    # every other cell has all its images
    for key, row in rows.items():
        if key != ("exploding", "gaussian25"):
            assert row["images"] == 3 and "failed" not in row, key
    failed = rows[("exploding", "gaussian25")]
    assert failed["images"] == 1  # p0 measured, p1 raised, p2 never tried
    reason = failed["failed"]
    assert reason.startswith("restorer 'exploding' (restore-plugin-extra 0.1.0) failed on ")
    assert "/p1 x gaussian25: ValueError: boom in the plugin" in reason
    assert "1 cell failed" in result.stderr and "exploding" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("restore: error:") == 1
    # the store says so, with an explicit kind; the report lists it
    kinds = [r.kind for r in read_records(run) if r.cell.restorer == "exploding" and r.cell.degradation == "gaussian25"]
    assert kinds == ["image", "failed"]
    report = CliRunner().invoke(cli, ["bench", "report", str(run), "--markdown"], obj=extra_host)
    assert report.exit_code == 0, report.stderr
    assert "failed exploding x gaussian25" in (run / "report.md").read_text()
    # --resume retries the failed cell from the image that failed, and keeps everything else
    FAIL_ON["image"] = ""
    again = CliRunner().invoke(cli, [*args, "--resume"], obj=extra_host)
    assert again.exit_code == 0, again.stderr
    fixed = {(r["restorer"], r["degradation"]): r for r in json.loads(again.stdout)}
    assert fixed[("exploding", "gaussian25")]["images"] == 3 and "failed" not in fixed[("exploding", "gaussian25")]
    for key, row in rows.items():
        if key != ("exploding", "gaussian25"):
            assert fixed[key]["psnr"] == row["psnr"], key


def test_fail_fast_stops_at_the_first_failure(extra_host, folder):
    _arm(folder)
    plan = BenchPlan.from_specs("identity,exploding", "gaussian25", str(folder))
    with pytest.raises(ComponentError, match=r"restorer 'exploding' \(restore-plugin-extra 0.1.0\) failed"):
        run_plan(plan, host=extra_host, fail_fast=True)
    result = CliRunner().invoke(cli, ["bench", "-r", "identity,exploding", "-d", "gaussian25", "--dataset",
                                      str(folder), "--fail-fast"], obj=extra_host)
    assert result.exit_code == 1 and "boom in the plugin" in result.stderr


def test_a_failing_metric_is_named_and_fails_the_cells_it_scores(extra_host, folder):
    FAIL_ON["image"] = ""
    plan = BenchPlan.from_specs("identity,nlm", "gaussian25", str(folder), metrics="psnr,negative")
    result = run_plan(plan, host=extra_host)
    assert [c.restorer for c in result.failed] == ["identity", "nlm"]
    assert all(c.failed.startswith("metric 'negative' (restore-plugin-extra 0.1.0) failed on ") for c in result.failed)
    assert all(c.failed.endswith("RuntimeError: metric bug") for c in result.failed)


def test_records_are_typed_and_read_older_stores(folder):
    from restore_core.bench.records import CellKey, Record

    plan = BenchPlan.from_specs("identity,bicubic", "gaussian25", str(folder))
    result = run_plan(plan)
    kinds = {(r.cell.restorer, r.kind) for r in result.records}
    assert kinds == {("identity", "image"), ("bicubic", "skipped")}
    skipped = next(r for r in result.records if r.kind == "skipped")
    assert skipped.image is None and "super-resolution" in (skipped.reason or "")
    assert Record.from_json(skipped.to_json()) == skipped
    legacy = {"restorer": "bicubic", "backend": None, "degradation": "gaussian25", "dataset": "d",
              "image": "*skipped*", "skipped": "why"}
    assert Record.from_json(legacy) == Record(CellKey("bicubic", None, "gaussian25", "d"), "skipped", None,
                                              reason="why")
