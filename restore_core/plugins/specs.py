"""One place that builds components from spec strings: restorers (per backend), degradations,
metrics, backends and datasets.

A spec is `name[:key=value,...]` (see `restore_core.plugins.registry`); several specs may be given as
repeated options or separated by commas, a comma followed by `key=value` continuing the previous spec's
parameters (`dncnn:layers=7,features=32,identity` is two specs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from restore_core.errors import UsageError
from restore_core.plugins.host import PluginHost

if TYPE_CHECKING:
    from restore_core.data.datasets import Dataset


@dataclass(frozen=True)
class Named:
    """A built component with the spec the user wrote for it (shown in tables) and where it comes from."""

    label: str
    component: Any
    backend: str | None = None  # the backend a network restorer runs on (None: not a network)
    kind: str = "restorer"
    origin: str = ""  # the plugin's distribution and version, e.g. "restore-plugin-extra 0.1.0"

    def blame(self) -> str:
        """`restorer 'tv' (restore-plugin-extra 0.1.0)`: the component as a failure message names it."""
        return f"{self.kind} {self.label!r}" + (f" ({self.origin})" if self.origin else "")


def origin(host: PluginHost, kind: str, spec: str) -> str:
    """The distribution and version of the plugin that registered the component `spec` names."""
    try:
        plugin = host.registry(kind).parse(spec)[0].plugin
    except Exception:  # an unparsable spec has no origin; building it reports the error
        return ""
    for info in host.plugins():
        if info.name == plugin:
            return f"{info.distribution} {info.version}".strip()
    return plugin


def build_named(host: PluginHost, kind: str, specs: Sequence[str]) -> list[Named]:
    """Build every spec of one kind (degradation, metric) with its label and origin."""
    return [Named(spec, host.registry(kind).build(spec), kind=kind, origin=origin(host, kind, spec))
            for spec in split_specs(specs)]


def split_specs(values: Sequence[str]) -> list[str]:
    """Split repeated options and comma-separated lists into specs; commas inside `name:k=v,k=v` stay."""
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if out and "=" in part and ":" not in part and ":" in out[-1]:
                out[-1] += "," + part  # a parameter of the previous spec
            else:
                out.append(part)
    return out



def open_dataset_spec(host: PluginHost, spec: str) -> Dataset:
    """Open the dataset a name or folder path names."""
    from restore_core.data.datasets import open_dataset

    return open_dataset(host.registry("dataset"), spec)


def parse_tile(value: str) -> int | str | None:
    """Parse a tile option: a size of at least 64 pixels, 0 (no tiling) or auto."""
    if value == "auto":
        return "auto"
    try:
        size = int(value)
    except ValueError:
        raise UsageError(f"--tile must be a size in pixels, 0 (no tiling) or auto, not {value!r}") from None
    if size < 0 or 0 < size < 64:
        raise UsageError(f"--tile must be 0 (no tiling), auto, or at least 64 pixels, not {size}")
    return size or None


def build_backends(host: PluginHost, specs: Sequence[str]) -> list[tuple[str, Any]]:
    """Resolve --backend: names/specs, `all` (every available one, with its defaults) or `auto` (the
    fastest available: the highest `Backend.auto_choice()`, which may be a backend in another precision)."""
    registry = host.registry("backend")
    names = split_specs(specs) or ["auto"]
    if names in (["auto"], ["all"]):
        available = []
        for reg in registry:
            backend = registry.build(reg.name)
            if backend.unavailable() is not None:
                continue
            rank, spec = backend.auto_choice() if names == ["auto"] else (backend.priority, reg.name)
            chosen_backend = backend if spec == reg.name else registry.build(spec)
            if chosen_backend.unavailable() is None:
                available.append((rank, spec, chosen_backend))
        if not available:
            raise UsageError("no inference backend is available on this machine")
        available.sort(key=lambda item: (-item[0], item[1]))
        chosen = available[:1] if names == ["auto"] else available
        return [(name, backend) for _, name, backend in chosen]
    out = []
    for spec in names:
        backend = registry.build(spec)
        backend.check()
        _refuse_emulated_bf16_when_strict(spec, backend)
        out.append((spec, backend))
    return out


def _refuse_emulated_bf16_when_strict(spec: str, backend: Any) -> None:
    """Under --strict, refuse bf16 on a CPU that emulates it before anything runs (else it warns when prepared)."""
    from restore_core.system import settings

    if settings.strict() and backend.emulates_bf16():
        from restore_core.components.backends import warn_emulated_bf16

        warn_emulated_bf16(spec)


def build_restorers(host: PluginHost, specs: Sequence[str], backends: list[tuple[str, Any]],
                    tile: int | str | None) -> list[Named]:
    """One Named per restorer, or per (network restorer, backend) pair.

    A restorer runs on each backend when it takes one: a network restorer, or one that wraps a
    network (plug-and-play) and so has `configure_inference` too.
    """
    out = []
    for spec in split_specs(specs):
        first = host.registry("restorer").build(spec)
        where = origin(host, "restorer", spec)
        if not callable(getattr(first, "configure_inference", None)):
            out.append(Named(spec, first, origin=where))
            continue
        for i, (label, backend) in enumerate(backends):
            model = first if i == 0 else host.registry("restorer").build(spec)
            model.configure_inference(backend, tile)  # type: ignore[arg-type]
            out.append(Named(spec, model, label, origin=where))
    return out

