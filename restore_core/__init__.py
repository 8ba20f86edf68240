"""restore: a plugin-based image-restoration framework.

The public API plugins build on: the component interfaces, the hook marker and the task names.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

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

try:
    __version__ = version("restore-framework")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "DENOISING",
    "SUPER_RESOLUTION",
    "Degradation",
    "DegradationInfo",
    "Degraded",
    "Metric",
    "Restorer",
    "TrainableRestorer",
    "__version__",
    "hookimpl",
]
