"""Merging run directories of one plan made apart: shards (`--shard I/N`), other machines, other days.

The runs must hold the same matrix (restorers with their backends, degradations, datasets, metrics,
seed, limit, crop), shards aside; a run of another plan is refused with what differs. The merged
run is a new directory written through the results store: every record of every run (the last one
written winning for one cell and image, as in one store), the sample tiles of whichever run has them,
and a manifest that keeps each source run's path, shard and environment, since shards may come from
different machines and their timings are only comparable within one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from restore_core.bench.records import latest
from restore_core.bench.store import SAMPLES, RunStore, read_manifest, read_records
from restore_core.errors import StoreError, UsageError


def plan_matrix(manifest: dict[str, Any]) -> dict[str, Any]:
    """A run's matrix without its shard: what runs of one plan share."""
    return {k: v for k, v in manifest.get("matrix", {}).items() if k != "shard"}


def merge_runs(runs: list[Path], out: Path) -> int:
    """Write the merge of `runs` into the new run directory `out`; return how many records it holds."""
    if len(runs) < 2:
        raise UsageError("bench merge needs at least two runs")
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} is not empty; merge into a new folder")
    manifests = [read_manifest(run) for run in runs]
    base = plan_matrix(manifests[0])
    for run, manifest in zip(runs[1:], manifests[1:], strict=True):
        other = plan_matrix(manifest)
        if other != base:
            keys = sorted(k for k in {*base, *other} if base.get(k) != other.get(k))
            raise StoreError(f"{run} holds another plan than {runs[0]} (they differ in {', '.join(keys)}: "
                             f"{json.dumps({k: other.get(k) for k in keys})[:200]} against "
                             f"{json.dumps({k: base.get(k) for k in keys})[:200]}); only runs of one plan merge")
    manifest = {**manifests[0], "matrix": base,
                "merged_from": [{"run": str(run), "shard": m.get("matrix", {}).get("shard"),
                                 "environment": m.get("environment")} for run, m in zip(runs, manifests, strict=True)]}
    records = latest(record for run in runs for record in read_records(run))
    with RunStore.create(out, manifest, resume=False) as store:
        for record in records:
            store.append(record)
    for run in runs:  # tiles: the first run that has a (dataset, degradation)'s keeps it
        source = run / SAMPLES
        if source.is_dir():
            shutil.copytree(source, out / SAMPLES, dirs_exist_ok=True,
                            ignore=lambda folder, names, source=source: [
                                n for n in names if (out / SAMPLES / Path(folder).relative_to(source) / n).is_file()])
    return len(records)
