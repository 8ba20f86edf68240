"""Hostile weights, checkpoints and large images: bounded super-resolution memory, finite outputs,
weights refused for what their metadata does not cover, corrupt checkpoints refused by name, and the
pixel limit and tile progress of `restore run`."""

from __future__ import annotations

import json
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from safetensors.torch import save_file

from restore_core.cli import cli
from restore_core.components.interfaces import SUPER_RESOLUTION, DegradationInfo
from restore_core.errors import OutputError, UsageError, WeightsError
from restore_core.imaging.tiling import reporting_tiles, run_tiled
from restore_core.plugins.host import default_host
from restore_core.restoring import build_restorer, restore_files, restore_image
from restore_core.train.job import TrainJob
from restore_core.train.loop import TrainConfig, read_checkpoint, train
from restore_core.train.weights import save_weights

HOST = default_host()


def _one_line_error(result, *needles: str) -> str:
    """The single stderr line of a failed command, which must name each needle."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _photo(path: Path, height: int, width: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray((rng.random((height, width, 3)) * 255).astype(np.uint8)).save(path)
    return path


# --- super-resolution memory: the whole pipeline runs tile by tile --------------------------------


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("channels", [1, 3])
def test_tiled_super_resolution_equals_untiled(scale, channels):
    x = torch.rand(1, channels, 41, 57, generator=torch.Generator().manual_seed(scale))
    info = DegradationInfo(SUPER_RESOLUTION, scale=scale)
    whole = build_restorer("srcnn", tile=0, backend="eager").restore(x, info)
    tiles: list[tuple[int, int]] = []
    with reporting_tiles(lambda done, total: tiles.append((done, total))):
        tiled = build_restorer("srcnn", tile=64, backend="eager").restore(x, info)
    assert tiled.shape == (1, channels, 41 * scale, 57 * scale)
    assert len(tiles) > 4 and tiles[-1][0] == tiles[-1][1] == len(tiles)  # it did tile, and said so
    assert float((tiled - whole).abs().max()) < 1e-5


def test_super_resolution_never_holds_more_than_a_tile(monkeypatch):
    """Every up-sampling and every network call sees at most a tile, however large the image."""
    import restore_builtins.srcnn as srcnn

    seen: list[tuple[int, int]] = []
    upsample = srcnn._upsample

    def spy(degraded, scale):
        out = upsample(degraded, scale)
        seen.append(tuple(out.shape[-2:]))
        return out

    monkeypatch.setattr(srcnn, "_upsample", spy)
    restorer = build_restorer("srcnn", tile=96, backend="eager")
    network_inputs: list[tuple[int, int]] = []
    x = torch.rand(1, 3, 150, 130)
    info = DegradationInfo(SUPER_RESOLUTION, scale=3)
    restorer.prepare(info, 3)
    restorer._networks[restorer.weights_key(info, 3)].register_forward_pre_hook(
        lambda module, args: network_inputs.append(tuple(args[0].shape[-2:])))
    out = restorer.restore(x, info)
    assert out.shape == (1, 3, 450, 390)
    assert len(seen) > 20 and len(network_inputs) == len(seen)
    assert max(max(s) for s in seen + network_inputs) <= 96


def test_tiles_without_the_bicubic_context_would_show_seams():
    """The context the up-sampling needs is what makes tiles match: without it they differ."""
    from restore_core.imaging.resize import bicubic_resize

    x = torch.rand(1, 1, 60, 60, generator=torch.Generator().manual_seed(1))

    def up(t):
        return bicubic_resize(t, t.shape[-2] * 2, t.shape[-1] * 2)

    whole = up(x)
    assert float((run_tiled(up, x, tile=20, margin=3, blend=4, scale=2) - whole).abs().max()) < 1e-5
    assert float((run_tiled(up, x, tile=20, margin=0, blend=4, scale=2) - whole).abs().max()) > 1e-3


def test_bicubic_restorer_clamps_its_own_result():
    x = torch.rand(1, 3, 20, 20, generator=torch.Generator().manual_seed(2)) * 1.4 - 0.2
    out = build_restorer("bicubic").restore(x, DegradationInfo(SUPER_RESOLUTION, scale=2))
    assert out.shape == (1, 3, 40, 40) and float(out.min()) >= 0 and float(out.max()) <= 1


# --- weights: non-finite values, metadata that is not a mapping, configurations not covered ----


def _srcnn_weights(path: Path, key: str | None = "srcnn-x2-y", fill: float | None = None) -> Path:
    from restore_builtins.srcnn_network import SRCNNNetwork

    network = SRCNNNetwork(residual=True)
    if fill is not None:
        with torch.no_grad():
            for p in network.parameters():
                p.fill_(fill)
    save_weights(path, network, {} if key is None else {"key": key})
    return path


def test_weights_holding_nan_are_refused_when_loaded(tmp_path):
    from restore_builtins.srcnn_network import SRCNNNetwork

    network = SRCNNNetwork(residual=True)
    with torch.no_grad():
        network.body[2].weight[0, 0, 0, 0] = float("nan")
    path = tmp_path / "nan.safetensors"
    save_weights(path, network, {"key": "srcnn-x2-y"})
    with pytest.raises(WeightsError, match="not finite") as info:
        restore_image(f"srcnn:weights={path}", torch.rand(1, 3, 8, 8), scale=2, backend="eager")
    assert str(path) in str(info.value) and "body.2.weight" in str(info.value)
    _photo(tmp_path / "in.png", 12, 12)
    result = CliRunner().invoke(cli, ["run", f"srcnn:weights={path}", str(tmp_path / "in.png"), "-o",
                                      str(tmp_path / "out.png"), "--scale", "2"])
    assert result.exit_code == 1
    _one_line_error(result, str(path), "not finite")
    assert not (tmp_path / "out.png").exists()


def test_a_non_finite_output_is_an_error_and_nothing_is_written(tmp_path):
    # finite weights so large that the network overflows to infinity
    path = _srcnn_weights(tmp_path / "huge.safetensors", fill=1e20)
    _photo(tmp_path / "in.png", 12, 12)
    result = CliRunner().invoke(cli, ["run", f"srcnn:weights={path}", str(tmp_path / "in.png"), "-o",
                                      str(tmp_path / "out.png"), "--scale", "2", "-b", "eager"])
    assert result.exit_code == 1
    _one_line_error(result, "srcnn", str(path), "not finite")
    assert list(tmp_path.iterdir()) == [path, tmp_path / "in.png"] or not (tmp_path / "out.png").exists()
    with pytest.raises(OutputError, match="srcnn"):
        restore_image(f"srcnn:weights={path}", torch.rand(1, 1, 8, 8), scale=2, backend="eager")


def test_a_non_finite_output_of_any_restorer_is_refused():
    from restore_core.components.interfaces import DENOISING, Restorer

    class Broken(Restorer):
        name = "broken"
        tasks = frozenset({DENOISING})

        def restore(self, degraded, info):
            return torch.full_like(degraded, float("nan"))

    with pytest.raises(OutputError, match="broken"):
        restore_image(Broken(), torch.rand(1, 1, 8, 8), sigma=25)


def test_weights_metadata_that_is_not_a_mapping_is_refused(tmp_path):
    from restore_builtins.srcnn_network import SRCNNNetwork

    path = tmp_path / "srcnn-x2-y.safetensors"
    save_file({k: v.contiguous() for k, v in SRCNNNetwork(True).state_dict().items()}, str(path),
              metadata={"restore": json.dumps([1, 2])})
    _photo(tmp_path / "in.png", 12, 12)
    result = CliRunner().invoke(cli, ["run", f"srcnn:weights={path}", str(tmp_path / "in.png"), "-o",
                                      str(tmp_path / "out.png"), "--scale", "2"])
    assert result.exit_code == 1
    _one_line_error(result, str(path), "metadata")


def test_weights_serve_only_the_configuration_they_record_or_are_named_for(tmp_path):
    x = torch.rand(1, 3, 6, 6)
    recorded = _srcnn_weights(tmp_path / "any-name.safetensors", key="srcnn-x2-y")
    assert restore_image(f"srcnn:weights={recorded}", x, scale=2).shape == (1, 3, 12, 12)
    with pytest.raises(WeightsError, match="trained as srcnn-x2-y, not srcnn-x3-y"):
        restore_image(f"srcnn:weights={recorded}", x, scale=3)
    # no metadata: usable only under the name of the configuration (a 3x3 image must not become 3000x3000)
    anonymous = _srcnn_weights(tmp_path / "mine.safetensors", key=None)
    with pytest.raises(WeightsError, match=r"no key .* name the file srcnn-x4-y\.safetensors") as info:
        restore_image(f"srcnn:weights={anonymous}", torch.rand(1, 3, 3, 3), scale=4)
    assert str(anonymous) in str(info.value)
    named = _srcnn_weights(tmp_path / "srcnn-x2-y.safetensors", key=None)
    assert restore_image(f"srcnn:weights={named}", x, scale=2).shape == (1, 3, 12, 12)
    with pytest.raises(WeightsError, match="srcnn-x3-y"):
        restore_image(f"srcnn:weights={named}", x, scale=3)


# --- training checkpoints -----------------------------------------------------------------------


def _images() -> list[torch.Tensor]:
    data = HOST.registry("dataset").build("skimage-gray").cropped(64)
    return [(data.load(i)[0] * 255).round().to(torch.uint8) for i in range(len(data))]


def _train(tmp_path: Path, checkpoint: Path | None, spec: str = "dncnn:layers=3,features=8", steps: int = 2,
           on_progress=None, **config):
    images = _images()
    return train(HOST.registry("restorer").build(spec), HOST.registry("degradation").build("gaussian25"),
                 images[:-2], images[-2:], 1,
                 TrainConfig(patch=24, batch=2, steps=steps, val_every=2, bf16=False, **config),
                 tmp_path / "w.safetensors", {}, checkpoint=checkpoint, on_progress=on_progress)


class _Payload:
    """Unpickling this would create the marker file: the attack a pickle checkpoint carries."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _corrupt_checkpoints(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = tmp_path / "good.ckpt"
    _train(tmp_path, good)
    whole = good.read_bytes()
    cases = {"empty": (b"", "is empty"), "truncated": (whole[: len(whole) // 2], "truncated"),
             "garbage": (bytes(range(256)) * 8, "truncated or not a checkpoint"),
             "plain pickle": (pickle.dumps({"network": 1}), "not a checkpoint"),
             "a list": (None, "not a restore train checkpoint")}
    out = {}
    for name, (data, needle) in cases.items():
        path = tmp_path / f"{name.replace(' ', '-')}.ckpt"
        if data is None:
            torch.save([1, 2], path)  # a readable torch file, but not a checkpoint
        else:
            path.write_bytes(data)
        out[name] = (path, needle)
    evil = tmp_path / "evil.ckpt"
    torch.save({"network": _Payload(tmp_path / "pwned")}, evil)
    out["malicious pickle"] = (evil, "never unpickles")
    other = tmp_path / "other.ckpt"
    _train(tmp_path, other, spec="dncnn:layers=4,features=8")
    out["other architecture"] = (other, "does not fit this training run")
    return out


def test_corrupt_checkpoints_are_refused_by_name_and_never_unpickled(tmp_path):
    for name, (path, needle) in _corrupt_checkpoints(tmp_path).items():
        steps: list[int] = []
        with pytest.raises(WeightsError) as info:
            _train(tmp_path, path, on_progress=lambda p, steps=steps: steps.append(p.step))
        message = str(info.value)
        assert str(path) in message and needle in message, (name, message)
        assert "\n" not in message and "weights_only" not in message, (name, message)
        assert steps == [], name  # refused before a single step
    assert not (tmp_path / "pwned").exists()  # the malicious pickle was never executed


def test_a_corrupt_checkpoint_gives_one_line_on_the_command_line(tmp_path):
    path = tmp_path / "run.ckpt"
    torch.save({"network": _Payload(tmp_path / "pwned")}, path)
    result = CliRunner().invoke(cli, ["train", "-r", "dncnn:layers=3,features=8", "-d", "gaussian25", "--dataset",
                                      "skimage-gray", "--crop", "64", "--patch", "24", "--batch", "2", "--steps",
                                      "2", "--val-count", "2", "--no-bf16", "--out", str(tmp_path / "w.safetensors"),
                                      "--checkpoint", str(path)])
    assert result.exit_code == 1
    _one_line_error(result, str(path), "never unpickles")
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "w.safetensors").exists()


@pytest.mark.parametrize("where", ["folder", "missing folder", "unwritable folder"])
def test_a_checkpoint_path_that_cannot_be_written_is_refused_before_training(tmp_path, where):
    import os

    if where == "folder":
        checkpoint = tmp_path / "ckpts"
        checkpoint.mkdir()
    elif where == "missing folder":
        checkpoint = tmp_path / "nowhere" / "run.ckpt"
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        if os.access(locked, os.W_OK):  # running as root: permissions do not bind
            pytest.skip("this user can write into read-only folders")
        checkpoint = locked / "run.ckpt"
    result = CliRunner().invoke(cli, ["train", "-r", "dncnn:layers=3,features=8", "-d", "gaussian25", "--dataset",
                                      "skimage-gray", "--crop", "64", "--patch", "24", "--batch", "2", "--steps",
                                      "2", "--val-count", "2", "--no-bf16", "--out", str(tmp_path / "w.safetensors"),
                                      "--checkpoint", str(checkpoint)])
    assert result.exit_code == 2
    _one_line_error(result, str(checkpoint))
    assert not (tmp_path / "w.safetensors").exists()  # refused before training, not after it


def test_checkpoint_every_zero_writes_a_checkpoint_a_resumed_run_continues_from(tmp_path):
    checkpoint = tmp_path / "run.ckpt"
    options = {"restorer": "dncnn:layers=3,features=8", "degradation": "gaussian25", "dataset": "skimage-gray",
               "crop": 64, "channels": 1, "patch": 24, "batch": 2, "steps": 4, "val_every": 2, "val_count": 2,
               "bf16": False, "out": tmp_path / "w.safetensors", "checkpoint": checkpoint, "checkpoint_seconds": 0}

    class Killed(Exception):
        pass

    def kill_after_step_2(progress) -> None:
        if progress.step == 2:
            raise Killed  # as if the process died right after this step, long before 120 s

    with pytest.raises(Killed):
        TrainJob.from_options(**options).run(kill_after_step_2)
    assert read_checkpoint(checkpoint)["state"]["step"] == 2
    resumed: list[int] = []
    summary = TrainJob.from_options(**options).run(lambda p: resumed.append(p.step))
    assert resumed == [3, 4] and summary.steps == 4
    # the option reaches the run from the command line, and is recorded with the weights
    result = CliRunner().invoke(cli, ["train", "-r", "dncnn:layers=3,features=8", "-d", "gaussian25", "--dataset",
                                      "skimage-gray", "--crop", "64", "--channels", "1", "--patch", "24", "--batch",
                                      "2", "--steps", "2", "--val-count", "2", "--no-bf16", "--out",
                                      str(tmp_path / "cli.safetensors"), "--checkpoint-every", "0"])
    assert result.exit_code == 0, result.stderr
    from restore_core.train.weights import read_metadata

    assert read_metadata(tmp_path / "cli.safetensors")["config"]["checkpoint_seconds"] == 0


# --- large images in `restore run` ---------------------------------------------------------------


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height but whose pixel data is a few bytes: decoding fails."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
                     + chunk(b"IEND", b""))
    return path


def test_an_image_above_the_pixel_limit_is_refused_from_its_header(tmp_path):
    # 9000 x 9000 is 81 megapixels: above the default limit, and never decoded to find that out
    big = _png_claiming(tmp_path / "big.png", 9000, 9000)
    result = CliRunner().invoke(cli, ["run", "bicubic", str(big), "-o", str(tmp_path / "out.png"), "--scale", "1"])
    assert result.exit_code == 2
    _one_line_error(result, str(big), "81,000,000", "67,108,864", "--max-pixels")
    # super-resolution counts the output's pixels
    small = _photo(tmp_path / "small.png", 30, 40)
    args = ["run", "bicubic", str(small), "-o", str(tmp_path / "out.png"), "--scale", "2"]
    refused = CliRunner().invoke(cli, [*args, "--max-pixels", "4799"])
    assert refused.exit_code == 2
    _one_line_error(refused, "80x60 = 4,800 pixels", "4,799")
    assert not (tmp_path / "out.png").exists()
    assert CliRunner().invoke(cli, [*args, "--max-pixels", "4800"]).exit_code == 0
    assert (tmp_path / "out.png").is_file()
    with pytest.raises(UsageError, match="max_pixels"):
        restore_image("bicubic", torch.rand(1, 3, 30, 40), scale=2, max_pixels=100)


def test_tile_progress_reaches_the_caller_and_stays_off_a_pipe(tmp_path):
    photo = _photo(tmp_path / "p.png", 100, 90)
    calls: list[tuple[Path, int, int]] = []
    restore_files("srcnn", [photo], tmp_path / "out.png", scale=2, tile=64, backend="eager",
                  on_tile=lambda path, done, total: calls.append((path, done, total)))
    total = calls[-1][2]
    assert total > 4 and calls == [(photo, i, total) for i in range(1, total + 1)]
    result = CliRunner().invoke(cli, ["run", "srcnn", str(photo), "-o", str(tmp_path / "cli.png"), "--scale", "2",
                                      "--tile", "64"])
    assert result.exit_code == 0
    # no bar when piped: only the line naming the output (which rich folds at 80 columns)
    # what the network ran with, then the file written; no progress bar on a pipe
    said = result.stderr.replace("\n", "")
    assert said.startswith("srcnn: ") and said.endswith(f"{photo} -> {tmp_path / 'cli.png'}") and "tiles" not in said
