"""The results store of a benchmark run: a directory that survives interruption.

Layout of a run directory:

- `manifest.json`: what was asked (the matrix, seed, options), the versions of the package and of
  every plugin, the git commit when run from a checkout, the hardware (CPU model and its matrix
  extensions, logical CPUs, memory, CUDA device) and torch threads; written
  atomically when the run starts.
- `results.jsonl`: one JSON object per (restorer, backend, degradation, dataset, image), appended
  with a single `write` of a whole line and flushed to disk, so a killed process (even `kill -9`)
  loses at most the image in flight; a torn last line (power loss) is ignored when reading and cut
  off before a resumed run appends, so the next record starts on a line of its own. Each line is a
  `restore_core.bench.records.Record`: `kind` is `image` (metrics, input_metrics, seconds, pixels,
  peak_extra_memory_mib), `skipped` (a whole cell, `image` null, `reason`) or `failed` (a component
  raised on `image`; `reason` names it); a later line with the same (cell, image) replaces an earlier
  one, so a retried image supersedes its failure. A line that is not such a record (garbage, another
  layout, a score that is not a number) is skipped when reading, never mis-scored.
- `samples/`: small PNG crops (clean, degraded, each restorer) of the first image of every
  dataset and degradation, for the visual comparison grids of `restore bench report`.
- `.lock`: held with `flock` while a process writes the run, so two runs cannot write one store.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from restore_core.bench.records import CellKey, CellResult, Record, aggregate
from restore_core.bench.records import latest as latest_records
from restore_core.errors import StoreError, UsageError
from restore_core.system.atomic_files import atomic_write_text
from restore_core.system.provenance import environment  # noqa: F401 - re-exported for older callers

MANIFEST = "manifest.json"
RESULTS = "results.jsonl"
SAMPLES = "samples"
LOCK = ".lock"

Key = tuple[str, str | None, str, str, str]  # restorer, backend, degradation, dataset, image id


@dataclass
class RunStore:
    """An open run directory: append results, read what is already there."""

    path: Path
    manifest: dict[str, Any]
    _lock_fd: int | None = field(default=None, repr=False)
    _fd: int | None = field(default=None, repr=False)

    @classmethod
    def create(cls, path: Path, manifest: dict[str, Any], resume: bool) -> RunStore:
        """Open `path` for writing: new (it must not hold a run) or resumed (its matrix must match).

        A directory this call created is removed again when opening fails (a full disk writing the
        manifest), so a failed start leaves no empty run behind.
        """
        blocked = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
        if blocked is not None:
            raise UsageError(f"cannot use {path} as a run directory: {blocked} is not a folder")
        fresh = not path.exists()
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the run directory {path} ({exc.strerror or exc})") from None
        store = cls(path, manifest)
        try:
            store._lock()
            existing = path / MANIFEST
            if existing.is_file():
                if not resume:
                    raise UsageError(f"{path} already holds a run; add --resume to continue it "
                                     "or choose another --out")
                old = read_manifest(path)
                if old.get("matrix") != manifest.get("matrix"):
                    raise StoreError(f"{path} holds a run of a different matrix; resume it with the same options "
                                     f"(it was: {json.dumps(old.get('matrix'), sort_keys=True)[:300]})")
                store.manifest = {**old, "resumed": [*old.get("resumed", []), _now()]}
            try:
                atomic_write_text(existing, json.dumps(store.manifest, indent=1, sort_keys=True) + "\n")
                _cut_torn_line(path / RESULTS)
                store._fd = os.open(path / RESULTS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as exc:
                raise StoreError(f"cannot write the run directory {path} ({exc.strerror or exc})") from None
        except BaseException:
            store.close()
            if fresh:
                remove_if_empty(path)
            raise
        return store

    def _lock(self) -> None:
        self._lock_fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._lock_fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(self._lock_fd)
            self._lock_fd = None
            raise StoreError(f"{self.path} is being written by {holder}; wait for it or use another --out") from None
        os.ftruncate(self._lock_fd, 0)
        os.pwrite(self._lock_fd, f"pid {os.getpid()}".encode(), 0)

    def append(self, record: Record | dict[str, Any]) -> None:
        """Append one result line with a single write, then flush it to disk."""
        if isinstance(record, Record):
            record = record.to_json()
        if self._fd is None:
            raise StoreError(f"{self.path} is not open for writing")
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        os.write(self._fd, line)
        os.fsync(self._fd)

    def close(self) -> None:
        """Release the file and the lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_results(path: Path) -> list[dict[str, Any]]:
    """Every complete result line of a run (a torn last line is skipped)."""
    file = path / RESULTS
    if not file.is_file():
        return []
    out = []
    for line in file.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a crash mid-write: the image is simply redone
    return out


def read_records(path: Path) -> list[Record]:
    """Every complete record of a run, typed (lines of unknown layout are skipped)."""
    out = []
    for line in read_results(path):
        try:
            record = Record.from_json(line)
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # a line this version cannot read: not silently mis-scored, just left out
        if _well_typed(record):  # valid JSON of the right keys can still hold a string for a score
            out.append(record)
    return out


def _well_typed(record: Record) -> bool:
    def number(value: object) -> bool:
        return value is None or (isinstance(value, int | float) and not isinstance(value, bool))

    cell = record.cell
    names = (cell.restorer, cell.degradation, cell.dataset)
    return (all(isinstance(n, str) for n in names)
            and all(v is None or isinstance(v, str) for v in (cell.backend, record.image, record.reason))
            and all(isinstance(k, str) and number(v) for scores in (record.metrics, record.input_metrics)
                    for k, v in scores.items())
            and all(number(v) for v in (record.seconds, record.pixels, record.peak_extra_memory_mib)))


def _cut_torn_line(file: Path) -> None:
    """Cut a last line that a crash left without its newline, so appends start on a fresh line."""
    if not file.is_file() or file.stat().st_size == 0:
        return
    data = file.read_bytes()
    if data.endswith(b"\n"):
        return
    with file.open("r+b") as f:
        f.truncate(data.rfind(b"\n") + 1)
        f.flush()
        os.fsync(f.fileno())


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a run directory, or a StoreError naming what is wrong."""
    file = path / MANIFEST
    if not file.is_file():
        raise StoreError(f"{path} is not a benchmark run (no {MANIFEST})")
    try:
        manifest = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(f"{file}: not a readable manifest ({exc})") from None
    if not isinstance(manifest, dict):
        raise StoreError(f"{file}: not a readable manifest (a JSON {type(manifest).__name__}, not an object)")
    return manifest


def remove_if_empty(path: Path) -> bool:
    """Remove a run directory that holds no result (a run that failed before measuring); say if it did."""
    if not path.is_dir():
        return False
    allowed = {MANIFEST, RESULTS, LOCK, SAMPLES}
    entries = list(path.iterdir())
    results = path / RESULTS
    samples = path / SAMPLES
    if any(p.name not in allowed for p in entries) \
            or (results.is_file() and results.stat().st_size > 0) \
            or (samples.is_dir() and any(f.is_file() for f in samples.rglob("*"))):
        return False
    import shutil

    shutil.rmtree(path, ignore_errors=True)
    return True


def result_key(record: dict[str, Any]) -> Key:
    """The identity of one result line."""
    return (record["restorer"], record.get("backend"), record["degradation"], record["dataset"], record["image"])


def latest(records: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """One record per key, the last written winning (a redone image replaces its earlier line)."""
    seen: dict[Key, dict[str, Any]] = {}
    for record in records:
        seen[result_key(record)] = record
    return iter(seen.values())


def default_run_dir(root: Path = Path("restore-runs")) -> Path:
    """A fresh timestamped directory under `root`."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = root / stamp
    n = 1
    while candidate.exists():
        n += 1
        candidate = root / f"{stamp}-{n}"
    return candidate


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class StoredRun:
    """A run directory read back: its manifest, its cells in the order measured, its metrics' directions."""

    path: Path
    manifest: dict[str, Any]
    cells: dict[CellKey, CellResult]
    directions: dict[str, bool]  # metric label -> higher is better

    @property
    def metrics(self) -> list[str]:
        """The metric labels of the run, in its matrix's order."""
        return list(self.directions)


def load_run(path: Path) -> StoredRun:
    """Read a run directory and fold its records into cells."""
    manifest = read_manifest(path)
    return StoredRun(path, manifest, aggregate(latest_records(read_records(path))), metric_directions(manifest))


def metric_directions(manifest: dict[str, Any]) -> dict[str, bool]:
    """Each metric's `higher_is_better` as the run recorded it.

    Runs made before the manifest recorded directions ask the registry; a metric whose plugin is not
    installed here then counts as higher-is-better, the convention of every built-in metric.
    """
    recorded = manifest.get("metrics") or {}
    out = {}
    for label in manifest.get("matrix", {}).get("metrics", []):
        entry = recorded.get(label)
        out[label] = bool(entry["higher_is_better"]) if isinstance(entry, dict) and "higher_is_better" in entry \
            else _registered_direction(label)
    return out


def _registered_direction(metric: str) -> bool:
    """Whether the installed metric a spec names prefers higher values (not installed: yes)."""
    from restore_core.plugins.host import default_host

    try:
        return bool(getattr(default_host().registry("metric").build(metric), "higher_is_better", True))
    except Exception:  # a metric from a plugin that is not installed here
        return True
