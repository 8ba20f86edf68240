"""`restore bench --jobs N`: independent cells in parallel worker processes.

A cell is one (restorer, backend, degradation, dataset). Each worker rebuilds its components from
their specs and runs cells with the serial runner. Every per-image record goes to the parent the
moment it is measured, and the parent alone appends it to the store (one atomic line each, under
the store's lock), so killing the parent at any moment loses at most the images in flight, as in a
serial run. Workers end with the parent, even after a `kill -9` of it: on Linux the kernel kills
them (PR_SET_PDEATHSIG); everywhere, a watchdog thread in each worker exits when its parent process
changes.

Scores are identical to a serial run (every image's noise comes from its own seeded generator);
timings are measured while other workers share the CPU, so compare speed from serial runs. Each
worker uses an equal share of the torch threads.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from restore_core.bench.records import Record, StoreKey
from restore_core.errors import RestoreError, WeightsNotFoundError

if TYPE_CHECKING:
    from restore_core.bench.plan import BenchPlan, BuiltPlan
    from restore_core.bench.runner import BenchProgress

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCHDOG_SECONDS = 0.2
POLL_SECONDS = 0.5  # how often the parent checks that its workers are alive while none reports


@dataclass(frozen=True)
class CellTask:
    """Everything a worker needs to rebuild and run one cell: a plan of that cell alone."""

    plan: BenchPlan
    backend: str | None  # the backend label of a network restorer's cell, else None
    threads: int
    fail_fast: bool = False

    @property
    def key(self) -> tuple[str, str | None, str, str]:
        """The (restorer, backend, degradation, dataset) of the cell, as store keys begin."""
        p = self.plan
        return (p.restorers[0], self.backend, p.degradations[0], p.datasets[0])


def cell_tasks(built: BuiltPlan, threads: int, fail_fast: bool) -> list[CellTask]:
    """One task per cell of `built`, each a plan of that cell alone (the worker rebuilds it from specs)."""
    plan = built.plan
    tasks = []
    for ds in built.datasets:
        for deg in built.degradations:
            for r in built.restorers:
                # a restorer without a backend gets the plan's backends, which it ignores
                backends = (r.backend,) if r.backend is not None else plan.backends
                sub = plan.with_options(restorers=(r.label,), degradations=(deg.label,), datasets=(ds.name,),
                                        backends=backends)
                tasks.append(CellTask(sub, r.backend, threads, fail_fast))
    return tasks


def run_cell(task: CellTask, done: dict[StoreKey, Record], emit: Callable[[Record], None]) -> None:
    """Run one cell in this process, passing each new record to `emit` as it is measured."""
    import torch

    from restore_core.bench.runner import measure, preflight

    torch.set_num_threads(task.threads)
    built = task.plan.build()
    try:
        unprepared = preflight(built)
    except WeightsNotFoundError as exc:  # this cell alone has no weights: skipped, as in a serial run
        channels = {ds.load(0).shape[1] for ds in built.datasets if len(ds)}
        unprepared = {(id(r), d.label, c): ("skipped", str(exc))
                      for r in built.restorers for d in built.degradations for c in channels}
    measure(built, emit, done, fail_fast=task.fail_fast, unprepared=unprepared)


def run_cells(built: BuiltPlan, jobs: int, done: dict[StoreKey, Record], keep: Callable[[Record], None],
              on_image: Callable[[BenchProgress], None] | None, fail_fast: bool) -> dict[StoreKey, Record]:
    """Run every cell of `built` in `jobs` worker processes; return `done` with every new record added.

    `keep` gets each record as a worker measures it (the parent alone writes the store).
    """
    import torch

    from restore_core.bench.runner import BenchProgress

    threads = max(1, torch.get_num_threads() // jobs)
    tasks = cell_tasks(built, threads, fail_fast)
    sizes = {ds.name: len(ds) for ds in built.datasets}
    total = sum(sizes[t.plan.datasets[0]] for t in tasks)
    merged = dict(done)
    counted: dict[int, int] = {}  # images of each task the progress has advanced by
    completed = [0]

    def advance(index: int, images: int, description: str) -> None:
        counted[index] = counted.get(index, 0) + images
        completed[0] += images
        if on_image is not None:
            on_image(BenchProgress(completed[0], total, description))

    def on_record(index: int, record: Record) -> None:
        keep(record)
        merged[record.key] = record
        if record.kind == "image":
            c = record.cell
            advance(index, 1, f"{c.dataset} {c.degradation} {c.label}")

    def on_done(index: int) -> None:  # images already stored, a skipped or failed cell: count them now
        task = tasks[index]
        advance(index, sizes[task.plan.datasets[0]] - counted.get(index, 0), f"{len(tasks)} cells in {jobs} processes")

    run_parallel(tasks, jobs, done, on_record, on_done)
    return merged


def run_parallel(tasks: Sequence[CellTask], jobs: int, done: dict[StoreKey, Record],
                 on_record: Callable[[int, Record], None], on_cell_done: Callable[[int], None] | None = None) -> None:
    """Run `tasks` in `jobs` spawned processes; `on_record` gets every record as a worker measures it.

    Call it from a thread that outlives the run (the kernel's parent-death signal follows the thread
    that started a worker). A worker's error is raised here, after the other workers are stopped.
    """
    context = multiprocessing.get_context("spawn")  # fork would copy torch's thread pools
    todo = context.Queue()
    results = context.Queue()
    for index, task in enumerate(tasks):
        mine = {k: v for k, v in done.items() if k[:4] == task.key}
        todo.put((index, task, mine))
    # not daemonic: a cell may start processes of its own (torch.compile's compile workers); the
    # `finally` below and each worker's watch on its parent end them instead
    workers = [context.Process(target=_worker, args=(todo, results, os.getpid()), daemon=False,
                               name=f"restore-bench-{n}") for n in range(min(jobs, len(tasks)))]
    for _ in workers:
        todo.put(None)  # one "no more cells" each
    remaining = len(tasks)
    try:
        for worker in workers:
            worker.start()
        while remaining:
            try:
                kind, index, payload = results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                _check_alive(workers)
                continue
            if kind == "record":
                on_record(index, payload)
            elif kind == "done":
                remaining -= 1
                if on_cell_done is not None:
                    on_cell_done(index)
            else:
                raise payload
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
        for worker in workers:
            worker.join(timeout=5)
        for q in (todo, results):
            q.cancel_join_thread()  # cells never handed out must not hold the parent at exit
            q.close()


def _check_alive(workers: Sequence[multiprocessing.process.BaseProcess]) -> None:
    """Raise when a worker has died without reporting, or all have ended with cells unreported."""
    dead = [w for w in workers if w.exitcode not in (None, 0)]
    if dead:
        code = dead[0].exitcode
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        raise RestoreError(f"a bench worker process died ({how}), perhaps out of memory; "
                           "resume the run with --resume, or with fewer --jobs")
    if all(w.exitcode == 0 for w in workers):
        raise RestoreError("the bench worker processes ended before reporting every cell")


def _worker(todo: Any, results: Any, parent: int) -> None:
    """A worker's main loop: run cells until told to stop, reporting records as they come."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops us
    _exit_with_parent(parent)
    while True:
        item = todo.get()
        if item is None:
            return
        index, task, done = item
        try:
            run_cell(task, done, lambda record, index=index: results.put(("record", index, record)))
        except BaseException as exc:  # any failure, a bug included, is the parent's to report
            results.put(("error", index, _portable(exc)))
            return
        results.put(("done", index, None))


def _portable(exc: BaseException) -> BaseException:
    """`exc` in a form that survives pickling to the parent, carrying the worker's traceback."""
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if not isinstance(exc, RestoreError) and hasattr(exc, "add_note"):  # Python 3.11+
        exc.add_note(f"in a bench worker process:\n{trace}")
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # an exception type that cannot cross processes: keep its text
        return RestoreError(f"{type(exc).__name__} in a bench worker process: {exc}")
    return exc


def _exit_with_parent(parent: int) -> None:
    """End this process when `parent` ends, however it ends (kill -9 included)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # no libc symbols: the watchdog still works
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL))
    watched = os.getppid()
    if os.name == "posix":  # signal 0 only probes on POSIX (on Windows os.kill would end the parent)
        try:
            os.kill(parent, 0)  # the parent may have died before the death signal was armed
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass  # it exists

    def watch() -> None:
        while os.getppid() == watched:  # a dead parent's children are handed to another process
            time.sleep(WATCHDOG_SECONDS)
        os._exit(1)  # no clean-up: the parent that would want the results is gone

    threading.Thread(target=watch, name="restore-parent-watchdog", daemon=True).start()
