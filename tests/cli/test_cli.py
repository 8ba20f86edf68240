"""The `restore` command line through click's CliRunner: outputs, formats and every bad input."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image
from tests_support import write_crops

from restore_core.cli import cli
from restore_core.train.weights import read_metadata


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Four small natural-looking gray images (crops of scikit-image's camera)."""
    return write_crops(tmp_path / "images", "camera", 4, 48, 100, 120, "img")


def invoke(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(cli, list(args), catch_exceptions=False)


def assert_one_line_error(result: Result, code: int, *needles: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("restore: error: "), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0]


def test_version_and_help_on_every_command(runner):
    assert invoke(runner, "--version").stdout.startswith("restore, version ")
    for command in ([], ["bench"], ["list"], ["plugins"], ["run"], ["train"]):
        result = invoke(runner, *command, "--help")
        assert result.exit_code == 0 and "Usage:" in result.stdout


def test_bench_json_has_every_key_and_skips_misfits(runner):
    result = invoke(runner, "bench", "-r", "identity,bicubic", "-d", "gaussian25", "-d", "x3",
                    "--limit", "2", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["restorer"], r["degradation"]) for r in rows] == [
        ("identity", "gaussian25"), ("bicubic", "gaussian25"), ("identity", "x3"), ("bicubic", "x3")]
    for row in rows:
        for key in ("restorer", "degradation", "dataset", "images", "psnr", "psnr_input", "ssim",
                    "ssim_input", "seconds_per_image"):
            assert key in row
    identity, bicubic_noise, identity_sr, bicubic = rows
    assert identity["images"] == 2 and identity["psnr"] == identity["psnr_input"]
    assert 19 < identity["psnr"] < 23 and 0 < identity["ssim"] < 1
    assert bicubic_noise["skipped"] and "super-resolution" in bicubic_noise["skipped"]
    assert identity_sr["skipped"] and bicubic["skipped"] is None and bicubic["psnr"] > 20


def test_bench_is_deterministic_and_seed_matters(runner):
    def run(seed: str) -> float:
        out = invoke(runner, "bench", "-r", "identity", "-d", "gaussian15", "--limit", "1",
                     "--format", "json", "--seed", seed).stdout
        return json.loads(out)[0]["psnr"]

    assert run("0") == run("0") and run("0") != run("1")


def test_bench_csv_and_table(runner, folder):
    result = invoke(runner, "bench", "-r", "identity", "-d", "gaussian25", "--dataset", str(folder),
                    "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 1 and rows[0]["images"] == "4" and float(rows[0]["psnr"]) > 19
    table = invoke(runner, "bench", "-r", "identity", "-d", "gaussian25", "--dataset", str(folder))
    assert table.exit_code == 0 and "identity" in table.stdout and "psnr" in table.stdout


def test_list_and_plugins_show_builtins(runner):
    listing = invoke(runner, "list").stdout
    for name in ("gaussian", "bicubic-down", "identity", "bicubic", "dncnn", "srcnn", "psnr", "ssim",
                 "skimage"):
        assert name in listing
    plugins = invoke(runner, "plugins").stdout
    assert "restore-framework" in plugins and "dncnn" in plugins and "failed" not in plugins


@pytest.mark.parametrize("args,code,needles", [
    (["bench", "-r", "dncn", "-d", "gaussian25"], 2, ["unknown restorer 'dncn'", "did you mean dncnn"]),
    (["bench", "-r", "identity", "-d", "gausian25"], 2, ["unknown degradation"]),
    (["bench", "-r", "identity", "-d", "gaussian:sigma=abc"], 2, ["not a number"]),
    (["bench", "-r", "identity", "-d", "gaussian25", "-m", "psnr:channel=z"], 2, ["channel"]),
    (["bench", "-r", "identity", "-d", "gaussian25", "--format", "xml"], 2, ["xml"]),
    (["bench", "-r", "identity", "-d", "gaussian25", "--dataset", "nosuchset"], 2, ["unknown dataset"]),
    (["bench", "-r", "identity", "-d", "gaussian25", "--dataset", "./no/such/folder"], 1, ["folder"]),
    (["bench", "-r", "dncnn:layers=17", "-d", "gaussian25"], 1, ["no weights", "restore train"]),
    (["bench", "-d", "gaussian25"], 2, ["--restorer"]),
    (["frobnicate"], 2, ["frobnicate"]),
])
def test_bad_invocations_are_one_line(runner, args, code, needles):
    assert_one_line_error(invoke(runner, *args), code, *needles)


def test_missing_weights_file_is_named(runner, tmp_path):
    result = invoke(runner, "bench", "-r", f"dncnn:weights={tmp_path / 'none.safetensors'}",
                    "-d", "gaussian25", "--limit", "1")
    assert_one_line_error(result, 1, "none.safetensors", "does not exist")


def test_run_one_image_and_a_folder(runner, folder, tmp_path):
    single = tmp_path / "out" / "one.png"
    result = invoke(runner, "run", "identity", str(folder / "img0.png"), "-o", str(single),
                    "--degrade", "gaussian25")
    assert result.exit_code == 0, result.stderr
    noisy = np.asarray(Image.open(single))
    assert noisy.shape == (48, 48) and not np.array_equal(noisy, np.asarray(Image.open(folder / "img0.png")))
    outdir = tmp_path / "many"
    result = invoke(runner, "run", "bicubic", str(folder), "-o", str(outdir), "--degrade", "x2")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in outdir.iterdir()) == [f"img{i}.png" for i in range(4)]
    assert Image.open(outdir / "img1.png").size == (48, 48)


def _truncated_png(path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)).save(buf, "PNG")
    path.write_bytes(buf.getvalue()[:-100])


@pytest.mark.parametrize("make,needle", [
    (lambda p: None, "no such file"),
    (lambda p: p.write_bytes(b""), "empty"),
    (_truncated_png, "truncated"),
    (lambda p: p.write_text("not an image at all"), "not a readable image"),
])
def test_run_bad_input_leaves_no_output(runner, tmp_path, make, needle):
    bad = tmp_path / "bad.png"
    make(bad)
    out = tmp_path / "out"
    result = invoke(runner, "run", "identity", str(bad), "-o", str(out / "x.png"), "--sigma", "25")
    assert_one_line_error(result, 1, needle, "bad.png")
    assert not out.exists() or list(out.iterdir()) == []


def test_run_usage_errors(runner, folder, tmp_path):
    assert_one_line_error(invoke(runner, "run", "identity", str(folder), "-o", str(tmp_path / "x.png")),
                          2, "output folder")
    assert_one_line_error(invoke(runner, "run", "srcnn", str(folder / "img0.png"), "-o",
                                 str(tmp_path / "y.png"), "--sigma", "25"), 2, "cannot restore")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(invoke(runner, "run", "identity", str(empty), "-o", str(tmp_path / "o")),
                          2, "no images")
    assert_one_line_error(invoke(runner, "run", "unet", str(folder / "img0.png"), "-o", str(tmp_path / "z.png"),
                                 "--sigma", "25", "--tile", "128"), 2, "--tile 128 is too small", "larger than 260")
    assert_one_line_error(invoke(runner, "run", "dncnn", str(folder / "img0.png"), "-o", str(tmp_path / "z.png"),
                                 "--sigma", "25", "-b", "eager,optimized"), 2, "one backend")
    assert not (tmp_path / "z.png").exists()


def test_run_never_overwrites_silently(runner, folder, tmp_path):
    dup = tmp_path / "dup"
    dup.mkdir()
    Image.open(folder / "img0.png").save(dup / "a.png")
    Image.open(folder / "img1.png").save(dup / "a.jpg")
    assert_one_line_error(invoke(runner, "run", "identity", str(dup), "-o", str(tmp_path / "out")),
                          2, "would both be written to", "a.png")
    assert not (tmp_path / "out").exists()
    assert_one_line_error(invoke(runner, "run", "identity", str(dup / "a.png"), "-o", str(tmp_path / "o.jpg")),
                          2, "writes PNG", "'o.png'")
    assert not (tmp_path / "o.jpg").exists()
    before = (dup / "a.png").read_bytes()
    assert_one_line_error(invoke(runner, "run", "dncnn", str(dup / "a.png"), "--sigma", "25", "-o", str(dup)),
                          2, "is an input")
    assert (dup / "a.png").read_bytes() == before


def test_backend_auto_picks_one_and_all_lists_every_available(runner):
    def rows(*backend: str) -> list[dict]:
        result = invoke(runner, "bench", "-r", "dncnn,identity", "-d", "gaussian25", "--limit", "1", "--crop", "64",
                        "-m", "psnr", "--format", "json", *backend)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    from restore_core.plugins.host import default_host
    from restore_core.plugins.specs import build_backends

    auto = rows()
    (fastest, _), = build_backends(default_host(), ["auto"])  # optimized, or openvino bf16 with native bf16
    assert fastest in ("optimized", "openvino:precision=bf16")
    assert [r["backend"] for r in auto if r["restorer"] == "dncnn"] == [fastest]
    assert [r["backend"] for r in auto if r["restorer"] == "identity"] == [None]
    every = rows("--backend", "all")
    engines = [n for n in ("onnxruntime", "openvino") if importlib.util.find_spec(n) is not None]
    assert sorted(r["backend"] for r in every if r["restorer"] == "dncnn") == sorted(["eager", "optimized", *engines])
    # optimized runs bf16 where the CPU has it natively, at most 0.02 dB from eager (issue 17)
    scores = [r["psnr"] for r in every if r["restorer"] == "dncnn"]
    assert max(scores) - min(scores) <= 0.02


def test_train_then_bench_with_the_weights_and_resume(runner, folder, tmp_path):
    weights = tmp_path / "tiny.safetensors"
    ckpt = tmp_path / "tiny.ckpt"
    args = ["train", "-r", "dncnn:layers=3,features=8", "-d", "gaussian25", "--dataset", str(folder),
            "--channels", "1", "--patch", "16", "--batch", "4", "--val-every", "2", "--val-count", "1",
            "--out", str(weights), "--checkpoint", str(ckpt), "--no-bf16"]
    first = invoke(runner, *args, "--steps", "4")
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout.strip().splitlines()[-1])["steps"] == 4
    meta = read_metadata(weights)
    assert meta["key"] == "dncnn-3l-8f-gray-sigma25" and meta["train_images"] == 3
    resumed = invoke(runner, *args, "--steps", "6")
    summary = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 6 and summary["patches_seen"] == 24
    history = json.loads(weights.with_suffix(".history.json").read_text())
    assert [h["step"] for h in history["history"]] == [2, 4, 6]
    card = weights.with_suffix(".md").read_text()
    assert "dncnn-3l-8f-gray-sigma25" in card and "restore train" in card and str(folder) in card
    result = invoke(runner, "bench", "-r", f"dncnn:layers=3,features=8,weights={weights}", "-d", "gaussian25",
                    "--dataset", str(folder), "--format", "json")
    row = json.loads(result.stdout)[0]
    assert result.exit_code == 0 and row["images"] == 4 and row["psnr"] is not None


def test_weights_of_another_configuration_are_refused(runner, folder, tmp_path):
    weights = tmp_path / "w.safetensors"
    invoke(runner, "train", "-r", "dncnn:layers=3,features=8", "-d", "gaussian25", "--dataset", str(folder),
           "--channels", "1", "--patch", "16", "--batch", "2", "--steps", "1", "--out", str(weights))
    result = invoke(runner, "bench", "-r", f"dncnn:layers=3,features=8,weights={weights}", "-d", "gaussian15",
                    "--dataset", str(folder))
    assert_one_line_error(result, 1, "sigma25", "sigma15")


def test_train_rejects_untrainable_and_tiny_data(runner, folder, tmp_path):
    assert_one_line_error(invoke(runner, "train", "-r", "bicubic", "-d", "x3", "--dataset", str(folder),
                                 "--out", str(tmp_path / "w.safetensors")), 2, "no network")
    assert_one_line_error(invoke(runner, "train", "-r", "dncnn", "-d", "gaussian25", "--dataset", str(folder),
                                 "--patch", "400", "--out", str(tmp_path / "w.safetensors")), 2, "400")
    assert not (tmp_path / "w.safetensors").exists()


def test_models_lists_every_shipped_weights_file_with_its_cost(runner):
    result = runner.invoke(cli, ["models", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    rows = {row["key"]: row for row in json.loads(result.stdout)}
    weights = Path(__file__).resolve().parents[2] / "plugins" / "restore_builtins" / "weights"
    assert set(rows) == {p.stem for p in weights.glob("*.safetensors")}
    assert rows["dncnn-7l-64f-gray-sigma25"]["mflops_per_pixel"] == pytest.approx(
        2 * 9 * (64 + 5 * 64 * 64 + 64) / 1e6, abs=1e-3)
    assert all(row["card"] and Path(row["card"]).is_file() for row in rows.values())
    table = runner.invoke(cli, ["models"], catch_exceptions=False, terminal_width=250)
    assert "dncnn-7l-64f-gray-sigma25" in table.stdout and "MFLOP/px" in table.stdout
