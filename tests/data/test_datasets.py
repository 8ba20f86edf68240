"""Datasets: the named sets against the shared local root, checksums, downloads from a loopback
server, safe archive extraction, the IDX reader, crops and `restore datasets`."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import json
import shutil
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from tests_support import SHARED

from restore_core.cli import cli
from restore_core.data.datasets import PublicDataset, crop_image, extract_archive, open_dataset
from restore_core.errors import DatasetError, UnknownNameError
from restore_core.imaging.idx import IDXError, read_idx, write_idx
from restore_core.plugins.host import default_host

REGISTRY = default_host().registry("dataset")
PUBLIC = [r.factory for r in REGISTRY if isinstance(r.factory, PublicDataset)]


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Never touch the user's cache; never download unless a test serves the files itself."""
    monkeypatch.setenv("RESTORE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("RESTORE_OFFLINE", raising=False)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _png(seed: int, size: int = 20) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _entry(files: dict[str, bytes], url: str | None = None, **kw) -> PublicDataset:
    return PublicDataset("tiny", "a tiny test set", "test/tiny", {k: _sha(v) for k, v in files.items()},
                         len(files), "gray", "the test itself", "none", url, **kw)


# ------------------------------------------------------------------- the shared local root


@pytest.mark.parametrize("entry", PUBLIC, ids=lambda e: e.name)
def test_named_set_loads_from_local_root_with_count_mode_and_checksums(entry, monkeypatch):
    if not SHARED.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED} (set RESTORE_DATA)")
    monkeypatch.setenv("RESTORE_DATA", str(SHARED))
    if entry.locate().where != "local":
        pytest.skip(f"{entry.name} is not in the shared folder {SHARED}")
    data = entry()
    assert len(data) == entry.count
    ids = [r.image_id for r in data.records]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for i in range(len(data)):  # loading verifies each file's checksum first
        image = data.load(i)
        channels = image.shape[1]
        assert image.dtype == torch.float32 and 0 <= float(image.min()) <= float(image.max()) <= 1
        assert channels == {"gray": 1, "rgb": 3}.get(entry.mode, channels)
    if entry.name == "fashion-mnist-sample":
        assert tuple(data.load(0).shape) == (1, 1, 28, 28)


def test_corrupted_copy_is_rejected_naming_the_file(tmp_path, monkeypatch):
    files = {"a.png": _png(1), "b.png": _png(2)}
    folder = tmp_path / "root" / "test" / "tiny"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    monkeypatch.setenv("RESTORE_DATA", str(tmp_path / "root"))
    entry = _entry(files)
    assert entry.locate().where == "local"
    assert entry().load(1).shape == (1, 1, 20, 20)
    damaged = bytearray(files["b.png"])
    damaged[len(damaged) // 2] ^= 0x01  # one byte changed
    (folder / "b.png").write_bytes(bytes(damaged))
    data = entry()
    data.load(0)
    with pytest.raises(DatasetError, match=r"b\.png: sha256 checksum mismatch"):
        data.load(1)


def test_shared_copy_with_one_byte_changed_is_rejected(tmp_path, monkeypatch):
    if not (SHARED / "test" / "set12").is_dir():
        pytest.skip(f"shared Set12 not found under {SHARED} (set RESTORE_DATA)")
    root = tmp_path / "root"
    shutil.copytree(SHARED / "test" / "set12", root / "test" / "set12")
    target = root / "test" / "set12" / "07.png"
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    monkeypatch.setenv("RESTORE_DATA", str(root))
    dataset = open_dataset(REGISTRY, "set12")
    with pytest.raises(DatasetError, match=r"07.png"):
        list(dataset)


def test_missing_offline_is_one_clear_line(monkeypatch):
    monkeypatch.delenv("RESTORE_DATA", raising=False)
    monkeypatch.setenv("RESTORE_OFFLINE", "1")
    with pytest.raises(DatasetError) as info:
        open_dataset(REGISTRY, "bsd68")
    message = str(info.value)
    assert "bsd68" in message and "RESTORE_DATA" in message and "test/bsd68" in message and "\n" not in message
    with pytest.raises(DatasetError, match="no verified download"):
        open_dataset(REGISTRY, "set5")  # converted from BMP: its checksums are not the source's


def test_unknown_dataset_names_close_matches():
    with pytest.raises(UnknownNameError, match="did you mean bsd68"):
        open_dataset(REGISTRY, "bsd86")


# ------------------------------------------------------------------- downloads over loopback


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server over a folder; yields (folder, base URL)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_download_into_cache_then_cached(server, monkeypatch, tmp_path):
    root, url = server
    files = {"a.png": _png(3), "b.png": _png(4)}
    for name, data in files.items():
        (root / name).write_bytes(data)
    monkeypatch.delenv("RESTORE_DATA", raising=False)
    entry = _entry(files, url)
    assert entry.locate().where == "missing"
    assert len(entry()) == 2
    assert entry.locate().where == "cache"
    assert sorted(p.name for p in (tmp_path / "cache" / "test" / "tiny").iterdir()) == ["a.png", "b.png"]


def test_corrupt_download_never_lands(server, monkeypatch, tmp_path):
    root, url = server
    files = {"a.png": _png(5)}
    (root / "a.png").write_bytes(_png(6))  # not the published file
    monkeypatch.delenv("RESTORE_DATA", raising=False)
    with pytest.raises(DatasetError, match=r"downloading .*a.png failed"):
        _entry(files, url)()
    cached = tmp_path / "cache" / "test" / "tiny"
    assert not (cached / "a.png").exists()
    assert not cached.exists() or not any(p.is_file() for p in cached.rglob("*"))


def test_unreachable_source_is_a_clear_error(server, monkeypatch):
    _, url = server
    monkeypatch.delenv("RESTORE_DATA", raising=False)
    with pytest.raises(DatasetError, match=r"HTTPError|404"):
        _entry({"nothere.png": b"x"}, url)()


def test_archive_download_is_extracted_and_verified(server, monkeypatch):
    root, url = server
    files = {"a.png": _png(7), "b.png": _png(8)}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(f"tiny/images/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    (root / "tiny.tar.gz").write_bytes(buf.getvalue())
    monkeypatch.delenv("RESTORE_DATA", raising=False)
    entry = _entry(files, url, archive=("tiny.tar.gz", _sha(buf.getvalue())), archive_prefix="tiny/images/")
    assert [r.image_id for r in entry().records] == ["a", "b"]
    assert entry.locate().where == "cache"


# ----------------------------------------------------------------------------- safe archives


def _tar_with(tmp_path: Path, member: str, kind: bytes = tarfile.REGTYPE) -> Path:
    path = tmp_path / "bad.tar"
    with tarfile.open(path, "w") as tf:
        info = tarfile.TarInfo(member)
        info.type = kind
        info.size = 0 if kind != tarfile.REGTYPE else 4
        if kind == tarfile.SYMTYPE:
            info.linkname = "/etc/passwd"
        tf.addfile(info, io.BytesIO(b"evil") if kind == tarfile.REGTYPE else None)
    return path


@pytest.mark.parametrize("member", ["../escape.txt", "/tmp/absolute-escape.txt", "ok/../../escape.txt"])
def test_path_escaping_tar_member_is_refused(tmp_path, member):
    target = tmp_path / "out"
    with pytest.raises(DatasetError, match="outside"):
        extract_archive(_tar_with(tmp_path, member), target)
    assert not (tmp_path / "escape.txt").exists() and not any(target.rglob("*"))


def test_symlink_tar_member_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="link"):
        extract_archive(_tar_with(tmp_path, "innocent", tarfile.SYMTYPE), tmp_path / "out")


def test_path_escaping_zip_member_is_refused(tmp_path):
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("fine.txt", "ok")
        zf.writestr("../escape.txt", "evil")
    with pytest.raises(DatasetError, match="outside"):
        extract_archive(path, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "out" / "fine.txt").exists()


# ------------------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_idx_roundtrip(tmp_path, name):
    images = np.random.default_rng(0).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    path = write_idx(tmp_path / name, images)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    np.testing.assert_array_equal(read_idx(path), images)
    floats = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "f.idx", floats)), floats)


def test_idx_magic_is_checked_by_content_not_name(tmp_path):
    raw = write_idx(tmp_path / "plain", np.zeros((2, 3), np.uint8)).read_bytes()
    (tmp_path / "named.gz").write_bytes(raw)  # not gzip despite its name
    assert read_idx(tmp_path / "named.gz").shape == (2, 3)
    (tmp_path / "junk").write_bytes(b"\x89PNG....")
    with pytest.raises(IDXError, match="not an IDX file"):
        read_idx(tmp_path / "junk")


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_idx_is_a_clear_error(tmp_path, gz):
    raw = write_idx(tmp_path / "x", np.ones((10, 28, 28), np.uint8), compress=False).read_bytes()
    cut = raw[: len(raw) - 100]
    path = tmp_path / "cut"
    path.write_bytes(gzip.compress(cut) if gz else cut)
    with pytest.raises(IDXError, match="truncated IDX data"):
        read_idx(path)
    path.write_bytes(gzip.compress(raw)[:-20])
    with pytest.raises(IDXError, match="truncated or corrupt gzip"):
        read_idx(path)


def test_idx_dataset_reads_images(tmp_path, monkeypatch):
    images = np.random.default_rng(1).integers(0, 256, (12, 28, 28), dtype=np.uint8)
    labels = np.arange(12, dtype=np.uint8) % 10
    folder = tmp_path / "root" / "test" / "tiny"
    img_bytes = write_idx(folder / "images-idx3-ubyte.gz", images).read_bytes()
    lab_bytes = write_idx(folder / "labels-idx1-ubyte.gz", labels).read_bytes()
    monkeypatch.setenv("RESTORE_DATA", str(tmp_path / "root"))
    entry = PublicDataset("tiny", "t", "test/tiny", {"images-idx3-ubyte.gz": _sha(img_bytes),
                                                    "labels-idx1-ubyte.gz": _sha(lab_bytes)},
                          12, "gray", "s", "c", reader="idx")
    data = entry()
    assert [r.image_id for r in data.records][:3] == ["00", "01", "02"]
    np.testing.assert_allclose(data.load(5)[0, 0].numpy(), images[5] / 255.0, atol=1e-7)
    wrong = PublicDataset("tiny", "t", "test/tiny", dict(entry.files), 13, "gray", "s", "c", reader="idx")
    with pytest.raises(DatasetError, match="holds 12 images, expected 13"):
        wrong()


# ------------------------------------------------------------------------------ crop, order


def test_crop_centre_and_corner():
    image = torch.arange(100, dtype=torch.float32).view(1, 1, 10, 10)
    assert crop_image(image, 4, "corner")[0, 0, 0, 0] == 0
    assert crop_image(image, 4, "centre")[0, 0, 0, 0] == 33
    assert crop_image(image, 40).shape == image.shape
    data = open_dataset(REGISTRY, "skimage").limit(2).cropped(64, "corner")
    assert [tuple(img.shape) for _, img in data] == [(1, 3, 64, 64)] * 2
    assert [r.image_id for r in data.records] == ["astronaut", "chelsea"]


# ---------------------------------------------------------------------------------- the CLI


def _datasets_json(env: dict[str, str]) -> dict[str, dict]:
    result = CliRunner().invoke(cli, ["datasets", "--format", "json"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_restore_datasets_with_and_without_local_root(tmp_path, monkeypatch):
    monkeypatch.delenv("RESTORE_DATA", raising=False)
    without = _datasets_json({"RESTORE_CACHE": str(tmp_path / "empty")})
    assert without["bsd68"]["status"] == "downloadable" and without["set5"]["status"] == "missing"
    assert without["skimage"]["status"] == "built in" and without["bsd68"]["images"] == 68
    if not SHARED.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED}")
    with_root = _datasets_json({"RESTORE_DATA": str(SHARED), "RESTORE_CACHE": str(tmp_path / "empty")})
    assert with_root["bsd68"]["status"] == "local" and with_root["bsd68"]["bytes"] > 1_000_000
    assert with_root["kodak24"]["status"] == "missing"


def test_datasets_verify_finds_a_corrupt_local_copy(tmp_path, monkeypatch):
    if not (SHARED / "test" / "set12").is_dir():
        pytest.skip(f"shared Set12 not found under {SHARED} (set RESTORE_DATA)")
    root = tmp_path / "root"
    shutil.copytree(SHARED / "test" / "set12", root / "test" / "set12")
    env = {"RESTORE_DATA": str(root), "RESTORE_CACHE": str(tmp_path / "empty")}
    result = CliRunner().invoke(cli, ["datasets", "--format", "json", "--verify"], env=env)
    assert {r["name"]: r for r in json.loads(result.stdout)}["set12"]["status"] == "local, verified"
    target = root / "test" / "set12" / "07.png"
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    assert _datasets_json(env)["set12"]["status"] == "local"  # without --verify only presence is checked
    result = CliRunner().invoke(cli, ["datasets", "--format", "json", "--verify"], env=env)
    row = {r["name"]: r for r in json.loads(result.stdout)}["set12"]
    assert row["status"] == "local, 1 corrupt (07.png)" and row["corrupt"] == ["07.png"]


def test_an_idx_file_or_its_folder_is_a_dataset_by_path(tmp_path):
    images = np.random.default_rng(2).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    path = write_idx(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", np.arange(5, dtype=np.uint8))
    for spec in (str(path), str(path.parent)):
        data = open_dataset(REGISTRY, spec)
        assert len(data) == 5 and data.mode == "gray"
        np.testing.assert_allclose(data.load(3)[0, 0].numpy(), images[3] / 255.0, atol=1e-7)
    result = CliRunner().invoke(cli, ["bench", "-r", "identity", "-d", "gaussian25", "--dataset", str(path.parent),
                                      "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["images"] == 5


def test_bench_named_set_matches_its_folder_exactly(monkeypatch):
    if not (SHARED / "test" / "bsd68").is_dir():
        pytest.skip(f"shared BSD68 not found under {SHARED}")
    monkeypatch.setenv("RESTORE_DATA", str(SHARED))
    runner = CliRunner()

    def rows(dataset: str) -> list[dict]:
        result = runner.invoke(cli, ["bench", "-r", "identity", "-d", "gaussian25", "--dataset", dataset,
                                     "--limit", "4", "--crop", "64", "--format", "json"], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    named, by_path = rows("bsd68"), rows(str(SHARED / "test" / "bsd68"))
    keys = ("images", "psnr", "psnr_input", "ssim", "ssim_input")
    assert [{k: r[k] for k in keys} for r in named] == [{k: r[k] for k in keys} for r in by_path]


def test_download_bar_speaks_poochs_protocol():
    from restore_core.data.datasets import _DownloadBar

    bar = _DownloadBar("test")
    bar.total = 10
    bar.update(4)
    assert bar.total == 10 and bar._progress.tasks[0].completed == 4
    bar.reset()
    bar.update(10)
    assert bar._progress.tasks[0].completed == 10
    bar.close()
