"""restore: a plugin-based image-restoration framework.

The public API: the component interfaces, the hook marker, the task names, the plugin host, the
dataset and backend types a plugin registers, and the benchmark, restore and training entry points.

Names are imported on first use (PEP 562 `__getattr__`, as pluggy does), so `import restore_core`
and `restore --version` do not import torch. The package is laid out by concept:

- `restore_core.plugins`: hook specifications, the plugin host, registries and spec strings;
- `restore_core.components`: the interfaces plugins implement and the network-restorer base;
- `restore_core.imaging`: image I/O, colour, resizing, tiling;
- `restore_core.data`: datasets and per-image seeding;
- `restore_core.bench`: the benchmark plan, runner, records, store, tables and reports;
- `restore_core.train`: the training loop, job, recipes, weights and model cards;
- `restore_core.system`: hardware, memory, atomic files, settings;
- `restore_core.cli`: the `restore` command, one thin module per command.

Modules of the earlier flat layout (`restore_core.interfaces`, `restore_core.runner`, ...) still
import, as aliases of their new homes, with a DeprecationWarning (`restore_core._moved`).
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from restore_core import _moved

try:
    __version__ = version("restore-framework")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

_moved.install()

# public name -> module that defines it; imported when first asked for
_EXPORTS = {
    "DENOISING": "restore_core.components.interfaces",
    "DEBLOCKING": "restore_core.components.interfaces",
    "DEBLURRING": "restore_core.components.interfaces",
    "SUPER_RESOLUTION": "restore_core.components.interfaces",
    "Degradation": "restore_core.components.interfaces",
    "DegradationInfo": "restore_core.components.interfaces",
    "Degraded": "restore_core.components.interfaces",
    "Metric": "restore_core.components.interfaces",
    "Restorer": "restore_core.components.interfaces",
    "TrainableRestorer": "restore_core.components.interfaces",
    "Backend": "restore_core.components.backends",
    "Runner": "restore_core.components.backends",
    "ShapeRange": "restore_core.components.backends",
    "Dataset": "restore_core.data.datasets",
    "ImageRecord": "restore_core.data.datasets",
    "folder_dataset": "restore_core.data.datasets",
    "hookimpl": "restore_core.plugins.hookspecs",
    "PluginHost": "restore_core.plugins.host",
    "BenchPlan": "restore_core.bench.plan",
    "BenchResult": "restore_core.bench.runner",
    "run_plan": "restore_core.bench.runner",
    "CellKey": "restore_core.bench.records",
    "CellResult": "restore_core.bench.records",
    "Record": "restore_core.bench.records",
    "restore_image": "restore_core.restoring",
    "estimate_noise_sigma": "restore_core.imaging.noise_level",
    "TrainJob": "restore_core.train.job",
    "default_host": "restore_core.plugins.host",
}

__all__ = [  # noqa: RUF022 - grouped as _EXPORTS is
    "__version__",
    "Backend",
    "BenchPlan",
    "BenchResult",
    "CellKey",
    "CellResult",
    "DEBLOCKING",
    "DEBLURRING",
    "DENOISING",
    "Dataset",
    "Degradation",
    "DegradationInfo",
    "Degraded",
    "ImageRecord",
    "Metric",
    "PluginHost",
    "Record",
    "Restorer",
    "Runner",
    "SUPER_RESOLUTION",
    "ShapeRange",
    "TrainJob",
    "TrainableRestorer",
    "default_host",
    "estimate_noise_sigma",
    "folder_dataset",
    "hookimpl",
    "restore_image",
    "run_plan",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'restore_core' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:  # static checkers and IDEs see the real names
    from restore_core.bench.plan import BenchPlan
    from restore_core.bench.records import CellKey, CellResult, Record
    from restore_core.bench.runner import BenchResult, run_plan
    from restore_core.components.backends import Backend, Runner, ShapeRange
    from restore_core.components.interfaces import (
        DEBLOCKING,
        DEBLURRING,
        DENOISING,
        SUPER_RESOLUTION,
        Degradation,
        DegradationInfo,
        Degraded,
        Metric,
        Restorer,
        TrainableRestorer,
    )
    from restore_core.data.datasets import Dataset, ImageRecord, folder_dataset
    from restore_core.plugins.hookspecs import hookimpl
    from restore_core.plugins.host import PluginHost, default_host
    from restore_core.restoring import restore_image
    from restore_core.train.job import TrainJob
