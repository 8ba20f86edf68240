"""Training: determinism under a seed, exact resume, early stopping, recipes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from restore_core.cli import cli
from restore_core.errors import UsageError
from restore_core.plugins.host import default_host
from restore_core.train.loop import TrainConfig, train
from restore_core.train.recipes import load_recipe

ROOT = Path(__file__).resolve().parents[2]
HOST = default_host()


def _images() -> list[torch.Tensor]:
    data = HOST.registry("dataset").build("skimage-gray").cropped(96)
    return [(data.load(i)[0] * 255).round().to(torch.uint8) for i in range(len(data))]


class Interrupt(Exception):
    pass


def _run(tmp_path: Path, name: str, steps: int, seed: int = 0, checkpoint: Path | None = None,
         stop_at: int | None = None, **kw):
    losses: list[float] = []

    def progress(p) -> None:
        losses.append(p.loss)
        if p.step == stop_at:
            raise Interrupt  # as if the process were killed right after this step
    model = HOST.registry("restorer").build("dncnn:layers=3,features=8")
    deg = HOST.registry("degradation").build("gaussian25")
    images = _images()
    config = TrainConfig(patch=24, batch=4, steps=steps, val_every=2, seed=seed, bf16=False, **kw)
    result = train(model, deg, images[:-2], images[-2:], 1, config, tmp_path / f"{name}.safetensors", {},
                   checkpoint=checkpoint, on_progress=progress)
    return result, losses


def test_same_seed_same_losses_other_seed_other_losses(tmp_path):
    _, a = _run(tmp_path, "a", 20)
    _, b = _run(tmp_path, "b", 20)
    _, c = _run(tmp_path, "c", 20, seed=1)
    assert a == b and len(a) == 20
    assert a != c


def test_resume_from_checkpoint_is_exact(tmp_path):
    ckpt = tmp_path / "run.ckpt"
    with pytest.raises(Interrupt):
        _run(tmp_path, "split", 8, checkpoint=ckpt, stop_at=4, checkpoint_seconds=0.0)
    resumed, tail = _run(tmp_path, "split", 8, checkpoint=ckpt, checkpoint_seconds=0.0)
    whole, losses = _run(tmp_path, "whole", 8)
    assert tail == losses[4:] and resumed.steps == 8
    assert [h["val_psnr"] for h in resumed.history] == [h["val_psnr"] for h in whole.history]


def test_early_stopping_after_patience(tmp_path):
    result, _ = _run(tmp_path, "flat", 100, lr=0.0, patience=2)  # weights frozen: only BatchNorm stats move
    assert result.steps < 100
    assert result.steps == result.best_step + 2 * 2  # two validations (every 2 steps) without a new best


def test_recipes_load_and_are_checked(tmp_path):
    for path in sorted((ROOT / "benchmarks" / "recipes").glob("*.toml")):
        recipe = load_recipe(path)
        assert HOST.registry("restorer").build(recipe["restorer"]) is not None
        assert Path(recipe["out"]).parent.name == "weights"
        assert "init" not in recipe or Path(recipe["init"]).is_file()  # a deepened model's source is shipped
    bad = tmp_path / "bad.toml"
    for text, needle in [("restorer = 1", "must be str"), ('restorer = "dncnn"', "missing degradation"),
                         ('bogus = 1\nrestorer="a"\ndegradation="b"\ndataset="c"', "unknown key"),
                         ('restorer="a"\ndegradation="b"\ndataset="c"\nmilestones=[2]', "fractions")]:
        bad.write_text(text)
        with pytest.raises(UsageError, match=needle):
            load_recipe(bad)


def test_train_from_recipe_with_command_line_override(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('restorer = "dncnn:layers=3,features=8"\ndegradation = "gaussian25"\n'
                      'dataset = "skimage-gray"\nchannels = 1\nout = "w.safetensors"\npatch = 24\nbatch = 2\n'
                      'steps = 4\nval_every = 2\nmilestones = [0.5]\ngamma = 0.5\nbf16 = false\ncrop = 96\n')
    result = CliRunner().invoke(cli, ["train", "--recipe", str(recipe), "--steps", "2", "--val-count", "2"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["steps"] == 2  # the command line wins
    weights = tmp_path / "w.safetensors"  # `out` is relative to the recipe
    assert weights.is_file() and load_file(str(weights))
    history = json.loads((tmp_path / "w.history.json").read_text())
    assert history["metadata"]["recipe"] == str(recipe)


def test_dncnn17_recipe_runs_and_resumes_test_sized(tmp_path):
    """The shipped DnCNN-17 recipe, shrunk by command-line overrides to a CI-sized run."""
    recipe = ROOT / "benchmarks" / "recipes" / "dncnn-17-gray-sigma25.toml"
    out, ckpt = tmp_path / "d17.safetensors", tmp_path / "d17.ckpt"
    args = ["train", "--recipe", str(recipe), "--dataset", "skimage-gray", "--crop", "96", "--patch", "24",
            "--batch", "2", "--val-every", "2", "--val-count", "2", "--max-minutes", "2", "--no-bf16",
            "--out", str(out), "--checkpoint", str(ckpt)]
    first = CliRunner().invoke(cli, [*args, "--steps", "2"], catch_exceptions=False)
    assert first.exit_code == 0, first.stderr
    resumed = CliRunner().invoke(cli, [*args, "--steps", "4"], catch_exceptions=False)
    summary = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 4 and summary["patches_seen"] == 8
    history = json.loads(out.with_suffix(".history.json").read_text())
    assert [h["step"] for h in history["history"]] == [0, 2, 4]  # the warm start scored first
    assert history["metadata"]["restorer"].startswith("dncnn:layers=17")
    assert history["metadata"]["init"].endswith("dncnn-7l-64f-gray-sigma25.safetensors")  # deepened from it
    [stage] = history["metadata"]["earlier_stages"]  # the shipped DnCNN-7's own training record
    assert stage["minutes"] > 20 and stage["patches_seen"] > 0


def test_continued_stage_that_never_improves_keeps_its_starting_weights(tmp_path):
    """A warm start is validated at step 0 and is the best until beaten (out may be init itself)."""
    _run(tmp_path, "start", 4)
    weights = tmp_path / "start.safetensors"
    before = load_file(weights)
    model = HOST.registry("restorer").build("dncnn:layers=3,features=8")
    deg = HOST.registry("degradation").build("gaussian25")
    images = _images()
    # a learning rate of zero: the network never changes, so no later validation beats step 0's
    config = TrainConfig(patch=24, batch=4, steps=4, val_every=2, lr=0.0, bf16=False)
    result = train(model, deg, images[:-2], images[-2:], 1, config, weights, {}, init=weights)
    assert [h["step"] for h in result.history] == [0, 2, 4] and result.best_step == 0
    assert result.history[0]["loss"] is None and result.best_psnr == result.history[0]["val_psnr"]
    after = load_file(weights)
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def test_stage_chain_counts_every_earlier_run(tmp_path):
    base = ["train", "-r", "dncnn:layers=3,features=8", "-d", "gaussian25", "--dataset", "skimage-gray",
            "--crop", "96", "--patch", "24", "--batch", "2", "--steps", "2", "--val-every", "2",
            "--val-count", "2", "--no-bf16"]
    for stage, init in [("a", None), ("b", "a"), ("c", "b")]:
        extra = ["--init", str(tmp_path / f"{init}.safetensors")] if init else []
        result = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / f"{stage}.safetensors"), *extra],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
    stages = json.loads((tmp_path / "c.history.json").read_text())["metadata"]["earlier_stages"]
    assert [Path(s["weights"]).name for s in stages] == ["a.safetensors", "b.safetensors"]
    assert all(s["patches_seen"] == 4 for s in stages)
    assert "2 earlier stage(s)" in (tmp_path / "c.md").read_text()
    (tmp_path / "b.history.json").write_text("{not json")
    broken = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "d.safetensors"),
                                      "--init", str(tmp_path / "b.safetensors")])
    assert broken.exit_code != 0 and "training record" in broken.stderr and "Traceback" not in broken.stderr


def _trained_looking(layers: int, features: int, channels: int = 1) -> torch.nn.Module:
    """A DnCNN network with random weights and non-trivial BatchNorm statistics."""
    network = HOST.registry("restorer").build(f"dncnn:layers={layers},features={features}").build_network(channels)
    with torch.no_grad():
        for m in network.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return network.eval()


@pytest.mark.parametrize("layers", [5, 6, 11])
def test_deepened_dncnn_computes_what_the_shallow_one_did(layers):
    source = _trained_looking(5, 8, channels=3)
    model = HOST.registry("restorer").build(f"dncnn:layers={layers},features=8")
    network = model.build_network(3)
    sample = torch.rand(16, 3, 24, 24)
    model.warm_start(network, source.state_dict(), sample)
    network.eval()
    x = torch.rand(2, 3, 32, 40)
    with torch.no_grad():
        assert (network(x) - source(x)).abs().max() < 1e-5
    names = [n for n, _ in network.named_parameters()]
    assert len(names) == 2 + 2 + 3 * (layers - 2)  # every layer is really there


def test_warm_start_refuses_another_width():
    from restore_core.train.weights import WeightsError

    model = HOST.registry("restorer").build("dncnn:layers=7,features=8")
    with pytest.raises(WeightsError, match="do not fit"):
        model.warm_start(model.build_network(1), _trained_looking(5, 16).state_dict(), torch.rand(4, 1, 24, 24))


def test_learning_rate_warms_up_linearly(tmp_path):
    lrs: list[float] = []
    model = HOST.registry("restorer").build("dncnn:layers=3,features=8")
    deg = HOST.registry("degradation").build("gaussian25")
    images = _images()
    config = TrainConfig(patch=24, batch=2, steps=6, val_every=6, bf16=False, lr=1e-3, warmup=4, milestones=())
    train(model, deg, images[:-2], images[-2:], 1, config, tmp_path / "w.safetensors", {},
          on_progress=lambda p: lrs.append(p.lr))
    assert lrs == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3])


def test_missing_initial_weights_is_one_line_error(tmp_path):
    result = CliRunner().invoke(cli, ["train", "-r", "dncnn", "-d", "gaussian25", "--dataset", "skimage-gray",
                                      "--out", str(tmp_path / "w.safetensors"), "--init", str(tmp_path / "nope")])
    assert result.exit_code != 0
    assert "initial weights" in result.stderr and "Traceback" not in result.stderr


def test_int8_storage_round_trips_within_its_rounding(tmp_path):
    from restore_core.train.weights import read_state, save_state

    network = _trained_looking(5, 32)
    path, full = tmp_path / "w8.safetensors", tmp_path / "w32.safetensors"
    save_state(path, network.state_dict(), {"key": "k"}, int8=True)
    save_state(full, network.state_dict(), {"key": "k"})
    restored = read_state(path)
    assert restored.keys() == network.state_dict().keys()
    for key, value in network.state_dict().items():
        got = restored[key]
        if value.is_floating_point() and value.dim() >= 2:
            step = value.abs().flatten(1).amax(dim=1) / 127
            assert ((got - value).abs().flatten(1) <= step[:, None] / 2 + 1e-7).all(), key
            assert not torch.equal(got, value)  # really rounded
        else:
            assert torch.equal(got, value), key
    assert path.stat().st_size < 0.3 * full.stat().st_size
