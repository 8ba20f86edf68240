"""pluggy hook specifications: each hook receives a `register` callback owned by the core.

A plugin implements any of these hooks with `@restore_core.hookimpl` and calls
`register(SomeClass)` once per component. Hooks are called with keyword arguments only, so an
implementation may accept fewer arguments than its specification.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

PROJECT = "restore"
#: entry-point group through which built-in and third-party plugins are discovered
ENTRY_POINT_GROUP = "restore.plugins"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: `register(factory, *, name=None, shorthand=None, aliases=())`; see `restore_core.plugins.registry`
Register = Callable[..., Any]


@hookspec
def register_degradations(register: Register) -> None:
    """Register Degradation classes: `register(GaussianNoise, shorthand="sigma")`."""


@hookspec
def register_restorers(register: Register) -> None:
    """Register Restorer classes: `register(DnCNN)`."""


@hookspec
def register_metrics(register: Register) -> None:
    """Register Metric classes: `register(PSNR)`."""


@hookspec
def register_backends(register: Register) -> None:
    """Register inference Backend classes: `register(EagerBackend)`."""


@hookspec
def register_datasets(register: Register) -> None:
    """Register datasets: callables returning a `Dataset`, e.g. `register(PublicDataset(...))`."""
