"""A benchmark as data: which restorers, degradations, datasets, metrics and backends, and how.

A `BenchPlan` holds spec strings only, so it is cheap, comparable and picklable (a worker process
or a Ray task rebuilds the same components from it). `BenchPlan.build` turns it into components
through `restore_core.plugins.specs`, the one place components are built from specs; `matrix()` is
what the results store records and what a resumed run must match.

    plan = BenchPlan.from_specs(restorers="dncnn,identity", degradations="gaussian25", limit=2)
    result = run_plan(plan)            # restore_core.bench.runner
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restore_core.errors import UsageError
from restore_core.plugins.specs import Named, build_backends, build_named, build_restorers, split_specs

if TYPE_CHECKING:
    from restore_core.data.datasets import Dataset
    from restore_core.plugins.host import PluginHost

DEFAULT_DATASET = "skimage"
DEFAULT_METRICS = ("psnr", "ssim")
CROP_PLACES = ("centre", "corner")


def _specs(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """Specs from a comma-separated string or a sequence of them (commas inside parameters kept)."""
    if value is None:
        return ()
    return tuple(split_specs([value] if isinstance(value, str) else list(value)))


@dataclass(frozen=True)
class BenchPlan:
    """Every restorer x degradation x dataset (x backend) to measure, by spec, and the protocol options."""

    restorers: tuple[str, ...]
    degradations: tuple[str, ...]
    datasets: tuple[str, ...] = (DEFAULT_DATASET,)
    metrics: tuple[str, ...] = DEFAULT_METRICS
    backends: tuple[str, ...] = ("auto",)
    seed: int = 0
    limit: int | None = None
    crop: int | None = None
    crop_at: str = "centre"
    tile: int | str | None = "auto"
    shard: tuple[int, int] | None = None  # (i, n): only images i, i+n, i+2n, ... of each dataset
    suite: str | None = field(default=None, compare=False)  # the suite file it came from, for the manifest

    def __post_init__(self) -> None:
        if not self.restorers:
            raise UsageError("a benchmark needs at least one restorer")
        if not self.degradations:
            raise UsageError("a benchmark needs at least one degradation")
        if not self.metrics or not self.datasets:
            raise UsageError("a benchmark needs at least one metric and one dataset")
        if self.crop_at not in CROP_PLACES:
            raise UsageError(f"crop_at must be one of {', '.join(CROP_PLACES)}, not {self.crop_at!r}")
        if self.limit is not None and self.limit < 1:
            raise UsageError(f"limit must be at least 1, not {self.limit}")
        if self.shard is not None and not (len(self.shard) == 2 and 0 <= self.shard[0] < self.shard[1]):
            raise UsageError(f"a shard is I/N with 0 <= I < N, not {'/'.join(map(str, self.shard))}")

    @classmethod
    def from_specs(cls, restorers: str | Sequence[str], degradations: str | Sequence[str],
                   datasets: str | Sequence[str] | None = None, metrics: str | Sequence[str] | None = None,
                   backends: str | Sequence[str] | None = None, **options: Any) -> BenchPlan:
        """A plan from specs given as comma-separated strings or sequences (the CLI's grammar)."""
        return cls(_specs(restorers), _specs(degradations), _specs(datasets) or (DEFAULT_DATASET,),
                   _specs(metrics) or DEFAULT_METRICS, _specs(backends) or ("auto",), **options)

    @classmethod
    def from_suite(cls, path: str | Path, **overrides: Any) -> BenchPlan:
        """A plan from a suite file (restore_core.bench.suites); keyword arguments given win."""
        from restore_core.bench.suites import load_suite

        suite = load_suite(path)
        given = {k: v for k, v in overrides.items() if v is not None and v != ()}
        lists = {key: _specs(given.pop(key)) if key in given else getattr(suite, key)
                 for key in ("restorers", "degradations", "datasets", "metrics", "backends")}
        lists["metrics"] = lists["metrics"] or DEFAULT_METRICS
        lists["backends"] = lists["backends"] or ("auto",)
        seed = given.pop("seed", suite.seed if suite.seed is not None else 0)
        for key in ("limit", "crop"):  # the suite's, unless given
            if key not in given and getattr(suite, key) is not None:
                given[key] = getattr(suite, key)
        return cls(**lists, seed=seed, suite=str(path), **given)

    @classmethod
    def from_options(cls, suite: str | Path | None = None, **given: Any) -> BenchPlan:
        """A plan from command-line style options: a suite's lists where an option is None (not given).

        Without a suite, restorers and degradations are required; datasets, metrics and backends
        default to the embedded set, PSNR and SSIM, and the fastest available backend.
        """
        if suite is not None:
            return cls.from_suite(suite, **given)
        for name in ("restorers", "degradations"):
            if not given.get(name):
                raise UsageError(f"bench needs --{name[:-1]} (or a --suite that names {name})")
        lists = {k: given.pop(k, None) for k in ("restorers", "degradations", "datasets", "metrics", "backends")}
        options = {k: v for k, v in given.items() if v is not None}
        return cls.from_specs(**lists, **options)

    def with_options(self, **changes: Any) -> BenchPlan:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def build(self, host: PluginHost | None = None) -> BuiltPlan:
        """Build every component; an unknown name or bad parameter is a UsageError naming it."""
        from restore_core.plugins.host import default_host
        from restore_core.plugins.specs import open_dataset_spec

        host = host or default_host()
        restorers = build_restorers(host, self.restorers, build_backends(host, self.backends), self.tile)
        degradations = build_named(host, "degradation", self.degradations)
        metrics = build_named(host, "metric", self.metrics)
        datasets = [open_dataset_spec(host, s).limit(self.limit).cropped(self.crop, self.crop_at)  # type: ignore[arg-type]
                    for s in self.datasets]
        if self.shard is not None:  # every n-th image: shards of one plan are disjoint and cover it
            i, n = self.shard
            datasets = [replace(ds, records=ds.records[i::n]) for ds in datasets]
        return BuiltPlan(self, restorers, degradations, datasets, metrics)


@dataclass
class BuiltPlan:
    """A plan's components, built: what the runner measures."""

    plan: BenchPlan
    restorers: list[Named]
    degradations: list[Named]
    datasets: list[Dataset]
    metrics: list[Named]

    def matrix(self) -> dict[str, Any]:
        """The matrix the store records; a resumed run must build the same one."""
        p = self.plan
        return {"restorers": [[x.label, x.backend] for x in self.restorers],
                "degradations": [x.label for x in self.degradations],
                "datasets": [x.name for x in self.datasets], "metrics": [x.label for x in self.metrics],
                "seed": p.seed, "limit": p.limit, "crop": p.crop, "crop_at": p.crop_at if p.crop else None,
                # only when sharded, so the matrix of an unsharded run is what it always was
                **({"shard": list(p.shard)} if p.shard else {})}

    def inference(self) -> dict[str, str]:
        """What each network restorer runs with, by its table label ("dncnn [optimized]": "optimized bf16 ...")."""
        from restore_core.bench.records import restorer_label
        from restore_core.restoring import inference_description

        return {restorer_label(r.label, r.backend): inference_description(r.component)
                for r in self.restorers if r.backend is not None}

    def metric_directions(self) -> dict[str, bool]:
        """Each metric's `higher_is_better`, by label (recorded so reports read right without the plugin)."""
        return {m.label: bool(getattr(m.component, "higher_is_better", True)) for m in self.metrics}

    def components(self) -> list[dict[str, Any]]:
        """Every component of the matrix with its kind and the distribution and version it came from."""
        from restore_core.restoring import inference_description

        seen: dict[tuple[str, str], dict[str, Any]] = {}
        for named in [*self.restorers, *self.degradations, *self.metrics]:
            entry = {"kind": named.kind, "spec": named.label, "origin": named.origin}
            if named.kind == "restorer":
                entry["backend"] = named.backend
                entry["inference"] = inference_description(named.component)
            if named.kind == "metric":
                entry["higher_is_better"] = bool(getattr(named.component, "higher_is_better", True))
            seen.setdefault((named.kind, named.label if named.kind != "restorer" else f"{named.label}|{named.backend}"),
                            entry)
        return list(seen.values())
