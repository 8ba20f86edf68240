"""restore: a plugin-based image-restoration framework.

The public API plugins build on: the component interfaces, the hook marker, the task names, the
plugin host and the dataset and backend types a plugin registers.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from restore_core.backends import Backend, Runner, ShapeRange
from restore_core.datasets import Dataset, ImageRecord, folder_dataset
from restore_core.hookspecs import hookimpl
from restore_core.interfaces import (
    DENOISING,
    SUPER_RESOLUTION,
    Degradation,
    DegradationInfo,
    Degraded,
    Metric,
    Restorer,
    TrainableRestorer,
)
from restore_core.plugin_host import PluginHost, default_host

try:
    __version__ = version("restore-framework")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "DENOISING",
    "SUPER_RESOLUTION",
    "Backend",
    "Dataset",
    "Degradation",
    "DegradationInfo",
    "Degraded",
    "ImageRecord",
    "Metric",
    "PluginHost",
    "Restorer",
    "Runner",
    "ShapeRange",
    "TrainableRestorer",
    "__version__",
    "default_host",
    "folder_dataset",
    "hookimpl",
]
