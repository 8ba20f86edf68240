"""`restore bench --executor ray`: the cells of a plan (and image shards of large cells) as Ray tasks.

The contract is that of `restore_core.bench.parallel.run_cells`: each task rebuilds its one-cell plan
from specs and measures it with the serial runner; every record goes to the driver the moment it is
measured (through a Ray queue actor), and the driver alone appends it to the results store, so the
store's crash safety, its lock and `--resume` are exactly those of a local run. A task whose worker
dies (a node lost, a process killed) is submitted again with the records the driver already holds,
so only its unfinished images are measured again.

Placement: a cell whose backend runs on CUDA (a backend spec naming `cuda`, or `tensorrt`) asks
for one GPU, so Ray puts it on a GPU node; every other cell asks for one CPU. Without `address`
a local Ray instance sized to this machine is started and stopped; with one (`auto`, or
`ray://host:10001`) the run joins that cluster. Ray is an optional extra: without it the executor is
a one-line usage error that says how to install it.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from restore_core.bench.parallel import CellTask, cell_tasks, run_cell
from restore_core.bench.records import Record, StoreKey
from restore_core.errors import RestoreError, UsageError

if TYPE_CHECKING:
    from restore_core.bench.plan import BuiltPlan
    from restore_core.bench.runner import BenchProgress

#: a cell with more images than this is split into image shards, so a large set spreads over workers
SHARD_IMAGES = 16
#: how many times a task whose worker died is submitted again before the run gives up
RETRIES = 2
POLL_SECONDS = 0.2


def ray_module() -> Any:
    """Import Ray, or say in one line how to install it."""
    try:
        import ray
    except ImportError:
        raise UsageError("--executor ray needs Ray: pip install 'restore-framework[ray]' "
                         "(or use --jobs N for worker processes on this machine)") from None
    return ray


def needs_gpu(task: CellTask) -> bool:
    """Whether a cell's backend computes on CUDA (its spec names cuda, or it is TensorRT)."""
    backend = (task.backend or "").lower()
    return "cuda" in backend or backend.startswith("tensorrt")


def shard_tasks(built: BuiltPlan, fail_fast: bool) -> list[CellTask]:
    """One task per cell, or per image shard of a cell with more than SHARD_IMAGES images."""
    sizes = {ds.name: len(ds) for ds in built.datasets}
    tasks = []
    for task in cell_tasks(built, 1, fail_fast):
        count = sizes[task.plan.datasets[0]]
        shards = math.ceil(count / SHARD_IMAGES) if built.plan.shard is None else 1
        if shards <= 1:
            tasks.append(task)
            continue
        for i in range(shards):
            tasks.append(CellTask(task.plan.with_options(shard=(i, shards)), task.backend, 1, fail_fast))
    return tasks


def _images(task: CellTask, count: int) -> int:
    """How many of a dataset's `count` images a task measures (its shard's share)."""
    i, n = task.plan.shard or (0, 1)
    return len(range(i, count, n))


def _run_task(task: CellTask, done: dict[StoreKey, Record], queue: Any) -> None:
    """A Ray task: measure one cell (or shard), putting each record on the driver's queue at once."""
    run_cell(task, done, queue.put)


def run_cells_ray(built: BuiltPlan, done: dict[StoreKey, Record], keep: Callable[[Record], None],
                  on_image: Callable[[BenchProgress], None] | None, fail_fast: bool,
                  address: str | None = None) -> dict[StoreKey, Record]:
    """Run every cell of `built` as Ray tasks; return `done` with every new record added."""
    ray = ray_module()
    from ray.util.queue import Empty, Queue

    from restore_core.bench.runner import BenchProgress

    started = not ray.is_initialized()
    if started:
        try:
            # Ray's own start-up lines would bury the one-line output contract of restore
            if address:
                ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
            else:  # a local instance sized to this machine; no dashboard to serve
                ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.ERROR)
        except Exception as exc:  # an unreachable address, a cluster of another Ray version
            raise RestoreError(f"cannot start or join Ray{f' at {address}' if address else ''}: "
                               f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}") from None
    tasks = shard_tasks(built, fail_fast)
    sizes = {ds.name: len(ds) for ds in built.datasets}
    total = sum(_images(task, sizes[task.plan.datasets[0]]) for task in tasks)
    merged = dict(done)
    queue = Queue()
    remote = ray.remote(_run_task)
    completed = [0]

    def submit(index: int) -> Any:
        task = tasks[index]
        mine = {k: v for k, v in merged.items() if k[:4] == task.key}
        return remote.options(num_cpus=0 if needs_gpu(task) else 1, num_gpus=1 if needs_gpu(task) else 0,
                              max_retries=0).remote(task, mine, queue)

    def drain() -> None:
        while True:
            try:
                record = queue.get_nowait()
            except Empty:
                return
            keep(record)
            merged[record.key] = record
            if record.kind == "image":
                completed[0] += 1
                if on_image is not None:
                    c = record.cell
                    on_image(BenchProgress(min(completed[0], total), total,
                                           f"{c.dataset} {c.degradation} {c.label} (ray)"))

    pending = {submit(i): (i, 0) for i in range(len(tasks))}
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_SECONDS)
            drain()
            for ref in ready:
                index, attempts = pending.pop(ref)
                try:
                    ray.get(ref)
                except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                        ray.exceptions.LocalRayletDiedError) as exc:
                    drain()  # what the dead worker measured before it died is kept, not redone
                    if attempts >= RETRIES:
                        raise RestoreError(f"a Ray worker died {attempts + 1} times running {tasks[index].key}: "
                                           f"{type(exc).__name__}; resume the run with --resume") from None
                    pending[submit(index)] = (index, attempts + 1)
                except ray.exceptions.RayTaskError as exc:
                    cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else exc
                    raise cause from None
        drain()
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()
    return merged
