"""What each network restorer ran with (backend, precision, memory format) is said and stored."""

from __future__ import annotations

import json

from click.testing import CliRunner

from restore_core.bench.plan import BenchPlan
from restore_core.bench.runner import run_plan
from restore_core.cli import cli


def test_bench_says_and_stores_what_each_network_ran_with(tmp_path):
    result = run_plan(BenchPlan.from_specs("dncnn,identity", "gaussian25", "skimage", backends="eager", limit=1,
                                           crop=32), tmp_path / "run")
    assert list(result.inference) == ["dncnn [eager]"] and result.inference["dncnn [eager]"].startswith("eager fp32")
    restorers = [c for c in json.loads((tmp_path / "run" / "manifest.json").read_text())["components"]
                 if c["kind"] == "restorer"]
    assert [(c["spec"], c["backend"]) for c in restorers] == [("dncnn", "eager"), ("identity", None)]
    assert restorers[0]["inference"].startswith("eager fp32") and "not a network" in restorers[1]["inference"]
    shown = CliRunner().invoke(cli, ["bench", "-r", "dncnn", "-d", "gaussian25", "-b", "eager", "--limit", "1",
                                     "--crop", "32", "--out", str(tmp_path / "cli")])
    assert shown.exit_code == 0 and "ran with: dncnn [eager]: eager fp32" in shown.stderr


def test_run_says_what_the_restorer_runs_with(tmp_path):
    import skimage.data
    from PIL import Image

    Image.fromarray(skimage.data.camera()[:48, :48]).save(tmp_path / "in.png")
    shown = CliRunner().invoke(cli, ["run", "dncnn", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"),
                                     "--sigma", "25", "-b", "eager"])
    assert shown.exit_code == 0, shown.stderr
    assert "dncnn: eager fp32" in shown.stderr
