"""A results store whose last line was torn by a crash resumes cleanly: the fragment is cut, the
image is redone on a line of its own, and nothing else is lost."""

from __future__ import annotations

from pathlib import Path

from tests_support import write_crops

from restore_core.bench.plan import BenchPlan
from restore_core.bench.runner import run_plan
from restore_core.bench.store import read_records, read_results


def test_resume_after_a_torn_last_line(tmp_path):
    folder = write_crops(tmp_path / "imgs", "camera", 3, 48, 80, 100, "c")
    plan = BenchPlan.from_specs("identity", "gaussian25", str(folder))
    run = tmp_path / "run"
    whole = run_plan(plan, run)
    results = run / "results.jsonl"
    lines = results.read_bytes().splitlines(keepends=True)
    assert len(lines) == 3
    results.write_bytes(b"".join(lines[:2]) + lines[2][: len(lines[2]) // 2])  # a crash mid-write
    assert len(read_results(run)) == 2
    resumed = run_plan(plan, run, resume=True)
    assert results.read_bytes().endswith(b"\n")
    assert [r["image"] for r in read_results(run)] == ["c0", "c1", "c2"]  # every line whole and readable
    assert len(read_records(run)) == 3
    assert [r["psnr"] for r in resumed.rows()] == [r["psnr"] for r in whole.rows()]


def test_a_store_path_is_a_folder(tmp_path: Path):
    plan = BenchPlan.from_specs("identity", "gaussian25", "skimage", limit=1, crop=32)
    result = run_plan(plan, tmp_path / "r")
    assert result.run_dir == tmp_path / "r" and (tmp_path / "r" / "manifest.json").is_file()
