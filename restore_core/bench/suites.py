"""Benchmark suites: a short TOML file naming a matrix, so a standard evaluation is one argument.

    name = "denoise-gray"
    description = "Set12 and BSD68 at sigma 15, 25 and 50"
    restorers = ["dncnn", "nlm", "identity"]
    degradations = ["gaussian15", "gaussian25", "gaussian50"]
    datasets = ["set12", "bsd68"]
    metrics = ["psnr", "ssim"]      # optional, default psnr and ssim
    backends = ["auto"]             # optional
    seed = 0                        # optional
    limit = 4                       # optional: the first N images of each dataset (--limit)
    crop = 256                      # optional: a centred square crop of each image (--crop)

Options given on the command line win over the suite's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from restore_core.errors import UsageError
from restore_core.system.toml_files import read_toml

_LISTS = ("restorers", "degradations", "datasets", "metrics", "backends")


@dataclass(frozen=True)
class Suite:
    """A named benchmark matrix read from TOML."""

    name: str
    description: str = ""
    restorers: tuple[str, ...] = ()
    degradations: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    backends: tuple[str, ...] = ()
    seed: int | None = None
    limit: int | None = None
    crop: int | None = None


def load_suite(path: str | os.PathLike[str]) -> Suite:
    """Read and validate a suite file; every problem is one UsageError naming the file."""
    p = Path(path)
    data = read_toml(p, "suite", ["name", "description", "seed", "limit", "crop", *_LISTS])
    values: dict[str, object] = {}
    for key in _LISTS:
        value = data.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"suite {p}: {key} must be a list of strings")
        values[key] = tuple(value)
    for key in ("restorers", "degradations", "datasets"):
        if not values[key]:
            raise UsageError(f"suite {p}: {key} must name at least one entry")
    seed = data.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise UsageError(f"suite {p}: seed must be an integer")
    for key in ("limit", "crop"):
        value = data.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise UsageError(f"suite {p}: {key} must be a positive integer")
    return Suite(name=str(data.get("name", p.stem)), description=str(data.get("description", "")),
                 seed=seed, limit=data.get("limit"), crop=data.get("crop"), **values)  # type: ignore[arg-type]
