"""The benchmark runner: every restorer x degradation x dataset (x backend), scored by every metric.

Each image's degradation is generated once from a generator derived from (seed, image id,
degradation spec) and shared by every restorer, so rows of a table are directly comparable.
Timing covers `restore` alone (no I/O, degradation or scoring), after one untimed warm-up per
cell; on CUDA the backend's copy back to the CPU synchronises. Memory is the peak extra memory of
each call (see `restore_core.system.memory`): resident memory on the CPU, allocated device memory for a
backend that computes on CUDA. With a results store, every image's result is appended as it is
measured and a resumed run skips what the store already holds.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from restore_core.bench.store import Key, RunStore
from restore_core.components.interfaces import Degradation, Degraded, Restorer
from restore_core.data.datasets import Dataset
from restore_core.data.seeding import image_generator
from restore_core.errors import IncompatibleError, WeightsNotFoundError
from restore_core.imaging.resize import bicubic_resize
from restore_core.system.atomic_files import atomic_write_text
from restore_core.system.memory import peak_extra_memory


@dataclass
class CellResult:
    """The scores of one (restorer, backend, degradation, dataset) combination."""

    restorer: str
    degradation: str
    dataset: str
    backend: str | None = None
    images: int = 0
    scores: dict[str, list[float]] = field(default_factory=dict)  # metric -> per image, restored
    input_scores: dict[str, list[float]] = field(default_factory=dict)  # metric -> per image, degraded
    seconds: list[float] = field(default_factory=list)
    pixels: list[int] = field(default_factory=list)
    image_ids: list[str] = field(default_factory=list)
    skipped: str | None = None
    peak_extra_memory_mib: float | None = None  # the largest of its images' (see restore_core.system.memory)

    def mean(self, metric: str, of_input: bool = False) -> float | None:
        """Return the mean of `metric` over images (None when not measured)."""
        values = (self.input_scores if of_input else self.scores).get(metric)
        return statistics.fmean(values) if values else None

    @property
    def seconds_per_image(self) -> float | None:
        """Return the median restore time per image, excluding I/O, degradation and scoring."""
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def megapixels_per_second(self) -> float | None:
        """Return output megapixels restored per second of restore time."""
        total = sum(self.seconds)
        return sum(self.pixels) / total / 1e6 if total > 0 else None

    def add(self, record: dict[str, Any]) -> None:
        """Fold one per-image result record into the cell."""
        self.images += 1
        self.image_ids.append(record["image"])
        for name, value in record["metrics"].items():
            self.scores.setdefault(name, []).append(value)
        for name, value in record["input_metrics"].items():
            if value is not None:
                self.input_scores.setdefault(name, []).append(value)
        self.seconds.append(record["seconds"])
        self.pixels.append(record["pixels"])
        # records from before peak_extra_memory_mib held the process's high-water mark: not comparable
        if record.get("peak_extra_memory_mib") is not None:
            self.peak_extra_memory_mib = max(self.peak_extra_memory_mib or 0.0, record["peak_extra_memory_mib"])

    @property
    def peak_memory_mib(self) -> float | None:
        """Return `peak_extra_memory_mib` (the name older callers use)."""
        return self.peak_extra_memory_mib


@dataclass(frozen=True)
class Named:
    """A component together with the spec the user wrote for it (shown in tables)."""

    label: str
    component: object
    backend: str | None = None  # the backend a network restorer runs on (None: not a network)


ProgressFn = Callable[[str, int], None]
SKIPPED = "*skipped*"  # the image id under which a store records that a whole cell was skipped


def run_benchmark(
    restorers: Sequence[Named],
    degradations: Sequence[Named],
    datasets: Sequence[Dataset],
    metrics: Sequence[Named],
    seed: int = 0,
    on_image: ProgressFn | None = None,
    store: RunStore | None = None,
    done: dict[Key, dict[str, Any]] | None = None,
    samples: Path | None = None,
    unprepared: dict[tuple[int, str, int], str] | None = None,
) -> list[CellResult]:
    """Evaluate every combination; incompatible ones come back with `skipped` set.

    `done` holds results already in the store (by key); those images are not recomputed.
    `samples`, when given, receives PNG crops of the first image of each dataset and degradation.
    """
    done = done or {}
    results: list[CellResult] = []
    for dataset in datasets:
        for deg in degradations:
            degradation: Degradation = deg.component  # type: ignore[assignment]
            cells = {id(r): CellResult(r.label, deg.label, dataset.name, r.backend) for r in restorers}
            warmed: set[int] = set()
            active = []
            for named in restorers:
                skipped = done.get((named.label, named.backend, deg.label, dataset.name, SKIPPED))
                if skipped is not None:
                    cells[id(named)].skipped = skipped["skipped"]
                else:
                    active.append(named)
            for index, record in enumerate(dataset.records):
                image_id = record.image_id
                pending = []
                for named in active:
                    previous = done.get((named.label, named.backend, deg.label, dataset.name, image_id))
                    if previous is not None:
                        cells[id(named)].add(previous)
                    else:
                        pending.append(named)
                want_samples = samples is not None and index == 0 and not _has_samples(samples, dataset.name, deg.label)
                if not pending and not want_samples:
                    if on_image is not None:
                        on_image(f"{dataset.name} {deg.label} {image_id} (stored)", len(active))
                    continue
                clean = dataset.load(index)
                degraded = degradation.degrade(clean, [image_generator(seed, image_id, degradation.spec())])
                inputs = _input_scores(metrics, degraded)
                outputs: dict[str, torch.Tensor] = {}
                for named in list(active):
                    restorer: Restorer = named.component  # type: ignore[assignment]
                    cell = cells[id(named)]
                    reason = restorer.supports(degraded.info, clean.shape[1]) or (unprepared or {}).get(
                        (id(named), deg.label, clean.shape[1]))
                    if reason is not None:
                        cell.skipped = reason
                        active.remove(named)
                        if store is not None:
                            store.append(_record(named, deg.label, dataset.name, SKIPPED) | {"skipped": reason})
                        continue
                    if named not in pending:
                        if want_samples:
                            outputs[_display(named)] = restorer.restore(degraded.image, degraded.info)
                        continue
                    if id(named) not in warmed:
                        restorer.restore(degraded.image, degraded.info)  # warm-up, untimed
                        warmed.add(id(named))
                    out, seconds, extra = _timed_restore(restorer, degraded)
                    if out.shape != degraded.target.shape:
                        raise IncompatibleError(
                            f"{named.label} returned {tuple(out.shape)} for a target of "
                            f"{tuple(degraded.target.shape)} on {dataset.name}/{image_id}"
                        )
                    result = _record(named, deg.label, dataset.name, image_id) | {
                        "metrics": {m.label: float(m.component.measure(out, degraded.target,  # type: ignore[attr-defined]
                                                                       degraded.info)[0]) for m in metrics},
                        "input_metrics": inputs, "seconds": seconds,
                        "pixels": int(out.shape[-1] * out.shape[-2] * out.shape[0]),
                        "peak_extra_memory_mib": extra,
                    }
                    if store is not None:
                        store.append(result)
                    cell.add(result)
                    outputs[_display(named)] = out
                if want_samples and samples is not None:
                    save_samples(samples, dataset.name, deg.label, image_id, degraded, outputs)
                if on_image is not None:
                    on_image(f"{dataset.name} {deg.label} {image_id}", len(active))
            for named in restorers:
                cell = cells[id(named)]
                if cell.skipped:
                    cell.images, cell.scores, cell.input_scores, cell.seconds, cell.pixels = 0, {}, {}, [], []
                results.append(cell)
    return results


def _record(named: Named, degradation: str, dataset: str, image: str) -> dict[str, Any]:
    return {"restorer": named.label, "backend": named.backend, "degradation": degradation, "dataset": dataset,
            "image": image}


def _display(named: Named) -> str:
    return named.label if named.backend is None else f"{named.label} [{named.backend}]"


def _timed_restore(restorer: Restorer, degraded: Degraded) -> tuple[torch.Tensor, float, float | None]:
    """Restore once; return the output, the seconds it took and its peak extra memory in MiB."""
    cuda = torch.cuda.is_available()
    with peak_extra_memory(_compute_device(restorer)) as memory:
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = restorer.restore(degraded.image, degraded.info)
        if cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    return out, seconds, memory.mib


def _compute_device(restorer: Restorer) -> torch.device:
    """The device a restorer computes on: its backend's for a network restorer, else the CPU."""
    backend = getattr(restorer, "backend", None)
    target = getattr(backend, "target_device", None)
    return target() if callable(target) else torch.device("cpu")


def _input_scores(metrics: Sequence[Named], degraded: Degraded) -> dict[str, float | None]:
    """Score the degraded input, clipped; a super-resolution input after bicubic up-sampling to the
    target's size, exactly as the `bicubic` restorer does, so its gain is 0."""
    image = degraded.image
    if image.shape[-2:] != degraded.target.shape[-2:]:
        image = bicubic_resize(image, *degraded.target.shape[-2:])
    clipped = image.clamp(0.0, 1.0)
    return {m.label: float(m.component.measure(clipped, degraded.target, degraded.info)[0])  # type: ignore[attr-defined]
            for m in metrics}


# ---------------------------------------------------------------------------------- samples

# A sample tile is the whole image reduced to SAMPLE_SIDE (longest side) with a detail region
# outlined, above that region enlarged by nearest-neighbour: sized so a colour tile's PNG stays under
# about 60 KB, since reports embed every tile and benchmarks/results commits them.
SAMPLE_SIDE = 128
SAMPLE_CROP = 64  # side of the detail region, in pixels of the clean image
SAMPLE_ZOOM = 3
SAMPLE_LAYOUT = "overview+zoom"  # info.json's "layout"; older runs' samples (no layout) are 160-px centre crops


def sample_dir(root: Path, dataset: str, degradation: str) -> Path:
    """The folder of one (dataset, degradation)'s sample crops."""
    return root / _slug(dataset) / _slug(degradation)


def _has_samples(root: Path, dataset: str, degradation: str) -> bool:
    return (sample_dir(root, dataset, degradation) / "info.json").is_file()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", Path(text).name if "/" in text else text)[:80] or "_"


def save_samples(root: Path, dataset: str, degradation: str, image_id: str, degraded: Degraded,
                 outputs: dict[str, torch.Tensor]) -> None:
    """Write one tile each for the clean, degraded and restored images: the whole image and a zoomed detail."""
    from restore_core.imaging.io import write_png

    folder = sample_dir(root, dataset, degradation)
    target = degraded.target.clamp(0, 1)
    h, w = target.shape[-2:]
    side = min(SAMPLE_CROP, h, w)
    y, x = detail_region(target, side)
    shown = degraded.image.clamp(0, 1)
    info: dict[str, Any] = {"image": image_id, "layout": SAMPLE_LAYOUT, "crop": [y, x, side], "zoom": SAMPLE_ZOOM,
                            "overview": SAMPLE_SIDE, "scale": degraded.info.scale}
    if shown.shape[-2:] != target.shape[-2:]:
        # super-resolution: show the input's own pixels, enlarged by nearest-neighbour, rather than
        # an up-sampling that would look like the `bicubic` restorer's tile
        shown = torch.nn.functional.interpolate(shown, size=(h, w), mode="nearest")
    write_png(folder / "clean.png", sample_tile(target, y, x, side))
    write_png(folder / "degraded.png", sample_tile(shown, y, x, side))
    names = {}
    for name, out in outputs.items():
        names[name] = f"restored-{_slug(name)}.png"
        write_png(folder / names[name], sample_tile(out.clamp(0, 1), y, x, side))
    info["restored"] = names
    # written last: its presence means the samples are complete
    atomic_write_text(folder / "info.json", json.dumps(info))


def detail_region(image: torch.Tensor, side: int) -> tuple[int, int]:
    """Return the top-left (y, x) of the `side`-pixel square of (1, C, H, W) `image` with the most gradient energy."""
    h, w = image.shape[-2:]
    centre = ((h - side) // 2, (w - side) // 2)
    if side < 4:
        return centre
    gray = image[0].double().mean(0)
    # |dx| + |dy| on the (H-1, W-1) grid; a window of side-1 of it covers a side x side square
    energy = ((gray[:-1, 1:] - gray[:-1, :-1]).abs() + (gray[1:, :-1] - gray[:-1, :-1]).abs())[None, None]
    stride = max(1, side // 8)  # coarse steps: the region only has to land on detail, not be optimal
    pooled = torch.nn.functional.avg_pool2d(energy, side - 1, stride=stride)[0, 0]
    if float(pooled.max()) <= 1e-12:  # a flat image has no detail to prefer
        return centre
    row, col = divmod(int(pooled.argmax()), pooled.shape[1])
    return row * stride, col * stride


def sample_tile(image: torch.Tensor, y: int, x: int, side: int) -> torch.Tensor:
    """Return one sample tile: `image` reduced to SAMPLE_SIDE with the region outlined, above the region zoomed."""
    h, w = image.shape[-2:]
    factor = min(1.0, SAMPLE_SIDE / max(h, w))
    oh, ow = max(1, round(h * factor)), max(1, round(w * factor))
    overview = image.float()
    if factor < 1:  # antialiased, so noise averages out rather than aliasing into patterns
        overview = torch.nn.functional.interpolate(overview, size=(oh, ow), mode="bilinear", antialias=True,
                                                   align_corners=False).clamp(0, 1)
    zoom = image[..., y : y + side, x : x + side].float()
    zoom = zoom.repeat_interleave(SAMPLE_ZOOM, -2).repeat_interleave(SAMPLE_ZOOM, -1)
    frame, gap = 2, 4
    zoomed = side * SAMPLE_ZOOM + 2 * frame
    width = max(ow, zoomed)
    canvas = torch.ones(1, image.shape[1], oh + gap + zoomed, width)
    left = (width - ow) // 2
    canvas[..., :oh, left : left + ow] = overview
    top, y0, x0 = oh + gap, round(y * factor), left + round(x * factor)
    box = max(1, round(side * factor))
    _outline(canvas, y0, x0, min(box, oh - y0), min(box, ow - (x0 - left)))
    zleft = (width - zoomed) // 2
    _outline(canvas, top, zleft, zoomed, zoomed)
    inner = side * SAMPLE_ZOOM
    canvas[..., top + frame : top + frame + inner, zleft + frame : zleft + frame + inner] = zoom
    return canvas


def _outline(canvas: torch.Tensor, y: int, x: int, height: int, width: int) -> None:
    """Draw a 2-pixel frame just inside the box: red on colour, black-and-white on gray (a gray PNG stays small)."""
    outer, inner = ((1.0, 0.1, 0.1), (1.0, 0.1, 0.1)) if canvas.shape[1] == 3 else ((0.0,), (1.0,))
    for offset, colour in ((0, outer), (1, inner)):
        top, left = y + offset, x + offset
        bottom, right = y + height - 1 - offset, x + width - 1 - offset
        if bottom < top or right < left:
            return
        value = torch.tensor(colour).view(1, -1, 1)
        canvas[..., top, left : right + 1] = value
        canvas[..., bottom, left : right + 1] = value
        canvas[..., top : bottom + 1, left] = value
        canvas[..., top : bottom + 1, right] = value


Unprepared = dict[tuple[int, str, int], str]  # (id of Named, degradation label, channels) -> why


def preflight(restorers: Sequence[Named], degradations: Sequence[Named], channels: Sequence[int]) -> Unprepared:
    """Load what every compatible (restorer, degradation, channels) needs before any work starts.

    A cell whose restorer has no weights is returned (to be reported as skipped) when other cells
    can run; when none can, the first missing-weights error is raised.
    """
    from restore_core.train.loop import probe_info

    missing: Unprepared = {}
    first: WeightsNotFoundError | None = None
    prepared = 0
    for deg in degradations:
        for c in channels:
            info = probe_info(deg.component, c)  # type: ignore[arg-type]
            for named in restorers:
                restorer: Restorer = named.component  # type: ignore[assignment]
                if restorer.supports(info, c) is None:
                    try:
                        restorer.prepare(info, c)
                        prepared += 1
                    except WeightsNotFoundError as exc:
                        first = first or exc
                        missing[(id(named), deg.label, c)] = str(exc)
    if first is not None and prepared == 0:
        raise first
    return missing
