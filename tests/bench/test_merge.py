"""Shards of one plan merge into the run a whole run would have made; runs of other plans do not."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from restore_core.bench.plan import BenchPlan
from restore_core.bench.runner import run_plan
from restore_core.bench.store import load_run
from restore_core.cli import cli
from restore_core.errors import StoreError, UsageError


def _scores(run):
    return {(k.restorer, k.degradation): (c.images, round(c.mean("psnr"), 6)) for k, c in load_run(run).cells.items()
            if not c.skipped}


def test_shards_merge_into_the_whole_run(tmp_path):
    plan = BenchPlan.from_specs("nlm,identity", "gaussian25", "skimage", limit=5, crop=40)
    whole = run_plan(plan, tmp_path / "whole")
    for i in range(3):
        run_plan(plan.with_options(shard=(i, 3)), tmp_path / f"s{i}")
    assert json.loads((tmp_path / "s1" / "manifest.json").read_text())["matrix"]["shard"] == [1, 3]
    result = CliRunner().invoke(cli, ["bench", "merge", *(str(tmp_path / f"s{i}") for i in range(3)),
                                      "-o", str(tmp_path / "merged")])
    assert result.exit_code == 0, result.stderr
    assert _scores(tmp_path / "merged") == _scores(whole.run_dir)
    manifest = json.loads((tmp_path / "merged" / "manifest.json").read_text())
    assert "shard" not in manifest["matrix"] and len(manifest["merged_from"]) == 3
    assert list((tmp_path / "merged" / "samples").rglob("info.json"))  # shard 0 drew them
    assert not list((tmp_path / "s1" / "samples").rglob("info.json"))  # other shards do not


def test_runs_of_other_plans_do_not_merge(tmp_path):
    run_plan(BenchPlan.from_specs("identity", "gaussian25", "skimage", limit=1, crop=32), tmp_path / "a")
    run_plan(BenchPlan.from_specs("identity", "gaussian15", "skimage", limit=1, crop=32), tmp_path / "b")
    from restore_core.bench.merge import merge_runs

    with pytest.raises(StoreError, match="differ in degradations"):
        merge_runs([tmp_path / "a", tmp_path / "b"], tmp_path / "m")
    with pytest.raises(UsageError, match="I < N"):
        BenchPlan.from_specs("identity", "gaussian25", shard=(3, 3))
    result = CliRunner().invoke(cli, ["bench", "-r", "identity", "-d", "gaussian25", "--shard", "two"])
    assert result.exit_code == 2 and "--shard is I/N" in result.stderr
