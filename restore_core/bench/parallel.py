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
from typing import Any

import torch

from restore_core.bench.store import Key
from restore_core.errors import RestoreError, WeightsNotFoundError

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCHDOG_SECONDS = 0.2
POLL_SECONDS = 0.5  # how often the parent checks that its workers are alive while none reports


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


class _Emitter:
    """Stands in for the store inside a worker: hands each record on as soon as it is written."""

    def __init__(self, emit: Callable[[dict[str, Any]], None]) -> None:
        self.emit = emit

    def append(self, record: dict[str, Any]) -> None:
        self.emit(record)


def run_cell(task: CellTask, done: dict[Key, dict[str, Any]], emit: Callable[[dict[str, Any]], None]) -> None:
    """Run one cell in this process, passing each new result record to `emit` as it is measured."""
    from restore_core.bench.runner import Named, preflight, run_benchmark
    from restore_core.components.network_restorer import NetworkRestorer
    from restore_core.data.datasets import open_dataset
    from restore_core.plugins.host import default_host

    torch.set_num_threads(task.threads)
    host = default_host()
    restorer = host.registry("restorer").build(task.restorer)
    if task.backend is not None and isinstance(restorer, NetworkRestorer):
        restorer.configure_inference(host.registry("backend").build(task.backend), task.tile)  # type: ignore[arg-type]
    dataset = open_dataset(host.registry("dataset"), task.dataset).limit(task.limit).cropped(task.crop, task.crop_at)  # type: ignore[arg-type]
    restorers = [Named(task.restorer, restorer, task.backend)]
    degradations = [Named(task.degradation, host.registry("degradation").build(task.degradation))]
    channels = [dataset.load(0).shape[1]] if len(dataset) else []
    try:
        unprepared = preflight(restorers, degradations, channels)
    except WeightsNotFoundError as exc:  # this cell alone has no weights: skipped, as in a serial run
        unprepared = {(id(restorers[0]), task.degradation, c): str(exc) for c in channels}
    metrics = [Named(m, host.registry("metric").build(m)) for m in task.metrics]
    run_benchmark(restorers, degradations, [dataset], metrics, seed=task.seed, store=_Emitter(emit),  # type: ignore[arg-type]
                  done=done, unprepared=unprepared)


def run_parallel(tasks: Sequence[CellTask], jobs: int, done: dict[Key, dict[str, Any]],
                 on_record: Callable[[CellTask, dict[str, Any]], None],
                 on_cell_done: Callable[[CellTask], None] | None = None) -> None:
    """Run `tasks` in `jobs` spawned processes; `on_record` gets every record as a worker measures it.

    Call it from a thread that outlives the run (the kernel's parent-death signal follows the thread
    that started a worker). A worker's error is raised here, after the other workers are stopped.
    """
    context = multiprocessing.get_context("spawn")  # fork would copy torch's thread pools
    todo = context.Queue()
    results = context.Queue()
    for index, task in enumerate(tasks):
        mine = {k: v for k, v in done.items()
                if (k[0], k[1], k[2], k[3]) == (task.restorer, task.backend, task.degradation, task.dataset)}
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
                on_record(tasks[index], payload)
            elif kind == "done":
                remaining -= 1
                if on_cell_done is not None:
                    on_cell_done(tasks[index])
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
