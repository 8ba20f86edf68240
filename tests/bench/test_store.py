"""The results store, resume, kill -9 safety, locking, compare, reports and suites."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import types
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from tests_support import write_crops

from restore_core import DENOISING, Restorer, hookimpl
from restore_core.bench.store import RunStore, StoreError, read_results
from restore_core.bench.suites import load_suite
from restore_core.cli import cli
from restore_core.errors import UsageError
from restore_core.plugins.host import PluginHost

ROOT = Path(__file__).resolve().parents[2]
CALLS: list[str] = []


class CountingBlur(Restorer):
    """A 3x3 box blur that counts its calls, so tests can see whether work was done."""

    name = "counting-blur"
    tasks = frozenset({DENOISING})

    def restore(self, degraded, info):
        import torch.nn.functional as F

        CALLS.append("restore")
        x = F.pad(degraded.clamp(0, 1), (1, 1, 1, 1), mode="replicate")
        return F.avg_pool2d(x, 3, stride=1)


@pytest.fixture
def counted_host() -> PluginHost:
    host = PluginHost(strict=True)
    host.load_entry_points()
    host.add_plugin(types.SimpleNamespace(register_restorers=hookimpl(lambda register: register(CountingBlur))),
                    "counting")
    CALLS.clear()
    return host


@pytest.fixture
def folder(tmp_path) -> Path:
    return write_crops(tmp_path / "imgs", "astronaut", 6, 128, 40, 100, "p")


def bench(host, *args: str):
    return CliRunner().invoke(cli, ["bench", *args], obj=host, catch_exceptions=False)


def _numbers(rows: list[dict]) -> list[tuple]:
    return [(r["restorer"], r["degradation"], r["images"], r["psnr"], r["ssim"], r["psnr_input"]) for r in rows]


def test_store_holds_manifest_and_one_line_per_image(counted_host, folder, tmp_path):
    run = tmp_path / "run"
    result = bench(counted_host, "-r", "counting-blur,identity", "-d", "gaussian25,gaussian50", "--dataset",
                   str(folder), "--out", str(run), "--format", "json")
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["matrix"]["degradations"] == ["gaussian25", "gaussian50"]
    env = manifest["environment"]
    assert env["torch_threads"] >= 1 and env["restore"]
    assert env["cpu"] and env["cpu_count"] >= 1 and env["memory_gib"] > 0 and "cuda" in env
    assert isinstance(env["cpu_extensions"], list)
    if Path("/proc/cpuinfo").is_file():  # Linux: the model name, not just the architecture
        assert env["cpu"] != env["machine"]
    assert any(p["name"] == "counting" for p in manifest["plugins"])
    records = read_results(run)
    assert len(records) == 2 * 2 * 6
    assert {r["image"] for r in records} == {f"p{i}" for i in range(6)}
    assert all(set(r["metrics"]) == {"psnr", "ssim"} and r["seconds"] >= 0 for r in records)
    assert (run / "samples").is_dir() and list((run / "samples").rglob("info.json"))


def test_resume_of_a_finished_run_does_no_work(counted_host, folder, tmp_path):
    run = tmp_path / "run"
    args = ["-r", "counting-blur", "-d", "gaussian25", "--dataset", str(folder), "--out", str(run),
            "--format", "json"]
    first = bench(counted_host, *args)
    calls = len(CALLS)
    assert calls == 6 + 1 + 0  # six images and one warm-up
    again = bench(counted_host, *args, "--resume")
    assert again.exit_code == 0 and len(CALLS) == calls
    assert _numbers(json.loads(again.stdout)) == _numbers(json.loads(first.stdout))
    assert len(read_results(run)) == 6


def test_resume_after_partial_run_redoes_only_the_rest(counted_host, folder, tmp_path):
    run = tmp_path / "run"
    args = ["-r", "counting-blur", "-d", "gaussian25", "--dataset", str(folder), "--format", "json"]
    whole = json.loads(bench(counted_host, *args, "--out", str(tmp_path / "whole")).stdout)
    lines = (tmp_path / "whole" / "results.jsonl").read_text().splitlines(keepends=True)
    shutil.copytree(tmp_path / "whole" / "samples", run / "samples")  # written after the first image
    (run / "manifest.json").write_text((tmp_path / "whole" / "manifest.json").read_text())
    (run / "results.jsonl").write_text("".join(lines[:2]) + lines[2][: len(lines[2]) // 2])  # torn third line
    CALLS.clear()
    resumed = bench(counted_host, *args, "--out", str(run), "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    assert len(CALLS) == 4 + 1  # images 3..6 and a warm-up
    assert _numbers(json.loads(resumed.stdout)) == _numbers(whole)


def test_existing_run_needs_resume_and_same_matrix(counted_host, folder, tmp_path):
    run = tmp_path / "run"
    bench(counted_host, "-r", "identity", "-d", "gaussian25", "--dataset", str(folder), "--out", str(run))
    again = bench(counted_host, "-r", "identity", "-d", "gaussian25", "--dataset", str(folder), "--out", str(run))
    assert again.exit_code == 2 and "--resume" in again.stderr
    other = bench(counted_host, "-r", "identity", "-d", "gaussian15", "--dataset", str(folder), "--out", str(run),
                  "--resume")
    assert other.exit_code == 1 and "different matrix" in other.stderr
    assert bench(counted_host, "-r", "identity", "-d", "gaussian25", "--resume").exit_code == 2


def test_two_writers_cannot_share_a_store(tmp_path):
    manifest = {"matrix": {"a": 1}}
    with RunStore.create(tmp_path / "run", manifest, resume=False), \
            pytest.raises(StoreError, match="being written by pid"):
        RunStore.create(tmp_path / "run", manifest, resume=True)
    with RunStore.create(tmp_path / "run", manifest, resume=True) as store:  # released on close
        store.append({"x": 1})


def test_kill_9_mid_run_then_resume_gives_the_uninterrupted_numbers(folder, tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    import skimage.data

    image = skimage.data.astronaut()
    for i in range(10):
        Image.fromarray(np.roll(image, 37 * i, axis=1)[:256, :256]).save(big / f"b{i}.png")
    args = [sys.executable, "-m", "restore_core", "bench", "-r", "nlm,identity", "-d", "gaussian25", "--dataset",
            str(big), "--format", "json"]
    env = {**os.environ, "RESTORE_RUNS": str(tmp_path / "runs")}
    killed = tmp_path / "killed"
    proc = subprocess.Popen([*args, "--out", str(killed)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        results = killed / "results.jsonl"
        if results.is_file() and len(results.read_bytes().splitlines()) >= 5:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = read_results(killed)
    assert 5 <= len(partial) < 20, "the run must be killed part-way"
    resumed = subprocess.run([*args, "--out", str(killed), "--resume"], env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    whole = subprocess.run([*args, "--out", str(tmp_path / "whole")], env=env, capture_output=True, text=True)
    assert _numbers(json.loads(resumed.stdout)) == _numbers(json.loads(whole.stdout))
    assert len(read_results(killed)) == 20


def test_compare_prints_per_cell_differences(counted_host, folder, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    args = ["-r", "identity,counting-blur,bicubic", "-d", "gaussian25", "--dataset", str(folder), "--limit", "3"]
    bench(counted_host, *args, "--out", str(a))
    bench(counted_host, *args, "--out", str(b), "--seed", "1")
    result = CliRunner().invoke(cli, ["bench", "compare", str(a), str(b), "--format", "json"], obj=counted_host)
    rows = json.loads(result.stdout)
    assert [r["restorer"] for r in rows] == ["identity", "counting-blur", "bicubic"]
    assert all(r["psnr_a"] != r["psnr_b"] for r in rows[:2])  # another seed, other noise
    table = CliRunner().invoke(cli, ["bench", "compare", str(a), str(b)], obj=counted_host)
    assert table.exit_code == 0 and "counting-blur" in table.stdout
    header = table.stdout.split("┡")[0]
    assert "psnr" in header and "ssim" in header and "gain" in header
    # only metrics get A / B / gain columns: not the image counts, not the timing
    assert "seconds" not in header and header.count("gain") == 2
    blur = next(line for line in table.stdout.splitlines() if "counting-blur" in line)
    row = next(r for r in rows if r["restorer"] == "counting-blur")
    assert f"{row['psnr_a']:.2f}" in blur and f"{row['psnr_b'] - row['psnr_a']:+.3f}" in blur and "3/3" in blur
    # a cell skipped in both runs is no row of zeros: it is named below the table with its reason
    assert not any("bicubic" in line and "│" in line for line in table.stdout.splitlines())
    assert "skipped in A and B: bicubic x gaussian25" in table.stdout and "super-resolution" in table.stdout
    missing = CliRunner().invoke(cli, ["bench", "compare", str(a), str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "not a benchmark run" in missing.stderr


def test_compare_marks_a_cell_skipped_in_one_run_only(counted_host, folder, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    args = ["-r", "identity,counting-blur", "-d", "gaussian25", "--dataset", str(folder), "--limit", "2"]
    bench(counted_host, *args, "--out", str(a))
    bench(counted_host, *args, "--out", str(b))
    kept = [line for line in (b / "results.jsonl").read_text().splitlines() if '"counting-blur"' not in line]
    skipped = {"restorer": "counting-blur", "backend": None, "degradation": "gaussian25", "dataset": str(folder),
               "image": "*skipped*", "skipped": "no weights here"}
    (b / "results.jsonl").write_text("\n".join([*kept, json.dumps(skipped)]) + "\n")
    table = CliRunner().invoke(cli, ["bench", "compare", str(a), str(b)], obj=counted_host)
    blur = next(line for line in table.stdout.splitlines() if "counting-blur" in line and "│" in line)
    assert "2/skipped" in blur and blur.count("skipped") == 3  # images, psnr B, ssim B
    assert "skipped in B: counting-blur x gaussian25" in table.stdout and "no weights here" in table.stdout


def test_report_has_tables_grids_and_plots(counted_host, folder, tmp_path):
    run = tmp_path / "run"
    result = bench(counted_host, "-r", "counting-blur,identity", "-d", "gaussian15,gaussian50", "--dataset",
                   str(folder), "--out", str(run), "--format", "json")
    rows = json.loads(result.stdout)
    report = CliRunner().invoke(cli, ["bench", "report", str(run), "--html", "--markdown"], obj=counted_host)
    assert report.exit_code == 0, report.stderr
    page = (run / "report.html").read_text()
    blur15 = next(r for r in rows if r["restorer"] == "counting-blur" and r["degradation"] == "gaussian15")
    assert f"{blur15['psnr']:.2f}" in page and "p0" in page and page.count("data:image/png;base64,") >= 6
    markdown = (run / "report.md").read_text()
    assert f"{blur15['psnr']:.2f}" in markdown
    for png in [run / "plot-quality-vs-sigma.png", run / "plot-quality-vs-speed.png",
                *(run / "samples").rglob("*.png")]:
        with Image.open(png) as img:
            img.load()
            assert img.size[0] > 10


def test_suite_file_drives_the_matrix(counted_host, folder, tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text(f'name = "t"\nrestorers = ["identity"]\ndegradations = ["gaussian25", "gaussian50"]\n'
                     f'datasets = ["{folder}"]\nseed = 3\n')
    result = bench(counted_host, "--suite", str(suite), "--format", "json", "--out", str(tmp_path / "r"))
    rows = json.loads(result.stdout)
    assert [r["degradation"] for r in rows] == ["gaussian25", "gaussian50"]
    override = bench(counted_host, "--suite", str(suite), "-d", "gaussian15", "--format", "json",
                     "--out", str(tmp_path / "r2"))
    assert [r["degradation"] for r in json.loads(override.stdout)] == ["gaussian15"]
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["matrix"]["seed"] == 3


@pytest.mark.parametrize("text,needle", [("restorers = [", "not valid TOML"), ("bogus = 1", "unknown key"),
                                         ('restorers = ["a"]\ndegradations = ["b"]', "datasets must name"),
                                         ('restorers = [1]', "list of strings")])
def test_bad_suites_are_clear(tmp_path, text, needle):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=needle):
        load_suite(path)


@pytest.mark.parametrize("name", ["denoise-gray", "denoise-color", "sr"])
def test_shipped_suites_load(name):
    suite = load_suite(ROOT / "benchmarks" / f"{name}.toml")
    assert suite.restorers and suite.degradations and suite.datasets


def test_parallel_jobs_give_the_serial_numbers(folder, tmp_path, monkeypatch):
    args = ["bench", "-r", "nlm,identity", "-d", "gaussian15,gaussian25", "--dataset", str(folder), "--limit", "3",
            "--format", "json"]
    serial = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "s")], catch_exceptions=False)
    appended: list[tuple[float, dict]] = []
    original = RunStore.append

    def timed_append(self, record):
        appended.append((time.monotonic(), record.to_json() if hasattr(record, "to_json") else record))
        original(self, record)

    monkeypatch.setattr(RunStore, "append", timed_append)
    parallel = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "p"), "--jobs", "2"], catch_exceptions=False)
    assert parallel.exit_code == 0, parallel.stderr
    # each image reaches the store as its worker measures it, not when its whole cell is done: the
    # stores of a cell's images lie as far apart as the restoring between them took
    nlm = [(t, r) for t, r in appended if r["restorer"] == "nlm" and r["degradation"] == "gaussian25"]
    assert len(nlm) == 3
    assert nlm[-1][0] - nlm[0][0] >= 0.5 * sum(r["seconds"] for _, r in nlm[1:]) > 0
    assert _numbers(json.loads(parallel.stdout)) == _numbers(json.loads(serial.stdout))
    assert len(read_results(tmp_path / "p")) == len(read_results(tmp_path / "s")) == 12
    assert list((tmp_path / "p" / "samples").rglob("info.json"))


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # ended while we looked
        if ppid == pid:
            found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie (an orphan's zombie may wait for a lax init to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="finds the workers through /proc")
def test_parallel_run_streams_each_image_and_its_workers_die_with_a_killed_parent(tmp_path):
    import skimage.data

    images = tmp_path / "imgs"
    images.mkdir()
    astronaut = skimage.data.astronaut()
    for i in range(10):
        Image.fromarray(np.roll(astronaut, 41 * i, axis=0)[:96, :96]).save(images / f"q{i:02d}.png")
    args = ["bench", "-r", "nlm", "-d", "gaussian15,gaussian25", "--dataset", str(images), "--format", "json"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "restore_core", *args, "--jobs", "2", "--out", str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = killed / "results.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (results.is_file() and results.read_bytes().count(b"\n") >= 1):
        time.sleep(0.005)
    workers = _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = read_results(killed)
    assert len(results.read_bytes().splitlines()) == len(partial) >= 1, "every line whole"
    per_cell = Counter(r["degradation"] for r in partial)
    # killed inside a cell of 10 images: the images it had finished are in the store
    assert any(0 < n < 10 for n in [per_cell["gaussian15"], per_cell["gaussian25"]]), per_cell
    assert workers, "the parent had started its worker processes"
    deadline = time.time() + 5
    while time.time() < deadline and any(_running(pid) for pid in workers):
        time.sleep(0.05)
    assert not [pid for pid in workers if _running(pid)], "a worker outlived its killed parent"
    resumed = CliRunner().invoke(cli, [*args, "--jobs", "2", "--out", str(killed), "--resume"],
                                 catch_exceptions=False)
    assert resumed.exit_code == 0, resumed.stderr
    whole = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "whole")], catch_exceptions=False)
    assert _numbers(json.loads(resumed.stdout)) == _numbers(json.loads(whole.stdout))
    assert len(read_results(killed)) == 20


def test_bench_table_marks_the_best_of_each_degradation_and_dataset(counted_host, folder, tmp_path):
    from restore_core.bench import tables
    from restore_core.bench.report import load_cells

    run = tmp_path / "run"
    result = bench(counted_host, "-r", "identity,counting-blur", "-d", "gaussian2,gaussian50", "--dataset",
                   str(folder), "--limit", "2", "--out", str(run), "--format", "json")
    assert result.exit_code == 0, result.stderr
    _, cells, metrics = load_cells(run)
    rows = tables.json_rows(cells.values(), dict.fromkeys(metrics, True), rounded=False)
    table = tables.rich_table(tables.summary_table(rows, metrics, dict.fromkeys(metrics, True)), "restore bench")
    for name in metrics:
        column = next(c for c in table.columns if c.header == name)
        marked = [str(cell) for cell in column._cells if cell.spans]
        # one best per (degradation, dataset), here both groups; identity wins at sigma 2, the blur at 50
        best = [max((c for c in cells.values() if c.degradation == d), key=lambda c: c.mean(name))
                for d in ("gaussian2", "gaussian50")]
        assert marked == [f"{c.mean(name):.{2 if name == 'psnr' else 4}f}" for c in best], name
        assert {c.restorer for c in best} == {"identity", "counting-blur"}


def test_bench_table_shows_speed_and_memory_and_keeps_numbers_whole_in_80_columns(counted_host, folder, tmp_path,
                                                                                  monkeypatch):
    import io

    from rich.console import Console

    import restore_core.cli.bench as cli_module
    from restore_core.bench.report import load_cells

    args = ["-r", "identity,counting-blur", "-d", "gaussian25,gaussian50", "--dataset", str(folder), "--limit", "2"]
    rows = json.loads(bench(counted_host, *args, "--out", str(tmp_path / "j"), "--format", "json").stdout)
    assert all("megapixels_per_second" in r and "peak_extra_memory_mib" in r and "peak_memory_mib" in r for r in rows)
    for width in (200, 80):
        out = io.StringIO()
        monkeypatch.setattr(cli_module, "wide_console", lambda out=out, width=width: Console(width=width, file=out))
        result = bench(counted_host, *args, "--out", str(tmp_path / f"t{width}"))
        assert result.exit_code == 0, result.stderr
        text = out.getvalue()
        assert "MP/s" in text and "MiB" in text and "…" not in text
        assert max(len(line) for line in text.splitlines()) <= width
        table = text.split("protocol:")[0]
        for c in load_cells(tmp_path / f"t{width}")[1].values():
            gain = c.mean("psnr") - c.mean("psnr", of_input=True)
            assert f"{c.mean('psnr'):.2f}" in table and f"{c.mean('ssim'):.4f}" in table and f"{gain:+.2f}" in table
            assert f"{c.megapixels_per_second:.2f}" in table and f"{c.peak_extra_memory_mib:.1f}" in table
        words = " ".join(text.split())
        assert "bicubic up-sampling" in words and "extra MiB: peak memory during a restore call" in words


def test_peak_extra_memory_is_each_restorers_own(tmp_path):
    import skimage.data

    # eager PyTorch: a compiled backend (OpenVINO, TensorRT) keeps its own memory pool, so what a call
    # adds depends on the backend auto picks. A gray 512 x 512 image, untiled: one DnCNN feature map
    # (64 channels of 512 x 512 floats) is 64 MiB, while identity copies a 1 MiB input. The bounds sit
    # far from both: DnCNN must show half a map (it holds two or three at a time, 192 MiB measured, and
    # a cache or counter lag has hidden at most one on any machine seen), identity under a quarter map
    # (16x its copy). The process's high-water mark would have charged identity with DnCNN's peak.
    size, features = 512, 64
    feature_map_mib = features * size * size * 4 / 2**20
    root = tmp_path / "imgs"
    root.mkdir()
    Image.fromarray(skimage.data.camera()[:size, :size]).save(root / "camera.png")  # 512 x 512 gray
    rows = json.loads(CliRunner().invoke(cli, ["bench", "-r", "dncnn,identity", "-d", "gaussian25", "--dataset",
                                               str(root), "--backend", "eager", "--tile", "0", "--format", "json",
                                               "--out", str(tmp_path / "run")], catch_exceptions=False).stdout)
    dncnn, identity = rows
    if dncnn["peak_extra_memory_mib"] is None:
        pytest.skip("no way to read this process's resident memory here")
    assert dncnn["peak_extra_memory_mib"] >= feature_map_mib / 2
    assert identity["peak_extra_memory_mib"] < feature_map_mib / 4


def test_super_resolution_input_is_scored_after_bicubic_upsampling(folder, tmp_path):
    result = CliRunner().invoke(cli, ["bench", "-r", "bicubic", "-d", "x2,x3", "--dataset", str(folder), "--limit",
                                      "2", "--format", "json", "--out", str(tmp_path / "run")], catch_exceptions=False)
    rows = json.loads(result.stdout)
    for row in rows:
        assert row["psnr_input"] is not None and row["ssim_input"] is not None
        # the input is up-sampled exactly as the bicubic restorer up-samples it: no gain, to the last digit
        assert row["psnr_input"] == row["psnr"] and row["psnr_gain"] == 0 and row["ssim_gain"] == 0
    assert rows[0]["psnr_input"] > rows[1]["psnr_input"]  # x2 loses less than x3


@pytest.mark.parametrize("high_water", [True, False], ids=["kernel-high-water", "sampling-thread"])
def test_peak_extra_memory_sees_a_freed_allocation(monkeypatch, high_water):
    import torch

    from restore_core.system import memory

    if not high_water:
        monkeypatch.setattr(memory, "_can_reset_high_water", lambda: False)
    elif not memory._can_reset_high_water():
        pytest.skip("this kernel does not let a process reset its resident high-water mark")
    if memory._rss_reader() is None:
        pytest.skip("no way to read this process's resident memory here")
    with memory.peak_extra_memory() as probe:
        block = torch.ones(64 * 2**20 // 4)  # 64 MiB, written, then freed before the block ends
        time.sleep(0.02)
        del block
    with memory.peak_extra_memory() as idle:
        pass
    assert probe.mib is not None and probe.mib >= 48 and idle.mib is not None and idle.mib < 8


def test_peak_extra_memory_on_cuda_is_allocated_device_memory(monkeypatch):
    import torch

    from restore_core.system import memory

    allocated = {"now": 100 * 2**20, "max": 100 * 2**20}
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats",
                        lambda device=None: allocated.update(max=allocated["now"]))
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: allocated["now"])
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: allocated["max"])
    allocated["max"] = 999 * 2**20  # an earlier restorer's peak, cleared by the reset
    with memory.peak_extra_memory(torch.device("cuda")) as probe:
        allocated["max"] = allocated["now"] + 30 * 2**20  # 30 MiB of activations, freed again
    assert probe.mib == 30.0
