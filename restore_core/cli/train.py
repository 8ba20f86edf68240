"""`restore train`: train a restorer's network by options or a recipe (`restore_core.train.job.TrainJob`)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from restore_core.cli.context import host_of, stderr


@click.command()
@click.option("--recipe", type=click.Path(path_type=Path), default=None,
              help="A TOML training recipe (a .toml file in benchmarks/recipes/); options given here win.")
@click.option("-r", "--restorer", default=None, help="Trainable restorer spec, e.g. dncnn:layers=7.")
@click.option("-d", "--degradation", default=None, help="Degradation spec to train under.")
@click.option("--dataset", default=None, help="Dataset name (see `restore datasets`) or folder of clean images.")
@click.option("--channels", type=click.Choice(["1", "3"]), default="3", show_default=True,
              help="Train on gray (1) or colour (3) images.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Where the best weights (.safetensors) go; a model card goes beside them.")
@click.option("--val-count", default=8, show_default=True,
              help="Images held out of the training folder for validation (every k-th file).")
@click.option("--patch", default=40, show_default=True, help="Patch size (clean side).")
@click.option("--batch", default=32, show_default=True, help="Patches per step.")
@click.option("--steps", default=3000, show_default=True, help="Optimiser steps.")
@click.option("--lr", default=1e-3, show_default=True, help="Initial Adam learning rate.")
@click.option("--max-minutes", type=float, default=None, help="Wall-clock budget; the schedule follows it.")
@click.option("--warmup", type=click.IntRange(min=0), default=0, show_default=True,
              help="Steps of linear learning-rate warm-up.")
@click.option("--val-every", default=250, show_default=True, help="Validate every N steps.")
@click.option("--checkpoint", type=click.Path(path_type=Path), default=None,
              help="Resumable checkpoint file (resumed from when it exists).")
@click.option("--checkpoint-every", "checkpoint_seconds", type=click.FloatRange(min=0), default=120.0,
              show_default=True, help="Seconds between checkpoints; 0 writes one after every step.")
@click.option("--init", type=click.Path(path_type=Path), default=None,
              help="Start from these weights (.safetensors), e.g. a shallower DnCNN to deepen.")
@click.option("--seed", default=0, show_default=True)
@click.option("--bf16/--no-bf16", default=None, help="bf16 autocast (default: when the CPU has it).")
@click.option("--limit", type=click.IntRange(min=2), default=None, help="Use only the first N images.")
@click.option("--crop", type=click.IntRange(min=8), default=None, help="Crop every image to at most SIZE.")
@click.option("--crop-at", type=click.Choice(["centre", "corner"]), default="centre", show_default=True)
@click.option("--patience", type=click.IntRange(min=1), default=None,
              help="Stop after this many validations without a new best.")
@click.pass_context
def train(ctx: click.Context, **options: Any) -> None:
    """Train a restorer's network; keep the best weights by validation PSNR."""
    from restore_core.train import distributed
    from restore_core.train.job import TrainJob

    command = "restore train " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["train"] else ""
    job = TrainJob.from_options(**options, command=command, host=host_of(ctx), given=lambda key: (
        ctx.get_parameter_source(key) == click.core.ParameterSource.COMMANDLINE))
    interactive = stderr.is_terminal
    last_log = [0.0]

    def on_progress(p: Any) -> None:
        if not distributed.current().main:
            return  # under torchrun, rank 0 alone reports
        if interactive:
            progress.update(task, completed=p.step, description=(
                f"loss {p.loss:.2e} val {p.val_psnr or p.best_psnr or 0:.2f} dB "
                f"{p.patches_per_second:.0f} patch/s"))
        elif p.val_psnr is not None or time.monotonic() - last_log[0] > 60:
            last_log[0] = time.monotonic()
            val = "" if p.val_psnr is None else f" val {p.val_psnr:.3f} dB (best {p.best_psnr:.3f})"
            click.echo(f"step {p.step}/{p.steps} {p.elapsed / 60:.1f} min loss {p.loss:.3e} "
                       f"lr {p.lr:.1e} {p.patches_per_second:.0f} patch/s{val}", err=True)

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=stderr, disable=not interactive) as progress:
        task = progress.add_task("training", total=job.config.steps)
        summary = job.run(on_progress)
    if distributed.current().main:
        click.echo(json.dumps(summary.as_dict()))
