"""Typed benchmark records: one per (cell, image), and the cells they add up to.

A cell is one (restorer, backend, degradation, dataset) combination of a plan. Every outcome is a
`Record` of an explicit kind:

- `image`: an image measured (its metrics, its input's metrics, seconds, pixels, peak extra memory);
- `skipped`: the whole cell cannot run (a restorer that does not serve the task, missing weights);
  `image` is None and `reason` says why;
- `failed`: a component raised on an image; `image` names it, `reason` names the component, its
  plugin's distribution and version, the image and the error. The cell stops there; `--resume`
  retries it from that image.

`Record.to_json` is the line the results store holds; `Record.from_json` also reads stores written
before records had a kind (a skipped cell was the image id `*skipped*` with a `skipped` reason).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

RecordKind = Literal["image", "skipped", "failed"]
KINDS: tuple[RecordKind, ...] = ("image", "skipped", "failed")
LEGACY_SKIPPED = "*skipped*"  # the image id older stores used for a skipped cell

StoreKey = tuple[str, str | None, str, str, str | None]  # restorer, backend, degradation, dataset, image


@dataclass(frozen=True, order=True)
class CellKey:
    """One cell of a benchmark matrix."""

    restorer: str
    backend: str | None
    degradation: str
    dataset: str

    @property
    def label(self) -> str:
        """How tables, grids and plots name the restorer: with its backend where it has one."""
        return restorer_label(self.restorer, self.backend)

    def where(self, image: str | None = None) -> str:
        """`dataset/image x degradation`, the place a message points at."""
        return f"{self.dataset}{'/' + image if image else ''} x {self.degradation}"


def restorer_label(restorer: str, backend: str | None) -> str:
    """`restorer [backend]`, or the restorer alone when it runs without a backend."""
    return restorer if backend is None else f"{restorer} [{backend}]"


@dataclass(frozen=True)
class Record:
    """One outcome of a cell: an image measured, the cell skipped, or a component failed."""

    cell: CellKey
    kind: RecordKind = "image"
    image: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    input_metrics: dict[str, float | None] = field(default_factory=dict)
    seconds: float | None = None
    pixels: int | None = None
    peak_extra_memory_mib: float | None = None
    reason: str | None = None  # why a cell was skipped or failed

    @property
    def key(self) -> StoreKey:
        """The identity of this record in a store: a later record with the same key replaces it."""
        c = self.cell
        return (c.restorer, c.backend, c.degradation, c.dataset, self.image)

    def to_json(self) -> dict[str, Any]:
        """The store's line for this record."""
        c = self.cell
        out: dict[str, Any] = {"kind": self.kind, "restorer": c.restorer, "backend": c.backend,
                               "degradation": c.degradation, "dataset": c.dataset, "image": self.image}
        if self.kind == "image":
            out.update(metrics=self.metrics, input_metrics=self.input_metrics, seconds=self.seconds,
                       pixels=self.pixels, peak_extra_memory_mib=self.peak_extra_memory_mib)
        else:
            out["reason"] = self.reason
        return out

    @classmethod
    def from_json(cls, line: dict[str, Any]) -> Record:
        """Read a store line, of this layout or of the one before records had a kind."""
        cell = CellKey(line["restorer"], line.get("backend"), line["degradation"], line["dataset"])
        kind = line.get("kind")
        if kind is None:  # the earlier layout: a sentinel image id marked a skipped cell
            if line.get("image") == LEGACY_SKIPPED:
                return cls(cell, "skipped", None, reason=line.get("skipped"))
            kind = "image"
        if kind not in KINDS:
            raise ValueError(f"unknown record kind {kind!r}")
        if kind != "image":
            return cls(cell, kind, line.get("image"), reason=line.get("reason"))
        return cls(cell, "image", line["image"], dict(line.get("metrics") or {}),
                   dict(line.get("input_metrics") or {}), line.get("seconds"), line.get("pixels"),
                   line.get("peak_extra_memory_mib"))


def latest(records: Iterable[Record]) -> list[Record]:
    """One record per key, the last written winning (a redone image replaces its earlier line)."""
    seen: dict[StoreKey, Record] = {}
    for record in records:
        seen[record.key] = record  # a redone image keeps the place it first had
    return list(seen.values())


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
    failed: str | None = None
    peak_extra_memory_mib: float | None = None  # the largest of its images' (see restore_core.system.memory)

    @classmethod
    def of(cls, key: CellKey) -> CellResult:
        """An empty cell for `key`."""
        return cls(key.restorer, key.degradation, key.dataset, key.backend)

    @property
    def key(self) -> CellKey:
        """The cell's place in the matrix."""
        return CellKey(self.restorer, self.backend, self.degradation, self.dataset)

    @property
    def label(self) -> str:
        """The restorer with its backend, as tables name it."""
        return restorer_label(self.restorer, self.backend)

    @property
    def measured(self) -> bool:
        """Whether the cell has scores to show (not skipped; a failed cell may have some)."""
        return not self.skipped and self.images > 0

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

    @property
    def peak_memory_mib(self) -> float | None:
        """Return `peak_extra_memory_mib` (the name older callers use)."""
        return self.peak_extra_memory_mib

    def add(self, record: Record | dict[str, Any]) -> None:
        """Fold one record (or a store line) into the cell."""
        if isinstance(record, dict):
            record = Record.from_json(record)
        if record.kind == "skipped":
            self.skipped = record.reason
            return
        if record.kind == "failed":
            self.failed = record.reason
            return
        self.images += 1
        self.image_ids.append(record.image or "")
        for name, value in record.metrics.items():
            self.scores.setdefault(name, []).append(value)
        for name, value in record.input_metrics.items():
            if value is not None:
                self.input_scores.setdefault(name, []).append(value)
        self.seconds.append(record.seconds or 0.0)
        self.pixels.append(record.pixels or 0)
        # records from before peak_extra_memory_mib held the process's high-water mark: not comparable
        if record.peak_extra_memory_mib is not None:
            self.peak_extra_memory_mib = max(self.peak_extra_memory_mib or 0.0, record.peak_extra_memory_mib)


def aggregate(records: Iterable[Record], order: Iterable[CellKey] = ()) -> dict[CellKey, CellResult]:
    """Fold records into cells: those of `order` first (even with no record), then in record order.

    A skipped cell keeps no scores (a store may hold images measured before a later run skipped it).
    """
    cells = {key: CellResult.of(key) for key in order}
    for record in records:
        cell = cells.get(record.cell)
        if cell is None:
            cell = cells[record.cell] = CellResult.of(record.cell)
        cell.add(record)
    for cell in cells.values():
        if cell.skipped:
            cell.images, cell.scores, cell.input_scores, cell.seconds, cell.pixels = 0, {}, {}, [], []
            cell.image_ids = []
    return cells
