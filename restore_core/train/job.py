"""A training job: everything `restore train` does between parsing its options and printing its summary,
callable from Python as `TrainJob(...).run()` or `TrainJob.from_options(...).run()`.

Invariants:

- The job writes three files and nothing else besides the optional checkpoint: the best weights at
  `out` (by `restore_core.train.loop.train`), `out` with `.history.json` (the summary, metadata and
  validation history) and `out` with `.md` (the model card), each atomically.
- Validation images are every k-th image of the dataset (k = len // val_count), the same for any
  seed, so a resumed or repeated run validates on the same images.
- Images are held as uint8 in memory, so a large training set stays small; patches are made from them.
- Metadata records paths relative to the working folder when inside it, so a record carries no home folder.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

import restore_core
from restore_core.errors import UsageError
from restore_core.train.loop import TrainConfig, TrainProgress, cpu_has_native_bf16

if TYPE_CHECKING:
    from restore_core.components.interfaces import Degradation, TrainableRestorer
    from restore_core.plugins.host import PluginHost

#: options of a job that are not TrainConfig fields (those are accepted by name too)
JOB_OPTIONS = ("recipe", "restorer", "degradation", "dataset", "channels", "out", "val_count", "checkpoint",
               "init", "limit", "crop", "crop_at")
REQUIRED = ("restorer", "degradation", "dataset", "out")


@dataclass(frozen=True)
class TrainSummary:
    """What a finished job achieved: the line `restore train` prints, as JSON."""

    weights: str
    steps: int
    best_val_psnr: float
    best_step: int
    minutes: float
    patches_seen: int

    def as_dict(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict, in the order it is printed."""
        return asdict(self)


@dataclass(frozen=True)
class TrainJob:
    """One training run: which network, under which degradation, on which images, how, and where to."""

    restorer: str
    degradation: str
    dataset: str  # a dataset name or a folder of clean images
    out: Path  # the best weights (.safetensors); the history and model card go beside them
    channels: int = 3
    val_count: int = 8  # images held out for validation; 0 validates on the first training images
    limit: int | None = None
    crop: int | None = None
    crop_at: str = "centre"
    config: TrainConfig = field(default_factory=TrainConfig)
    checkpoint: Path | None = None  # resumed from when it exists
    init: Path | None = None  # weights to start from
    recipe: Path | None = None  # only recorded: `from_options` already merged it
    command: str = ""  # the command line that started the job, recorded in the metadata
    host: PluginHost | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_options(cls, *, given: Callable[[str], bool] | None = None, command: str = "",
                     host: PluginHost | None = None, **options: Any) -> TrainJob:
        """Build a job from `restore train`'s options (TrainConfig fields too), a `recipe` filling those not `given`.

        `given(name)` says whether an option was given explicitly; by default every option passed is.
        """
        unknown = sorted(set(options) - set(JOB_OPTIONS) - {f.name for f in fields(TrainConfig)})
        if unknown:
            raise UsageError(f"unknown training option(s): {', '.join(unknown)}")
        is_given = given if given is not None else options.__contains__
        schedule: dict[str, Any] = {}
        if options.get("recipe") is not None:
            from restore_core.train.recipes import load_recipe, merge_recipe

            options, schedule = merge_recipe(load_recipe(options["recipe"]), options, given=is_given)
        for name in REQUIRED:
            if options.get(name) is None:
                raise UsageError(f"training needs a {name} (--{name}, or a recipe that gives it)")
        config = {**schedule, **{f.name: options[f.name] for f in fields(TrainConfig) if f.name in options}}
        if "lr" in config:
            config["lr"] = float(config["lr"])
        if "milestones" in config:
            config["milestones"] = tuple(config["milestones"])
        return cls(restorer=options["restorer"], degradation=options["degradation"], dataset=options["dataset"],
                   out=Path(options["out"]), channels=int(options.get("channels", 3)),
                   val_count=options.get("val_count", 8), limit=options.get("limit"), crop=options.get("crop"),
                   crop_at=options.get("crop_at", "centre"), config=TrainConfig(**config),
                   checkpoint=_optional_path(options.get("checkpoint")), init=_optional_path(options.get("init")),
                   recipe=_optional_path(options.get("recipe")), command=command, host=host)

    def run(self, on_progress: Callable[[TrainProgress], None] | None = None) -> TrainSummary:
        """Train, keep the best weights at `out`, write the history and the model card; return the summary."""
        from restore_core.components.interfaces import TrainableRestorer
        from restore_core.plugins.host import default_host
        from restore_core.system.atomic_files import atomic_write_text
        from restore_core.train import distributed
        from restore_core.train.loop import check_checkpoint_path, train
        from restore_core.train.model_card import render_model_card
        from restore_core.train.weights import read_metadata

        check_checkpoint_path(self.checkpoint)  # before the images load: a bad path must not cost a run
        host = self.host if self.host is not None else default_host()
        model = host.registry("restorer").build(self.restorer)
        if not isinstance(model, TrainableRestorer):
            raise UsageError(f"restorer {self.restorer!r} has no network to train")
        degradation = host.registry("degradation").build(self.degradation)
        train_images, val_images = self._images(host)
        if self.init is not None and not self.init.is_file():
            raise UsageError(f"initial weights {str(self.init)!r} do not exist")
        # under torchrun, one rank of a data-parallel group (gloo on the CPU); else a world of one
        world = distributed.start()
        try:
            metadata = {**self.metadata(model, degradation, len(train_images), len(val_images)),
                        "world_size": world.size, "distributed_backend": world.backend}
            result = train(model, degradation, train_images, val_images, self.channels, self.config, self.out,
                           metadata, self.checkpoint, on_progress, self.init, world=world)
            summary = TrainSummary(weights=str(self.out), steps=result.steps,
                                   best_val_psnr=round(result.best_psnr, 4), best_step=result.best_step,
                                   minutes=round(result.seconds / 60, 2), patches_seen=result.patches_seen)
            if world.main:  # the other ranks validated nothing and write nothing
                atomic_write_text(self.out.with_suffix(".history.json"), json.dumps(
                    {**summary.as_dict(), "metadata": metadata, "history": result.history}, indent=1))
                card_meta = {**metadata, **read_metadata(self.out)} if self.out.is_file() else metadata
                atomic_write_text(self.out.with_suffix(".md"),
                                  render_model_card(summary.as_dict(), card_meta, result.history))
            distributed.barrier(world)  # every rank done (rank 0 wrote the history and card) before teardown
            return summary
        finally:
            distributed.stop(world)

    def metadata(self, model: TrainableRestorer, degradation: Degradation, train_count: int,
                 val_count: int) -> dict[str, Any]:
        """What the weights file, the history and the model card record about how the job was run."""
        from restore_core.system.hardware import cpu_model

        return {"restorer": model.spec(), "degradation": degradation.spec(), "dataset": self.dataset,
                "recipe": str(self.recipe) if self.recipe else None, "init": shown_path(self.init),
                "earlier_stages": earlier_stages(self.init),
                "train_images": train_count, "val_images": val_count,
                "command": self.command, "restore_version": restore_core.__version__,
                "torch": torch.__version__, "machine": f"{platform.machine()} {cpu_model()}",
                "threads": torch.get_num_threads(),
                "bf16": cpu_has_native_bf16() if self.config.bf16 is None else self.config.bf16}

    def _images(self, host: PluginHost) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        from restore_core.plugins.specs import open_dataset_spec

        data = open_dataset_spec(host, self.dataset).limit(self.limit).cropped(self.crop, self.crop_at)
        data = replace(data, mode="gray" if self.channels == 1 else "rgb")
        if len(data) < 2:
            raise UsageError(f"dataset {self.dataset!r} needs at least 2 images (training and validation)")
        val_idx = validation_indices(len(data), self.val_count)

        def load(i: int) -> torch.Tensor:
            return (data.load(i)[0] * 255).round().to(torch.uint8)  # uint8 keeps large sets small in memory

        train_images = [load(i) for i in range(len(data)) if i not in val_idx]
        return train_images, [load(i) for i in sorted(val_idx)] or train_images[:4]


def validation_indices(total: int, val_count: int) -> set[int]:
    """The images of `total` that `restore train` holds out for validation: `val_count` spread evenly."""
    k = max(2, total // max(val_count, 1)) if val_count else 0
    return set(range(k // 2, total, k)[:val_count]) if k else set()


def earlier_stages(init: Path | None) -> list[dict[str, Any]]:
    """The training stages behind the weights `init` (from its `.history.json`, when it has one), oldest
    first, so a card counts a model's whole training time however many runs it took."""
    if init is None:
        return []
    record = init.with_suffix(".history.json")
    if not record.is_file():
        return []
    try:
        earlier = json.loads(record.read_text())
        stage = {"weights": shown_path(init), "minutes": float(earlier["minutes"]),
                 "steps": int(earlier["steps"]), "patches_seen": int(earlier["patches_seen"]),
                 "threads": earlier.get("metadata", {}).get("threads")}
        return [*earlier.get("metadata", {}).get("earlier_stages", []), stage]
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"the training record {str(record)!r} beside the initial weights is unreadable: "
                         f"{exc}; move it away to train without it") from exc


def shown_path(path: Path | None) -> str | None:
    """`path` relative to the working folder when inside it, so records do not carry a home folder."""
    if path is None:
        return None
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _optional_path(value: str | Path | None) -> Path | None:
    return None if value is None else Path(value)
