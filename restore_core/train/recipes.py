"""Training recipes: one short TOML file per shipped model, so `restore train --recipe FILE`
reproduces it. A recipe names only what differs from the training defaults (`TrainConfig`), so
recipes share their defaults instead of repeating them.

    description = "DnCNN-17, gray, sigma 25, BSD400: the DnCNN paper's setting"
    restorer = "dncnn:layers=17"
    degradation = "gaussian25"
    dataset = "bsd400"
    channels = 1
    out = "dncnn-17l-64f-gray-sigma25.safetensors"
    batch = 64
    steps = 60000
    max_minutes = 600

Options given on the command line win over the recipe's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from restore_core.errors import UsageError
from restore_core.system.toml_files import read_toml

#: recipe key -> accepted Python types
FIELDS: dict[str, tuple[type, ...]] = {
    "description": (str,), "restorer": (str,), "degradation": (str,), "dataset": (str,), "channels": (int,),
    "out": (str,), "val_count": (int,), "patch": (int,), "batch": (int,), "steps": (int,), "lr": (float, int),
    "milestones": (list,), "gamma": (float, int), "max_minutes": (float, int), "val_every": (int,),
    "seed": (int,), "bf16": (bool,), "limit": (int,), "crop": (int,), "crop_at": (str,), "patience": (int,),
    "init": (str,), "warmup": (int,),
}
REQUIRED = ("restorer", "degradation", "dataset")


def merge_recipe(recipe: dict[str, Any], options: dict[str, Any],
                 given: Callable[[str], bool]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fill the options not `given` on the command line from the recipe; return (options, schedule)."""
    merged, schedule = dict(options), {}
    for key, value in recipe.items():
        if key == "milestones":
            schedule[key] = tuple(value)
        elif key == "gamma":
            schedule[key] = float(value)
        elif key != "description" and not given(key):
            merged[key] = value
    return merged, schedule


def load_recipe(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a recipe; `out` is resolved relative to the recipe's folder."""
    p = Path(path)
    data = read_toml(p, "recipe", FIELDS)
    for key, value in data.items():
        if (isinstance(value, bool) and bool not in FIELDS[key]) or not isinstance(value, FIELDS[key]):
            names = " or ".join(t.__name__ for t in FIELDS[key])
            raise UsageError(f"recipe {p}: {key} must be {names}, not {value!r}")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise UsageError(f"recipe {p}: missing {', '.join(missing)}")
    if "milestones" in data and not all(isinstance(m, (int, float)) and 0 < m < 1 for m in data["milestones"]):
        raise UsageError(f"recipe {p}: milestones must be fractions of the run between 0 and 1")
    for key in ("out", "init"):
        if key in data and not Path(data[key]).is_absolute():
            data[key] = str((p.parent / data[key]).resolve())
    return data
