"""`restore train`: train a restorer's network by options or a recipe."""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

import restore_core
from restore_core.cli.context import host_of, stderr
from restore_core.errors import UsageError
from restore_core.plugins.specs import (
    open_dataset_spec,
)


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
    import torch

    from restore_core.components.interfaces import TrainableRestorer
    from restore_core.system.atomic_files import atomic_write_text
    from restore_core.train.loop import TrainConfig, cpu_has_native_bf16
    from restore_core.train.loop import train as run_training
    from restore_core.train.model_card import render_model_card
    from restore_core.train.weights import read_metadata

    recipe = options["recipe"]
    schedule: dict[str, Any] = {}
    if recipe is not None:
        from restore_core.train.recipes import load_recipe, merge_recipe

        options, schedule = merge_recipe(load_recipe(recipe), options, given=lambda key: (
            ctx.get_parameter_source(key) == click.core.ParameterSource.COMMANDLINE))
    for name in ("restorer", "degradation", "dataset", "out"):
        if options[name] is None:
            raise UsageError(f"train needs --{name} (or a --recipe that gives it)")
    restorer, degradation, dataset = options["restorer"], options["degradation"], options["dataset"]
    out, channels, val_count = Path(options["out"]), int(options["channels"]), options["val_count"]
    host = host_of(ctx)
    model = host.registry("restorer").build(restorer)
    if not isinstance(model, TrainableRestorer):
        raise UsageError(f"restorer {restorer!r} has no network to train")
    deg = host.registry("degradation").build(degradation)
    data = open_dataset_spec(host, dataset).limit(options["limit"]).cropped(options["crop"], options["crop_at"])
    data = replace(data, mode="gray" if channels == 1 else "rgb")
    if len(data) < 2:
        raise UsageError(f"dataset {dataset!r} needs at least 2 images (training and validation)")
    k = max(2, len(data) // max(val_count, 1)) if val_count else 0
    val_idx = set(range(k // 2, len(data), k)[:val_count]) if k else set()

    def load(i: int) -> torch.Tensor:
        return (data.load(i)[0] * 255).round().to(torch.uint8)  # uint8 keeps large sets small in memory

    train_images = [load(i) for i in range(len(data)) if i not in val_idx]
    val_images = [load(i) for i in sorted(val_idx)] or train_images[:4]
    config = TrainConfig(**{k: options[k] for k in ("patch", "batch", "steps", "max_minutes", "val_every", "seed",
                                                    "bf16", "patience", "warmup")}, lr=float(options["lr"]), **schedule)
    init = Path(options["init"]) if options["init"] is not None else None
    if init is not None and not init.is_file():
        raise UsageError(f"initial weights {str(init)!r} do not exist")
    from restore_core.system.hardware import cpu_model

    command = "restore train " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["train"] else ""
    metadata = {"restorer": model.spec(), "degradation": deg.spec(), "dataset": dataset,
                "recipe": str(recipe) if recipe else None, "init": _shown_path(init),
                "earlier_stages": _earlier_stages(init),
                "train_images": len(train_images), "val_images": len(val_images),
                "command": command, "restore_version": restore_core.__version__,
                "torch": torch.__version__, "machine": f"{platform.machine()} {cpu_model()}",
                "threads": torch.get_num_threads(),
                "bf16": cpu_has_native_bf16() if config.bf16 is None else config.bf16}
    interactive = stderr.is_terminal
    last_log = [0.0]

    def on_progress(p: Any) -> None:
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
        task = progress.add_task("training", total=config.steps)
        result = run_training(model, deg, train_images, val_images, channels, config, out,
                              metadata, options["checkpoint"], on_progress, init)
    summary = {"weights": str(out), "steps": result.steps, "best_val_psnr": round(result.best_psnr, 4),
               "best_step": result.best_step, "minutes": round(result.seconds / 60, 2),
               "patches_seen": result.patches_seen}
    history_path = out.with_suffix(".history.json")
    atomic_write_text(history_path, json.dumps({**summary, "metadata": metadata, "history": result.history},
                                               indent=1))
    card_meta = {**metadata, **read_metadata(out)} if out.is_file() else metadata
    atomic_write_text(out.with_suffix(".md"), render_model_card(summary, card_meta, result.history))
    click.echo(json.dumps(summary))


def _earlier_stages(init: Path | None) -> list[dict[str, Any]]:
    """The training stages behind the weights `init` (from its `.history.json`, when it has one), oldest
    first, so a card counts a model's whole training time however many runs it took."""
    if init is None:
        return []
    record = init.with_suffix(".history.json")
    if not record.is_file():
        return []
    try:
        earlier = json.loads(record.read_text())
        stage = {"weights": _shown_path(init), "minutes": float(earlier["minutes"]),
                 "steps": int(earlier["steps"]), "patches_seen": int(earlier["patches_seen"]),
                 "threads": earlier.get("metadata", {}).get("threads")}
        return [*earlier.get("metadata", {}).get("earlier_stages", []), stage]
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"the training record {str(record)!r} beside the initial weights is unreadable: "
                         f"{exc}; move it away to train without it") from exc


def _shown_path(path: Path | None) -> str | None:
    """`path` relative to the working folder when inside it, so records do not carry a home folder."""
    if path is None:
        return None
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)

