"""Aliases for the modules of the earlier flat layout, so third-party code keeps importing.

`import restore_core.interfaces` returns the module `restore_core.components.interfaces` itself (one
module object under two names, so classes and `isinstance` are shared) and warns once with a
DeprecationWarning that names the new path. The aliases are to be removed in 0.3 (see the plugin API's
compatibility policy in docs/publishing.md).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

#: old module (under restore_core) -> its new home
MOVED = {
    "hookspecs": "plugins.hookspecs", "plugin_host": "plugins.host", "registry": "plugins.registry",
    "scaffold": "plugins.scaffold",
    "interfaces": "components.interfaces", "network_restorer": "components.network_restorer",
    "backends": "components.backends", "metric_protocol": "components.metric_protocol",
    "flops": "components.flops",
    "imageio": "imaging.io", "colour": "imaging.colour", "resize": "imaging.resize", "tiling": "imaging.tiling",
    "idx": "imaging.idx",
    "datasets": "data.datasets", "seeding": "data.seeding",
    "runner": "bench.runner", "parallel_bench": "bench.parallel", "results_store": "bench.store",
    "reports": "bench.report", "suites": "bench.suites",
    "training": "train.loop", "recipes": "train.recipes", "weights": "train.weights",
    "model_card": "train.model_card",
    "hardware": "system.hardware", "memory": "system.memory", "atomic_files": "system.atomic_files",
    "toml_files": "system.toml_files",
}


class _AliasLoader(importlib.abc.Loader):
    """Loads an old name as the module now at its new path."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(f"{spec.name} moved to {self.target}; import it from there (the old path goes in 0.3)",
                      DeprecationWarning, stacklevel=2)
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module was executed under its new name."""


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds `restore_core.<old>` for every old module in MOVED."""

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        """Return an alias spec for an old module name, else None (the normal finders go on)."""
        package, _, leaf = fullname.rpartition(".")
        if package != "restore_core" or leaf not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(f"restore_core.{MOVED[leaf]}"))


def install() -> None:
    """Put the alias finder on sys.meta_path once."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.append(_AliasFinder())
