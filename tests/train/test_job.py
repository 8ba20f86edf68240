"""A training job run from Python: the files it writes, recipes, and divergence as a TrainingError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from safetensors.torch import load_file
from tests_support import write_crops

from restore_core.cli import cli
from restore_core.errors import TrainingError, UsageError
from restore_core.train.job import TrainJob
from restore_core.train.loop import TrainConfig
from restore_core.train.weights import read_metadata

CHEAP = TrainConfig(patch=24, batch=2, steps=2, val_every=2, bf16=False)


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Path:
    """Four 48-px gray crops of scikit-image's camera."""
    return write_crops(tmp_path / "clean", "camera", 4, 48, 100, 120, "img")


def test_job_writes_weights_card_and_history(tiny_folder, tmp_path):
    out = tmp_path / "w.safetensors"
    job = TrainJob(restorer="dncnn:layers=3,features=8", degradation="gaussian25", dataset=str(tiny_folder),
                   out=out, channels=1, val_count=1, config=CHEAP)
    steps: list[int] = []
    summary = job.run(on_progress=lambda p: steps.append(p.step))
    assert steps == [1, 2] and summary.steps == 2 and summary.best_step == 2 and summary.weights == str(out)
    assert load_file(str(out)) and read_metadata(out)["channels"] == 1
    history = json.loads(out.with_suffix(".history.json").read_text())
    assert {k: history[k] for k in summary.as_dict()} == summary.as_dict()
    assert history["metadata"]["train_images"] == 3 and history["metadata"]["val_images"] == 1
    assert history["metadata"]["command"] == "" and [h["step"] for h in history["history"]] == [2]
    assert "dncnn:layers=3" in out.with_suffix(".md").read_text()


def test_from_options_merges_a_recipe_under_given_options(tiny_folder, tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text(f'restorer = "dncnn:layers=3,features=8"\ndegradation = "gaussian25"\n'
                      f'dataset = "{tiny_folder}"\nchannels = 1\nout = "w.safetensors"\npatch = 24\n'
                      'steps = 40\nmilestones = [0.5]\n')
    job = TrainJob.from_options(recipe=recipe, steps=2, batch=2)
    assert job.config.steps == 2 and job.config.patch == 24 and job.config.milestones == (0.5,)
    assert job.out == tmp_path / "w.safetensors" and job.channels == 1 and job.recipe == recipe
    with pytest.raises(UsageError, match="needs a restorer"):
        TrainJob.from_options(degradation="gaussian25", dataset="skimage", out="w.safetensors")
    with pytest.raises(UsageError, match=r"unknown training option.*stepz"):
        TrainJob.from_options(recipe=recipe, stepz=2)


def test_divergence_is_a_training_error_not_a_usage_error(tiny_folder, tmp_path):
    args = ["train", "-r", "dncnn:layers=3,features=8", "-d", "gaussian25", "--dataset", str(tiny_folder),
            "--channels", "1", "--patch", "24", "--batch", "2", "--steps", "20", "--lr", "1e12", "--no-bf16",
            "--out", str(tmp_path / "w.safetensors")]
    job = TrainJob.from_options(restorer="dncnn:layers=3,features=8", degradation="gaussian25",
                                dataset=str(tiny_folder), channels=1, out=tmp_path / "w.safetensors",
                                patch=24, batch=2, steps=20, lr=1e12, bf16=False)
    with pytest.raises(TrainingError, match="training diverged") as info:
        job.run()
    assert not isinstance(info.value, UsageError)
    result = CliRunner().invoke(cli, args)  # a failure (exit 1), not a usage error (exit 2)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith("restore: error: training diverged")
