"""The benchmark runner: every restorer x degradation x dataset, scored by every metric.

Each image's degradation is generated once from a generator derived from (seed, image id,
degradation spec) and shared by every restorer, so rows of a table are directly comparable.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from restore_core.datasets import Dataset
from restore_core.errors import IncompatibleError
from restore_core.interfaces import Degradation, Metric, Restorer
from restore_core.seeding import image_generator


@dataclass
class CellResult:
    """The scores of one (restorer, degradation, dataset) combination."""

    restorer: str
    degradation: str
    dataset: str
    backend: str | None = None
    images: int = 0
    scores: dict[str, list[float]] = field(default_factory=dict)  # metric -> per image, restored
    input_scores: dict[str, list[float]] = field(default_factory=dict)  # metric -> per image, degraded
    seconds: list[float] = field(default_factory=list)
    image_ids: list[str] = field(default_factory=list)
    skipped: str | None = None

    def mean(self, metric: str, of_input: bool = False) -> float | None:
        """Return the mean of `metric` over images (None when not measured)."""
        values = (self.input_scores if of_input else self.scores).get(metric)
        return statistics.fmean(values) if values else None

    @property
    def seconds_per_image(self) -> float | None:
        """Return the mean restore time per image, excluding I/O, degradation and scoring."""
        return statistics.fmean(self.seconds) if self.seconds else None


@dataclass(frozen=True)
class Named:
    """A component together with the spec the user wrote for it (shown in tables)."""

    label: str
    component: object
    backend: str | None = None  # the backend a network restorer runs on (None: not a network)


ProgressFn = Callable[[str, int], None]


def run_benchmark(
    restorers: Sequence[Named],
    degradations: Sequence[Named],
    datasets: Sequence[Dataset],
    metrics: Sequence[Named],
    seed: int = 0,
    on_image: ProgressFn | None = None,
) -> list[CellResult]:
    """Evaluate every combination; incompatible ones come back with `skipped` set."""
    results: list[CellResult] = []
    for dataset in datasets:
        for deg in degradations:
            degradation: Degradation = deg.component  # type: ignore[assignment]
            cells = {id(r): CellResult(r.label, deg.label, dataset.name, r.backend) for r in restorers}
            active = list(restorers)
            for index, (image_id, clean) in enumerate(dataset):
                gen = image_generator(seed, image_id, degradation.spec())
                degraded = degradation.degrade(clean, [gen])
                inputs = _input_scores(metrics, degraded)
                for named in list(active):
                    restorer: Restorer = named.component  # type: ignore[assignment]
                    cell = cells[id(named)]
                    reason = restorer.supports(degraded.info, clean.shape[1])
                    if reason is not None:
                        cell.skipped = reason
                        active.remove(named)
                        continue
                    if index == 0:
                        restorer.restore(degraded.image, degraded.info)  # warm-up, untimed
                    start = time.perf_counter()
                    out = restorer.restore(degraded.image, degraded.info)
                    cell.seconds.append(time.perf_counter() - start)
                    if out.shape != degraded.target.shape:
                        raise IncompatibleError(
                            f"{named.label} returned {tuple(out.shape)} for a target of "
                            f"{tuple(degraded.target.shape)} on {dataset.name}/{image_id}"
                        )
                    cell.images += 1
                    cell.image_ids.append(image_id)
                    for m in metrics:
                        metric: Metric = m.component  # type: ignore[assignment]
                        value = float(metric.measure(out, degraded.target, degraded.info)[0])
                        cell.scores.setdefault(m.label, []).append(value)
                        if inputs[m.label] is not None:
                            cell.input_scores.setdefault(m.label, []).append(inputs[m.label])
                if on_image is not None:
                    on_image(f"{dataset.name} {deg.label} {image_id}", len(active))
            for named in restorers:
                cell = cells[id(named)]
                if cell.skipped:
                    cell.images, cell.scores, cell.input_scores, cell.seconds = 0, {}, {}, []
                results.append(cell)
    return results


def _input_scores(metrics: Sequence[Named], degraded) -> dict[str, float | None]:
    """Score the degraded input itself where it has the target's size (not for super-resolution)."""
    if degraded.image.shape != degraded.target.shape:
        return {m.label: None for m in metrics}
    clipped = degraded.image.clamp(0.0, 1.0)
    return {m.label: float(m.component.measure(clipped, degraded.target, degraded.info)[0])  # type: ignore[attr-defined]
            for m in metrics}


def preflight(restorers: Sequence[Named], degradations: Sequence[Named], channels: Sequence[int]) -> None:
    """Load what every compatible (restorer, degradation, channels) needs before any work starts."""
    from restore_core.training import probe_info

    for deg in degradations:
        for c in channels:
            info = probe_info(deg.component, c)  # type: ignore[arg-type]
            for named in restorers:
                restorer: Restorer = named.component  # type: ignore[assignment]
                if restorer.supports(info, c) is None:
                    restorer.prepare(info, c)


def default_threads() -> int:
    """Return the torch thread count used (recorded with results)."""
    return torch.get_num_threads()
