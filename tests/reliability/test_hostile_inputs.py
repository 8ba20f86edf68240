"""The hostile-input corpus: every kind of bad (or merely unusual) input, made by the test itself, run
through `restore run`, `bench` and `train` where it applies.

For an input restore must refuse, each case asserts: exit code 1 or 2, exactly one `restore: error:`
line on standard error naming the file or value, no traceback and no "internal error", no output
file (nor a temporary `.part` file) left behind, and any results store still readable. For an input
restore accepts (a float TIFF, a 16-bit PNG, an animated GIF, a file name that is not UTF-8), it
asserts exit 0, no error line, the one-line warning where the reader warns, and the output written.

Images are a few pixels, generated here (no binary fixtures); benchmarks use `--limit 1 --crop 32`.
Plugins (raising, colliding, exiting, slow to import) are loaded into a host of their own.
"""

from __future__ import annotations

import errno
import importlib.metadata as md
import io
import json
import os
import struct
import sys
import textwrap
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import png
import pytest
import tifffile
import torch
from click.testing import CliRunner
from PIL import Image

from restore_core.bench.store import load_run, read_records
from restore_core.cli import cli
from restore_core.plugins.host import PluginHost, PluginWarning
from restore_core.train.weights import read_metadata, read_state, save_state

WEIGHTS = Path(__file__).resolve().parents[2] / "plugins" / "restore_builtins" / "weights"
GRAY_WEIGHTS = WEIGHTS / "dncnn-7l-64f-gray-sigma25.safetensors"
RNG = np.random.default_rng(14)
TRAIN = ["-r", "dncnn:layers=3,features=4", "-d", "gaussian25", "--steps", "1", "--patch", "16", "--batch", "2",
         "--val-count", "1", "--val-every", "1"]


# ------------------------------------------------------------------------------------------ images


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _gray(height: int = 40, width: int = 40) -> np.ndarray:
    return RNG.integers(0, 256, (height, width), dtype=np.uint8)


def _bomb_header() -> bytes:
    """A PNG whose header declares 100000 x 100000 pixels: refused before anything is decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _write_tiff(path: Path, data: np.ndarray, **kwargs) -> None:
    if data.ndim == 3 and data.shape[-1] == 3:
        kwargs.setdefault("photometric", "rgb")
    tifffile.imwrite(path, data, **kwargs)


def _write_png16(path: Path) -> None:
    data = RNG.integers(0, 65536, (24, 24 * 3), dtype=np.uint16)
    with path.open("wb") as f:
        png.Writer(24, 24, greyscale=False, bitdepth=16).write(f, data.tolist())


def _write_gif(path: Path) -> None:
    frames = [Image.fromarray(_gray(24, 24)) for _ in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:])


@dataclass(frozen=True)
class ImageKind:
    """One kind of image file: how to write it and what restore does with it."""

    name: str  # also the file's stem, so a message that names the file names the case
    suffix: str
    write: Callable[[Path], object]
    refused: str | None  # the words of the error; None when the file is read
    warns: str | None = None
    # commands where the kind behaves otherwise: {command: refusal words} (bench scores with ssim)
    refused_in: dict[str, str] = field(default_factory=dict)
    trains: bool = True  # False: training reads it as run and bench do, and is slower to try


def _b(data: bytes) -> Callable[[Path], object]:
    return lambda p: p.write_bytes(data)


IMAGE_KINDS = [
    ImageKind("empty", ".png", _b(b""), "empty"),
    ImageKind("truncated", ".png", _b(_png(_gray())[:-60]), "truncated or corrupt"),
    ImageKind("not-an-image", ".png", _b(b"hello, I am text\n" * 4), "not a readable image"),
    ImageKind("bomb", ".png", _b(_bomb_header()), "too large to read safely"),
    ImageKind("tiny1x1", ".png", _b(_png(_gray(1, 1))), None,
              refused_in={"bench": "7x7"}),
    ImageKind("strip1x20000", ".png", _b(_png(_gray(1, 20_000))), None,
              refused_in={"bench": "7x7"}),
    ImageKind("float-rgb", ".tif", lambda p: _write_tiff(p, RNG.random((24, 24, 3), dtype=np.float32)), None),
    ImageKind("float-0-255", ".tif", lambda p: _write_tiff(p, RNG.random((24, 24, 3), dtype=np.float32) * 255),
              None, warns="taken as 0-255"),
    ImageKind("float-huge", ".tif", lambda p: _write_tiff(p, RNG.random((24, 24), dtype=np.float32) * 1e4),
              "float values reach"),
    ImageKind("float-nan", ".tif", lambda p: _write_tiff(p, np.full((24, 24), np.nan, dtype=np.float32)),
              "NaN or infinite"),
    ImageKind("deep16", ".png", _write_png16, None, trains=False),
    ImageKind("animated", ".gif", _write_gif, None, warns="only the first is used"),
    ImageKind("pages", ".tif", lambda p: _write_tiff(p, RNG.integers(0, 256, (3, 24, 24), dtype=np.uint8),
                                                     photometric="minisblack"), None, warns="only the first is used"),
    ImageKind("lossless", ".webp", lambda p: Image.fromarray(_gray(24, 24)).save(p, lossless=True), None,
              trains=False),
    ImageKind(os.fsdecode(b"caf\xe9-latin1"), ".png", _b(_png(_gray())), None),
]


# ------------------------------------------------------------------------------------------ running


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str


def _invoke(args: list[str], host: PluginHost | None = None) -> Outcome:
    result = CliRunner().invoke(cli, args, obj=host)
    return Outcome(result.exit_code, result.stdout, result.stderr)


def _assert_refused(out: Outcome, needles: tuple[str, ...], codes: tuple[int, ...] = (1, 2)) -> None:
    assert out.code in codes, (out.code, out.stderr, out.stdout[-800:])
    errors = [line for line in out.stderr.splitlines() if line.startswith("restore: error:")]
    assert len(errors) == 1, out.stderr
    assert "Traceback" not in out.stderr + out.stdout and "internal error" not in out.stderr, out.stderr
    for needle in needles:
        assert needle in errors[0], f"{needle!r} not in {errors[0]!r}"


def _assert_accepted(out: Outcome, warns: str | None) -> None:
    assert out.code == 0, (out.code, out.stderr, out.stdout[-800:])
    assert "restore: error:" not in out.stderr and "Traceback" not in out.stderr + out.stdout
    if warns is not None:
        warnings = [line for line in out.stderr.splitlines() if line.startswith("restore: warning:")]
        assert len(warnings) == 1 and warns in warnings[0], out.stderr


def _no_partial_files(root: Path) -> None:
    leftovers = [p for p in root.rglob("*") if p.name.endswith(".part")]
    assert not leftovers, leftovers


def _assert_store_readable(run: Path) -> None:
    if (run / "manifest.json").is_file():
        load_run(run)
    if (run / "results.jsonl").is_file():
        read_records(run)


def _train_folder(root: Path) -> Path:
    folder = root / "train-set"
    folder.mkdir()
    for i in range(2):
        (folder / f"good{i}.png").write_bytes(_png(_gray()))
    return folder


IMAGE_CASES = [pytest.param(kind, command, id=f"{kind.name.encode('utf-8', 'backslashreplace').decode()}-{command}")
               for kind in IMAGE_KINDS for command in ("run", "bench", "train") if command != "train" or kind.trains]


@pytest.mark.parametrize("kind,command", IMAGE_CASES)
def test_image_kinds(tmp_path, kind, command):
    folder = _train_folder(tmp_path) if command == "train" else tmp_path / "images"
    folder.mkdir(exist_ok=True)
    image = folder / f"{kind.name}{kind.suffix}"
    kind.write(image)
    out_path = tmp_path / "out" / ("restored.png" if command == "run" else "w.safetensors")
    run_dir = tmp_path / "run"
    if command == "run":
        args = ["run", "identity", str(image), "-o", str(out_path)]
    elif command == "bench":
        args = ["bench", "-r", "identity", "-d", "gaussian25", "--dataset", str(folder), "--limit", "1",
                "--crop", "32", "--out", str(run_dir)]
    else:
        args = ["train", *TRAIN, "--dataset", str(folder), "--out", str(out_path)]
    out = _invoke(args)
    refusal = kind.refused_in.get(command, kind.refused)
    if refusal is not None:
        # a bench records the failed cell (its image named) and exits 1; run and train write nothing
        needles = (refusal, kind.name) if command != "train" or kind.refused else (refusal,)
        _assert_refused(out, needles, (1,) if command == "bench" else (1, 2))
        assert not out_path.exists()
    else:
        _assert_accepted(out, kind.warns)
        if command == "run":
            assert out_path.is_file()
            expected = 16 if kind.name in ("float-rgb", "float-0-255", "deep16") else 8
            assert png.Reader(filename=str(out_path)).read()[3]["bitdepth"] == expected
    _assert_store_readable(run_dir)
    _no_partial_files(tmp_path)


# ------------------------------------------------------------------------------ weights, checkpoints


def _nan_weights(path: Path) -> None:
    state = read_state(GRAY_WEIGHTS)
    first = next(k for k, v in state.items() if v.is_floating_point() and v.dim() >= 2)
    state[first] = torch.full_like(state[first], float("nan"))
    save_state(path, state, read_metadata(GRAY_WEIGHTS))


def _pickle(path: Path) -> None:
    # a pickle that names a class: loading it with weights_only=False would import and call it
    torch.save({"network": Path("x"), "optimizer": {}, "state": {}}, path)


WEIGHT_CASES = {
    "truncated": (lambda p: p.write_bytes(GRAY_WEIGHTS.read_bytes()[:5000]), "w-truncated"),
    "pickle": (_pickle, "w-pickle"),
    "garbage": (lambda p: p.write_bytes(b"\x00\xff" * 300), "w-garbage"),
    "empty": (lambda p: p.write_bytes(b""), "w-empty"),
    "other-architecture": (lambda p: p.write_bytes((WEIGHTS / "srcnn-x3-y.safetensors").read_bytes()),
                           "w-other-architecture"),
    "nan": (_nan_weights, "w-nan"),
}


@pytest.mark.parametrize("case", list(WEIGHT_CASES))
def test_bad_weights_are_refused_by_run(tmp_path, case):
    make, stem = WEIGHT_CASES[case]
    weights = tmp_path / f"{stem}.safetensors"
    make(weights)
    image = tmp_path / "in.png"
    image.write_bytes(_png(_gray(24, 24)))
    out_path = tmp_path / "out.png"
    out = _invoke(["run", f"dncnn:weights={weights}", str(image), "-o", str(out_path), "--sigma", "25"])
    _assert_refused(out, (stem,))
    assert not out_path.exists()
    _no_partial_files(tmp_path)


CHECKPOINT_CASES = {
    "empty": lambda p: p.write_bytes(b""),
    "truncated": lambda p: (_pickle(p), p.write_bytes(p.read_bytes()[:100])),
    "pickle": _pickle,
    # seeded, so every run reads the same bytes (os.urandom once drew bytes that made torch.load raise KeyError)
    "garbage": lambda p: p.write_bytes(__import__("random").Random(0).randbytes(512)),
}


def test_any_garbage_checkpoint_is_a_weights_error(tmp_path):
    """torch.load on arbitrary bytes raises many kinds of error; every one must become one WeightsError."""
    import random

    from restore_core.errors import WeightsError
    from restore_core.train.loop import read_checkpoint

    path = tmp_path / "ckpt.pt"
    for seed in range(300):
        rng = random.Random(seed)
        head = rng.choice([b"", b"\x80\x02", b"PK\x03\x04", b"\x8a\x0a"])  # pickle, zip, legacy-torch magics
        path.write_bytes(head + rng.randbytes(rng.randrange(1, 1024)))
        with pytest.raises(WeightsError, match=r"ckpt\.pt"):
            read_checkpoint(path)


@pytest.mark.parametrize("case", list(CHECKPOINT_CASES))
def test_bad_checkpoints_are_refused_by_train(tmp_path, case):
    checkpoint = tmp_path / f"ckpt-{case}.pt"
    CHECKPOINT_CASES[case](checkpoint)
    out_path = tmp_path / "w.safetensors"
    out = _invoke(["train", *TRAIN, "--dataset", str(_train_folder(tmp_path)), "--out", str(out_path),
                   "--checkpoint", str(checkpoint)])
    _assert_refused(out, (checkpoint.name,))
    assert not out_path.exists()
    assert "weights_only=False" not in out.stderr  # never advise unpickling
    _no_partial_files(tmp_path)


# ------------------------------------------------------------------------------------------- stores


@pytest.fixture(scope="module")
def measured_run(tmp_path_factory) -> Path:
    """A complete two-image run, copied by each store case before it spoils the copy."""
    root = tmp_path_factory.mktemp("store")
    folder = root / "images"
    folder.mkdir()
    for i in range(2):
        (folder / f"img{i}.png").write_bytes(_png(_gray()))
    out = _invoke(["bench", "-r", "identity", "-d", "gaussian25", "-m", "psnr", "--dataset", str(folder),
                   "--out", str(root / "run")])
    assert out.code == 0, out.stderr
    return root


def _append(text: str) -> Callable[[Path], None]:
    def spoil(run: Path) -> None:
        with (run / "results.jsonl").open("a") as f:
            f.write(text)
    return spoil


STORE_CASES = {
    # (how the store is spoiled, the words of the error or None when --resume carries on)
    "torn-line": (_append('{"kind": "image", "restorer": "ident'), None),
    "garbage-line": (_append("%%% not json %%%\n"), None),
    "foreign-record": (_append('{"kind": "alien", "hello": 1}\n[1, 2, 3]\n"a string"\nnull\n'), None),
    "mistyped-record": (_append('{"kind": "image", "restorer": "identity", "backend": null, "degradation": '
                                '"gaussian25", "dataset": "images", "image": "img9", "metrics": {"psnr": "oops"}, '
                                '"input_metrics": {"psnr": [1]}, "seconds": "soon", "pixels": "many"}\n'), None),
    "corrupt-manifest": (lambda run: (run / "manifest.json").write_text('{"matrix": '), "manifest.json"),
    "manifest-not-an-object": (lambda run: (run / "manifest.json").write_text("[1, 2]\n"), "manifest.json"),
}


@pytest.mark.parametrize("case", list(STORE_CASES))
@pytest.mark.parametrize("command", ["resume", "report"])
def test_spoiled_stores(tmp_path, measured_run, case, command):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(measured_run / "run", run)
    spoil, refusal = STORE_CASES[case]
    before = {(r.image, r.kind) for r in read_records(measured_run / "run")}
    spoil(run)
    if command == "resume":
        args = ["bench", "-r", "identity", "-d", "gaussian25", "-m", "psnr", "--dataset",
                str(measured_run / "images"), "--out", str(run), "--resume"]
    else:
        args = ["bench", "report", str(run), "--out", str(tmp_path / "report")]
    out = _invoke(args)
    if refusal is not None:
        _assert_refused(out, (refusal,), (1,))
        return
    _assert_accepted(out, None)
    assert {(r.image, r.kind) for r in read_records(run)} >= before  # nothing complete was lost
    _assert_store_readable(run)


# ------------------------------------------------------------------------------- usage and environment


@dataclass(frozen=True)
class UsageCase:
    args: Callable[[Path], list[str]]
    needles: tuple[str, ...]
    code: int
    env: dict[str, Callable[[Path], str]] = field(default_factory=dict)
    output: str | None = None  # a path under tmp_path that must not exist afterwards


def _image(root: Path) -> str:
    path = root / "in.png"
    path.write_bytes(_png(_gray(24, 24)))
    return str(path)


def _folder(root: Path) -> str:
    folder = root / "images"
    folder.mkdir(exist_ok=True)
    (folder / "a.png").write_bytes(_png(_gray()))
    return str(folder)


def _file(root: Path, name: str = "a-file") -> str:
    (root / name).write_text("I am a file")
    return str(root / name)


def _empty_image_folder(root: Path) -> str:
    folder = root / "images"
    folder.mkdir(exist_ok=True)
    (folder / "zero.png").write_bytes(b"")
    return str(folder)


BENCH = ["bench", "-r", "identity", "-d", "gaussian25", "--limit", "1"]

USAGE_CASES = {
    "degradation-x1000": UsageCase(lambda r: ["bench", "-r", "identity", "-d", "x1000", "--dataset", _folder(r),
                                              "--out", str(r / "run")], ("x1000",), 2, output="run"),
    "negative-crop": UsageCase(lambda r: [*BENCH, "-m", "psnr:crop=-1", "--dataset", _folder(r),
                                          "--out", str(r / "run")], ("crop",), 2, output="run"),
    "crop-larger-than-image": UsageCase(lambda r: [*BENCH, "-m", "psnr:crop=500", "--dataset", _folder(r),
                                                   "--out", str(r / "run")], ("crop 500",), 1),
    "repeated-key": UsageCase(lambda r: ["bench", "-r", "dncnn:layers=7,layers=17", "-d", "gaussian25",
                                         "--dataset", _folder(r), "--out", str(r / "run")], ("layers",), 2,
                              output="run"),
    "sigma-nan": UsageCase(lambda r: ["run", "identity", _image(r), "-o", str(r / "o.png"), "--sigma", "nan"],
                           ("nan",), 2, output="o.png"),
    "sigma-negative": UsageCase(lambda r: ["run", "identity", _image(r), "-o", str(r / "o.png"), "--sigma", "-25"],
                                ("-25",), 2, output="o.png"),
    "sigma-inf": UsageCase(lambda r: ["run", "identity", _image(r), "-o", str(r / "o.png"), "--sigma", "inf"],
                           ("inf",), 2, output="o.png"),
    "scale-0": UsageCase(lambda r: ["run", "bicubic", _image(r), "-o", str(r / "o.png"), "--scale", "0"],
                         ("scale", "0"), 2, output="o.png"),
    "scale-1000": UsageCase(lambda r: ["run", "bicubic", _image(r), "-o", str(r / "o.png"), "--scale", "1000"],
                            ("1000",), 2, output="o.png"),
    "sigma-with-degrade": UsageCase(lambda r: ["run", "identity", _image(r), "-o", str(r / "o.png"),
                                               "--degrade", "gaussian25", "--sigma", "50"], ("--sigma",), 2,
                                    output="o.png"),
    "sigma-with-scale": UsageCase(lambda r: ["run", "bicubic", _image(r), "-o", str(r / "o.png"),
                                             "--sigma", "5", "--scale", "2"], ("scale",), 2, output="o.png"),
    "output-under-a-file": UsageCase(lambda r: ["run", "identity", _image(r), "-o",
                                                str(Path(_file(r)) / "x.png")], ("a-file", "not a folder"), 2),
    "out-is-a-file": UsageCase(lambda r: [*BENCH, "--dataset", _folder(r), "--out", _file(r)],
                               ("a-file", "not a folder"), 2),
    "runs-env-is-a-file": UsageCase(lambda r: [*BENCH, "--dataset", _folder(r)], ("a-file", "not a folder"), 2,
                                    env={"RESTORE_RUNS": lambda r: _file(r)}),
    "data-env-is-a-file": UsageCase(lambda r: [*BENCH, "--dataset", "set12", "--out", str(r / "run")],
                                    ("RESTORE_DATA=", "a-file", "not a folder"), 1,
                                    env={"RESTORE_DATA": lambda r: _file(r), "RESTORE_OFFLINE": lambda r: "yes",
                                         "RESTORE_CACHE": lambda r: str(r / "cache")}, output="run"),
    "data-env-missing": UsageCase(lambda r: [*BENCH, "--dataset", "set12", "--out", str(r / "run")],
                                  ("RESTORE_DATA=", "no-such-folder", "does not exist"), 1,
                                  env={"RESTORE_DATA": lambda r: str(r / "no-such-folder"),
                                       "RESTORE_OFFLINE": lambda r: "true",
                                       "RESTORE_CACHE": lambda r: str(r / "cache")}, output="run"),
    "offline-on": UsageCase(lambda r: [*BENCH, "--dataset", "set12", "--out", str(r / "run")],
                            ("RESTORE_OFFLINE is on",), 1,
                            env={"RESTORE_DATA": lambda r: "", "RESTORE_OFFLINE": lambda r: "On",
                                 "RESTORE_CACHE": lambda r: str(r / "cache")}, output="run"),
    "fail-fast-before-any-record": UsageCase(lambda r: [*BENCH, "--dataset", _empty_image_folder(r), "--fail-fast",
                                                        "--out", str(r / "run")], ("zero.png", "empty"), 1,
                                             output="run"),
    "dataset-folder-missing": UsageCase(lambda r: [*BENCH, "--dataset", str(r / "nowhere"),
                                                   "--out", str(r / "run")], ("nowhere",), 1, output="run"),
}


@pytest.mark.parametrize("case", list(USAGE_CASES))
def test_usage_and_environment(tmp_path, monkeypatch, case):
    spec = USAGE_CASES[case]
    for name, value in spec.env.items():
        monkeypatch.setenv(name, value(tmp_path))
    out = _invoke(spec.args(tmp_path))
    _assert_refused(out, spec.needles, (spec.code,))
    if spec.output is not None:
        assert not (tmp_path / spec.output).exists()
    _assert_store_readable(tmp_path / "run")
    _no_partial_files(tmp_path)


def test_a_full_disk_writing_the_manifest_leaves_no_run(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("restore_core.bench.store.atomic_write_text", full)
    out = _invoke([*BENCH, "--dataset", _folder(tmp_path), "--out", str(tmp_path / "run")])
    _assert_refused(out, ("No space left on device", "run"), (1,))
    assert not (tmp_path / "run").exists()


def test_a_full_disk_writing_an_image_leaves_nothing(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    image = _image(tmp_path)
    monkeypatch.setattr(Image.Image, "save", full)
    out = _invoke(["run", "identity", image, "-o", str(tmp_path / "out" / "o.png")])
    _assert_refused(out, ("No space left on device", "o.png"), (1,))
    assert not (tmp_path / "out" / "o.png").exists()
    _no_partial_files(tmp_path)


# ------------------------------------------------------------------------------------------- plugins


PLUGIN_SOURCES = {
    "raising": "raise RuntimeError('the plugin author broke this')\n",
    "exiting": "import sys\nsys.exit(3)\n",
    "colliding": """
        from restore_core.plugins.hookspecs import hookimpl

        class Mine:
            name = "mine"
            def restore(self, image, info):
                return image

        class Taken(Mine):
            name = "identity"

        @hookimpl
        def register_restorers(register):
            register(Mine)
            register(Taken)
    """,
    "slow": "import time\ntime.sleep(0.6)\n",
}


@pytest.mark.parametrize("case", list(PLUGIN_SOURCES))
def test_misbehaving_plugins_are_named_in_one_warning(tmp_path, monkeypatch, case):
    module = f"restore_hostile_{case}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(PLUGIN_SOURCES[case]))
    monkeypatch.syspath_prepend(str(tmp_path))
    host = PluginHost(strict=False, import_warn_seconds=0.1)
    host.load_entry_points()
    with pytest.warns(PluginWarning) as caught:
        host.load_entry_points([md.EntryPoint(f"hostile-{case}", module, "restore.plugins")])
        host.registry("restorer")  # hooks run when a registry is first asked for
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]
    assert len(messages) == 1 and f"hostile-{case}" in messages[0], messages
    if case == "slow":
        assert "still importing after 0.1 s" in messages[0] and "docs/publishing.md" in messages[0]
    if case == "colliding":  # all or nothing: its first restorer is not registered either
        assert host.registry("restorer").lookup("mine") is None
    out = _invoke(["list"], host=host)
    assert out.code == 0 and "Traceback" not in out.stderr + out.stdout, out.stderr
    sys.modules.pop(module, None)


def test_a_quick_plugin_gets_no_import_warning(tmp_path, monkeypatch, recwarn):
    (tmp_path / "restore_hostile_quick.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    host = PluginHost(strict=False, import_warn_seconds=2.0)
    host.load_entry_points([md.EntryPoint("hostile-quick", "restore_hostile_quick", "restore.plugins")])
    assert not [w for w in recwarn if issubclass(w.category, PluginWarning)]



# ------------------------------------------------------------------------------- names, depth, JSON


def test_a_name_that_is_not_utf8_keeps_seeds_stable_and_runs_with_degrade(tmp_path):
    from restore_core.data.seeding import image_seed

    assert image_seed(0, "01", "gaussian25") == 8295621050513339269  # the seed every earlier version gave
    odd = os.fsdecode(b"caf\xe9")
    assert image_seed(0, odd, "gaussian25") != image_seed(0, os.fsdecode(b"caf\xe8"), "gaussian25")
    image = tmp_path / f"{odd}.png"
    image.write_bytes(_png(_gray(24, 24)))
    out = _invoke(["run", "identity", str(image), "-o", str(tmp_path / "out"), "--degrade", "gaussian25"])
    _assert_accepted(out, None)
    assert (tmp_path / "out" / f"{odd}.png").is_file()


@pytest.mark.parametrize("given,asked,written", [(8, "16", 16), (16, "8", 8), (16, None, 16), (8, None, 8)])
def test_bit_depth_follows_the_input_unless_asked(tmp_path, given, asked, written):
    image = tmp_path / "in.png"
    if given == 16:
        _write_png16(image)
    else:
        image.write_bytes(_png(_gray(24, 24)))
    out_path = tmp_path / "out.png"
    out = _invoke(["run", "identity", str(image), "-o", str(out_path), *(["--bit-depth", asked] if asked else [])])
    _assert_accepted(out, None)
    assert png.Reader(filename=str(out_path)).read()[3]["bitdepth"] == written


def test_json_output_is_strict_json_with_null_for_infinite_scores(tmp_path):
    out = _invoke(["bench", "-r", "identity", "-d", "gaussian0", "-m", "psnr", "--dataset", _folder(tmp_path),
                   "--out", str(tmp_path / "run"), "--format", "json"])
    assert out.code == 0, out.stderr

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    row = json.loads(out.stdout, parse_constant=refuse)[0]
    assert row["psnr"] is None and row["psnr_input"] is None
    assert row["not_finite"] == {"psnr": "inf", "psnr_input": "inf", "psnr_gain": "nan"}


def test_zip_links_are_refused_as_tar_links_are(tmp_path):
    import stat
    import zipfile

    from restore_core.data.datasets import extract_archive
    from restore_core.errors import DatasetError

    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("images/a.png", _png(_gray(8, 8)))
        link = zipfile.ZipInfo("images/b.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(DatasetError, match=r"'images/b\.png' is a link; refused"):
        extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "images" / "b.png").exists()
