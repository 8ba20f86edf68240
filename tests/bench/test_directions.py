"""A metric's direction is part of the result: gains, best values, comparisons and reports follow it,
from the manifest, even where the metric's plugin is no longer installed."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from tests_support import write_crops

from restore_core import Metric, hookimpl
from restore_core.bench.compare import compare, compare_rows
from restore_core.bench.plan import BenchPlan
from restore_core.bench.runner import run_plan
from restore_core.bench.store import load_run
from restore_core.cli import cli
from restore_core.plugins.host import PluginHost


class MeanSquaredError(Metric):
    """Mean squared error on [0, 1]: lower is better."""

    name = "mse"
    description = "mean squared error (test plugin)"
    higher_is_better = False

    def measure(self, restored: torch.Tensor, target: torch.Tensor, info) -> torch.Tensor:
        """Return one MSE per image."""
        return ((restored.double() - target.double()) ** 2).flatten(1).mean(1)


@pytest.fixture
def mse_host() -> PluginHost:
    host = PluginHost(strict=True)
    host.load_entry_points()
    host.add_plugin(types.SimpleNamespace(register_metrics=hookimpl(lambda register: register(MeanSquaredError))),
                    "mse", distribution=("restore-plugin-mse", "0.2.0"))
    return host


@pytest.fixture
def folder(tmp_path) -> Path:
    return write_crops(tmp_path / "imgs", "astronaut", 2, 64, 60, 200, "q")


def test_a_lower_is_better_gain_is_an_improvement(mse_host, folder, tmp_path):
    plan = BenchPlan.from_specs("nlm,identity", "gaussian25", str(folder), metrics="psnr,mse")
    result = run_plan(plan, tmp_path / "a", host=mse_host)
    rows = {r["restorer"]: r for r in result.rows()}
    nlm = rows["nlm"]
    assert nlm["mse"] < nlm["mse_input"]  # the denoiser lowers the error ...
    assert nlm["mse_gain"] == pytest.approx(nlm["mse_input"] - nlm["mse"], abs=1e-4)
    assert nlm["mse_gain"] > 0  # ... which is a gain
    assert nlm["psnr_gain"] > 0
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["metrics"]["mse"] == {"higher_is_better": False}
    assert {"kind": "metric", "spec": "mse", "origin": "restore-plugin-mse 0.2.0", "higher_is_better": False} \
        in manifest["components"]
    # the best mse is the lowest, and the table says which metric goes down
    table = CliRunner().invoke(cli, ["bench", "-r", "nlm,identity", "-d", "gaussian25", "--dataset", str(folder),
                                     "-m", "psnr,mse"], obj=mse_host)
    assert table.exit_code == 0, table.stderr
    assert "input minus output for mse, where lower is better" in " ".join(table.stdout.split())


def test_compare_and_reports_read_the_direction_from_the_manifest(mse_host, folder, tmp_path):
    run_plan(BenchPlan.from_specs("nlm", "gaussian25", str(folder), metrics="mse"), tmp_path / "a", host=mse_host)
    run_plan(BenchPlan.from_specs("nlm", "gaussian50", str(folder), metrics="mse"), tmp_path / "b", host=mse_host)
    # run b under stronger noise has a larger error; the default host here has no `mse` plugin at all
    assert load_run(tmp_path / "b").directions == {"mse": False}
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    manifest["matrix"]["degradations"] = ["gaussian25"]  # pair b's cell with a's to compare them
    text = (tmp_path / "b" / "results.jsonl").read_text().replace('"gaussian50"', '"gaussian25"')
    (tmp_path / "b" / "results.jsonl").write_text(text)
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(manifest))
    row = compare_rows(compare(tmp_path / "a", tmp_path / "b"))[0]
    assert row["mse_b"] > row["mse_a"] and row["mse_gain"] == pytest.approx(row["mse_a"] - row["mse_b"])
    assert row["mse_gain"] < 0  # b is worse: a negative gain although its mse is larger
    report = CliRunner().invoke(cli, ["bench", "report", str(tmp_path / "a"), "--markdown"])
    assert report.exit_code == 0, report.stderr
    assert "input minus output for mse" in (tmp_path / "a" / "report.md").read_text()
