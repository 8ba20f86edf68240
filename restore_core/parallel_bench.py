"""`restore bench --jobs N`: independent cells in parallel worker processes.

A cell is one (restorer, backend, degradation, dataset); each worker rebuilds its components from
their specs, runs the cell with the serial runner and returns its result records, which the parent
appends to the store. Scores are identical to a serial run (every image's noise comes from its
own seeded generator); timings are measured while other workers share the CPU, so compare speed
from serial runs. Each worker uses an equal share of the torch threads.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import torch

from restore_core.errors import WeightsNotFoundError
from restore_core.results_store import Key


@dataclass(frozen=True)
class CellTask:
    """Everything a worker needs to rebuild and run one cell."""

    restorer: str
    backend: str | None
    tile: int | str | None
    degradation: str
    dataset: str
    limit: int | None
    crop: int | None
    crop_at: str
    metrics: tuple[str, ...]
    seed: int
    threads: int


class _Collector:
    """Stands in for the store inside a worker: keeps the records to send back."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def append(self, record: dict[str, Any]) -> None:
        self.records.append(record)


def run_cell(task: CellTask, done: dict[Key, dict[str, Any]]) -> list[dict[str, Any]]:
    """Run one cell in this process; return its new result records."""
    from restore_core.datasets import open_dataset
    from restore_core.network_restorer import NetworkRestorer
    from restore_core.plugin_host import default_host
    from restore_core.runner import Named, preflight, run_benchmark

    torch.set_num_threads(task.threads)
    host = default_host()
    restorer = host.registry("restorer").build(task.restorer)
    if task.backend is not None and isinstance(restorer, NetworkRestorer):
        restorer.configure_inference(host.registry("backend").build(task.backend), task.tile)  # type: ignore[arg-type]
    dataset = open_dataset(host.registry("dataset"), task.dataset).limit(task.limit).cropped(task.crop, task.crop_at)  # type: ignore[arg-type]
    collector = _Collector()
    restorers = [Named(task.restorer, restorer, task.backend)]
    degradations = [Named(task.degradation, host.registry("degradation").build(task.degradation))]
    channels = [dataset.load(0).shape[1]] if len(dataset) else []
    try:
        unprepared = preflight(restorers, degradations, channels)
    except WeightsNotFoundError as exc:  # this cell alone has no weights: skipped, as in a serial run
        unprepared = {(id(restorers[0]), task.degradation, c): str(exc) for c in channels}
    metrics = [Named(m, host.registry("metric").build(m)) for m in task.metrics]
    run_benchmark(restorers, degradations, [dataset], metrics, seed=task.seed, store=collector,  # type: ignore[arg-type]
                  done=done, unprepared=unprepared)
    return collector.records


def run_parallel(tasks: Sequence[CellTask], jobs: int, done: dict[Key, dict[str, Any]],
                 on_records: Callable[[list[dict[str, Any]]], None]) -> None:
    """Run `tasks` in `jobs` spawned processes, handing each finished cell's records to `on_records`."""
    context = multiprocessing.get_context("spawn")  # fork would copy torch's thread pools
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = []
        for task in tasks:
            mine = {k: v for k, v in done.items()
                    if (k[0], k[1], k[2]) == (task.restorer, task.backend, task.degradation)}
            futures.append(pool.submit(run_cell, task, mine))
        for future in as_completed(futures):
            on_records(future.result())
