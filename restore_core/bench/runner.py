"""The benchmark runner: `run_plan(plan)` measures every cell of a plan and returns typed records.

Each image's degradation is generated once from a generator derived from (seed, image id,
degradation spec) and shared by every restorer, so rows of a table are directly comparable and no
figure depends on batch order, on `--jobs` or on which other restorers ran. Timing covers `restore`
alone (no I/O, degradation or scoring), after one untimed warm-up per cell; on CUDA the backend's
copy back to the CPU synchronises. Memory is the peak extra memory of each call (see
`restore_core.system.memory`). Outputs are scored clipped to [0, 1], whatever a restorer returns,
as the protocol says.

Failure isolation: a restorer, degradation or metric that raises marks the cells it touches
`failed` (a record naming the component, its plugin's distribution and version, the image and the
error) and the rest of the matrix runs; `fail_fast=True` raises `ComponentError` instead. A user's
error (a corrupt dataset file, missing weights for every cell) is still raised: it is not a plugin's
fault and no cell could run.

With a results store, every record is appended as soon as it is measured; a resumed run reuses the
store's image and skipped records and retries failed cells from the image that failed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restore_core.bench.plan import BenchPlan, BuiltPlan
from restore_core.bench.records import CellKey, CellResult, Record, StoreKey, aggregate, latest
from restore_core.bench.samples import has_samples, save_samples
from restore_core.errors import ComponentError, RestoreError, UsageError, WeightsNotFoundError
from restore_core.plugins.specs import Named

if TYPE_CHECKING:
    import torch

    from restore_core.bench.store import RunStore
    from restore_core.components.interfaces import Degraded, Restorer
    from restore_core.plugins.host import PluginHost


@dataclass(frozen=True)
class BenchProgress:
    """How far a run is: `completed` of `total` steps (images of a group, or of a cell with --jobs)."""

    completed: int
    total: int
    description: str


@dataclass
class BenchResult:
    """What a run measured: every cell in matrix order and the records behind them."""

    plan: BenchPlan
    cells: list[CellResult]
    records: list[Record]
    metric_directions: dict[str, bool]  # metric label -> higher is better
    run_dir: Path | None = None
    inference: dict[str, str] = field(default_factory=dict)  # "dncnn [optimized]" -> what it ran with

    @property
    def metrics(self) -> list[str]:
        """The metric labels, in the plan's order."""
        return list(self.metric_directions)

    @property
    def failed(self) -> list[CellResult]:
        """The cells a component failed in."""
        return [c for c in self.cells if c.failed]

    @property
    def skipped(self) -> list[CellResult]:
        """The cells that could not run, with their reasons."""
        return [c for c in self.cells if c.skipped]

    def rows(self, rounded: bool = True) -> list[dict[str, Any]]:
        """One JSON-ready row per cell (what `restore bench --format json` prints; 4 decimals unless not `rounded`)."""
        from restore_core.bench.tables import json_rows

        return json_rows(self.cells, self.metric_directions, rounded)


OnProgress = Callable[[BenchProgress], None]
Sink = Callable[[Record], None]
Done = dict[StoreKey, Record]


def run_plan(plan: BenchPlan, store: RunStore | str | os.PathLike[str] | None = None,
             on_image: OnProgress | None = None, *, host: PluginHost | None = None, resume: bool = False,
             jobs: int = 1, fail_fast: bool = False, command: str | None = None, executor: str = "local",
             address: str | None = None) -> BenchResult:
    """Measure every cell of `plan`; return its cells and records.

    `store` is a run directory (created, or continued with `resume=True`) or an open RunStore;
    without one nothing is written. `on_image` is called as images are measured. `jobs` > 1 runs
    cells in worker processes (identical scores; timings shared between workers); `executor="ray"`
    runs them as Ray tasks, on a local instance or the cluster at `address`.
    """
    if executor not in ("local", "ray"):
        raise UsageError(f"executor must be local or ray, not {executor!r}")
    from restore_core.bench.store import RunStore, read_records

    built = plan.build(host)
    own_store = store is not None and not isinstance(store, RunStore)
    opened: RunStore | None = (RunStore.create(Path(store), manifest(built, host, jobs, command, executor), resume)  # type: ignore[arg-type]
                               if own_store else store)  # type: ignore[assignment]
    try:
        done: Done = {}
        if opened is not None and (resume or not own_store):
            # failed records are not reused: a resumed run retries the cell from the image that failed
            done = {r.key: r for r in latest(read_records(opened.path)) if r.kind != "failed"}
        sink: Sink = opened.append if opened is not None else _discard
        fresh: list[Record] = []

        def keep(record: Record) -> None:
            fresh.append(record)
            sink(record)

        if executor == "ray":
            from restore_core.bench.ray_executor import run_cells_ray

            done = run_cells_ray(built, done, keep, on_image, fail_fast, address)
            on_image = None  # the final pass below only aggregates and draws samples
        elif jobs > 1:
            from restore_core.bench.parallel import run_cells

            done = run_cells(built, jobs, done, keep, on_image, fail_fast)
            on_image = None
        samples = opened.path / "samples" if opened is not None else None
        unprepared = preflight(built)
        measure(built, keep, done, on_image=on_image, fail_fast=fail_fast, samples=samples, unprepared=unprepared)
        records = latest([*done.values(), *fresh])
        order = [CellKey(r.label, r.backend, d.label, ds.name)
                 for ds in built.datasets for d in built.degradations for r in built.restorers]
        cells = aggregate(records, order)
        return BenchResult(plan, [cells[k] for k in order], records, built.metric_directions(),
                           opened.path if opened is not None else None, built.inference())
    finally:
        if own_store and opened is not None:
            opened.close()


def _discard(record: Record) -> None:
    """The sink of a run without a store."""


def manifest(built: BuiltPlan, host: PluginHost | None, jobs: int, command: str | None,
             executor: str = "local") -> dict[str, Any]:
    """What a run directory records about itself (see restore_core.bench.store)."""
    from restore_core.plugins.host import default_host
    from restore_core.system.provenance import environment

    host = host or default_host()
    plan = built.plan
    return {"matrix": built.matrix(), "suite": plan.suite, "tile": plan.tile, "jobs": jobs, "executor": executor,
            "command": command,
            "environment": environment(),
            "metrics": {label: {"higher_is_better": hib} for label, hib in built.metric_directions().items()},
            "components": built.components(),
            "plugins": [{"name": p.name, "distribution": p.distribution, "version": p.version}
                        for p in host.plugins()]}


def command_line() -> str | None:
    """The `restore bench ...` command line of this process, when it is one (for the manifest)."""
    return "restore " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["bench"] else None


# ---------------------------------------------------------------------------------- measuring

Unprepared = dict[tuple[int, str, int], tuple[str, str]]  # (id of Named, degradation, channels) -> (kind, why)


def preflight(built: BuiltPlan) -> Unprepared:
    """Load what every compatible (restorer, degradation, channels) needs before any work starts.

    A cell whose restorer has no weights is returned as ("skipped", why) when other cells can run;
    when none can, the first missing-weights error is raised. A `prepare` that raises anything else
    is the plugin's failure: ("failed", why), and the rest runs.
    """
    from restore_core.train.loop import probe_info

    channels = sorted({ds.load(0).shape[1] for ds in built.datasets if len(ds)})
    missing: Unprepared = {}
    first: WeightsNotFoundError | None = None
    prepared = 0
    for deg in built.degradations:
        for c in channels:
            try:
                info = probe_info(deg.component, c)
            except Exception as exc:  # the degradation fails on every image too; measure() reports it there
                del exc
                continue
            for named in built.restorers:
                restorer: Restorer = named.component
                if restorer.supports(info, c) is None:
                    try:
                        restorer.prepare(info, c)
                        prepared += 1
                    except WeightsNotFoundError as exc:
                        first = first or exc
                        missing[(id(named), deg.label, c)] = ("skipped", str(exc))
                    except RestoreError:
                        raise  # the user's to fix (weights of another configuration, say): not a plugin fault
                    except Exception as exc:
                        missing[(id(named), deg.label, c)] = ("failed", _blame(named, f"{deg.label} (preparing)", exc))
                        prepared += 1
    if first is not None and prepared == 0:
        raise first
    return missing


def _blame(named: Named, where: str, exc: BaseException) -> str:
    """`restorer 'tv' (dist 0.1.0) failed on skimage/astronaut x gaussian25: ValueError: ...`, one line."""
    text = " ".join(str(exc).split())
    return f"{named.blame()} failed on {where}: {type(exc).__name__}" + (f": {text}" if text else "")


def measure(built: BuiltPlan, sink: Sink, done: Done, *, on_image: OnProgress | None = None,
            fail_fast: bool = False, samples: Path | None = None, unprepared: Unprepared | None = None) -> None:
    """Measure every cell not already `done`, passing each new record to `sink` as it is made.

    `done` holds records to reuse (images, skipped cells and, after a parallel run, failed ones).
    `samples`, when given, receives tiles of the first image of each dataset and degradation.
    """
    from restore_core.data.seeding import image_generator

    unprepared = unprepared or {}
    total = sum(len(ds) for ds in built.datasets) * len(built.degradations)
    completed = 0
    for dataset in built.datasets:
        for deg in built.degradations:
            keys = {id(r): CellKey(r.label, r.backend, deg.label, dataset.name) for r in built.restorers}
            active = [r for r in built.restorers if _stored(done, keys[id(r)], None) is None]
            warmed: set[int] = set()
            for index, item in enumerate(dataset.records):
                image_id = item.image_id
                pending = []
                for named in list(active):
                    previous = _stored(done, keys[id(named)], image_id)
                    if previous is None:
                        pending.append(named)
                    elif previous.kind == "failed":
                        active.remove(named)  # failed in a worker: the cell stops there, as in a serial run
                # the first image of the whole set: a shard other than the first has none to show
                first_shard = built.plan.shard is None or built.plan.shard[0] == 0
                want_samples = (samples is not None and index == 0 and first_shard
                                and not has_samples(samples, dataset.name, deg.label))
                completed += 1
                if not pending and not want_samples:
                    if on_image is not None:
                        on_image(BenchProgress(completed, total, f"{dataset.name} {deg.label} {image_id} (stored)"))
                    continue

                def fail(named: Named, reason: str, image: str = image_id, active: list[Named] = active,
                         keys: dict[int, CellKey] = keys) -> None:
                    # a cell stops at its first failure; --resume retries it from this image
                    if fail_fast:
                        raise ComponentError(reason)
                    sink(Record(keys[id(named)], "failed", image, reason=reason))
                    if named in active:
                        active.remove(named)

                clean = dataset.load(index)
                try:
                    degraded = deg.component.degrade(clean, [image_generator(built.plan.seed, image_id,
                                                                             deg.component.spec())])
                except Exception as exc:
                    if fail_fast:
                        raise ComponentError(_blame(deg, f"{dataset.name}/{image_id}", exc)) from exc
                    for named in [n for n in active if n in pending]:
                        fail(named, _blame(deg, f"{dataset.name}/{image_id}", exc))
                    continue
                try:
                    inputs = _input_scores(built.metrics, degraded, f"{dataset.name}/{image_id} x {deg.label} (input)")
                except _MetricFailure as failure:
                    if fail_fast:
                        raise ComponentError(failure.reason) from failure.__cause__
                    for named in [n for n in active if n in pending]:
                        fail(named, failure.reason)
                    continue
                outputs: dict[str, torch.Tensor] = {}
                for named in list(active):
                    restorer: Restorer = named.component
                    key = keys[id(named)]
                    kind, why = unprepared.get((id(named), deg.label, clean.shape[1]), (None, None))
                    reason = restorer.supports(degraded.info, clean.shape[1]) or (why if kind == "skipped" else None)
                    if reason is not None:
                        active.remove(named)
                        sink(Record(key, "skipped", None, reason=reason))
                        continue
                    if kind == "failed" and why is not None:
                        fail(named, why)
                        continue
                    where = key.where(image_id)
                    if named not in pending:
                        if want_samples:
                            # it measured fine before; a missing tile is not worth failing the cell for
                            with contextlib.suppress(Exception):
                                outputs[key.label] = restorer.restore(degraded.image, degraded.info)
                        continue
                    try:
                        if id(named) not in warmed:
                            restorer.restore(degraded.image, degraded.info)  # warm-up, untimed
                            warmed.add(id(named))
                        out, seconds, extra = _timed_restore(restorer, degraded)
                        if tuple(out.shape) != tuple(degraded.target.shape):
                            raise ValueError(f"returned shape {tuple(out.shape)} for a target of "
                                             f"{tuple(degraded.target.shape)}")
                        if not bool(out.isfinite().all()):  # NaN would pass the clamp and score as NaN
                            raise ValueError("returned non-finite values (NaN or infinity)")
                        out = out.clamp(0.0, 1.0)  # the protocol scores outputs clipped, whatever a plugin returns
                    except Exception as exc:
                        if fail_fast:
                            raise ComponentError(_blame(named, where, exc)) from exc
                        fail(named, _blame(named, where, exc))
                        continue
                    try:
                        scores = _scores(built.metrics, out, degraded, f"{where} ({key.label})")
                    except _MetricFailure as failure:
                        if fail_fast:
                            raise ComponentError(failure.reason) from failure.__cause__
                        fail(named, failure.reason)
                        continue
                    sink(Record(key, "image", image_id, scores, inputs, seconds,
                                int(out.shape[-1] * out.shape[-2] * out.shape[0]), extra))
                    outputs[key.label] = out
                if want_samples and samples is not None:
                    save_samples(samples, dataset.name, deg.label, image_id, degraded, outputs)
                if on_image is not None:
                    on_image(BenchProgress(completed, total, f"{dataset.name} {deg.label} {image_id}"))


def _stored(done: Done, key: CellKey, image: str | None) -> Record | None:
    """The reusable record of a cell's image (image None: the cell's skip), if any."""
    return done.get((key.restorer, key.backend, key.degradation, key.dataset, image))


class _MetricFailure(Exception):
    """A metric raised; `reason` blames it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _scores(metrics: Sequence[Named], image: torch.Tensor, degraded: Degraded, where: str) -> dict[str, float]:
    """Every metric's score of `image` against the target; a metric that raises is blamed by name."""
    out = {}
    for m in metrics:
        try:
            out[m.label] = float(m.component.measure(image, degraded.target, degraded.info)[0])
        except Exception as exc:
            raise _MetricFailure(_blame(m, where, exc)) from exc
    return out


def _input_scores(metrics: Sequence[Named], degraded: Degraded, where: str) -> dict[str, float | None]:
    """Score the degraded input, clipped; a super-resolution input after bicubic up-sampling to the
    target's size, exactly as the `bicubic` restorer does, so its gain is 0."""
    from restore_core.imaging.resize import bicubic_resize

    image = degraded.image
    if image.shape[-2:] != degraded.target.shape[-2:]:
        image = bicubic_resize(image, *degraded.target.shape[-2:])
    return dict(_scores(metrics, image.clamp(0.0, 1.0), degraded, where))


def _timed_restore(restorer: Restorer, degraded: Degraded) -> tuple[torch.Tensor, float, float | None]:
    """Restore once; return the output, the seconds it took and its peak extra memory in MiB."""
    import torch

    from restore_core.system.memory import peak_extra_memory

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
    import torch

    backend = getattr(restorer, "backend", None)
    target = getattr(backend, "target_device", None)
    return target() if callable(target) else torch.device("cpu")
