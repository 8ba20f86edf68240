"""Plugin discovery and isolation: entry points load one at a time, each hook call is guarded.

One broken plugin never takes the tool down: its failure is recorded (and shown by
`restore plugins`) while every other plugin keeps working. Set `RESTORE_STRICT_PLUGINS=1`
(plugin authors, CI) to make any failure raise instead.

A plugin whose import takes longer than `IMPORT_WARN_SECONDS` gets a one-line warning naming its
entry point while the import goes on: an import cannot be interrupted safely (it may hold locks or
half-initialised modules), but a command that stalls without a word looks like a hang of restore.
"""

from __future__ import annotations

import importlib.metadata as md
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from restore_core.errors import PluginError, RestoreError
from restore_core.plugins import hookspecs
from restore_core.plugins.registry import KINDS, Registration, Registry, check_name
from restore_core.system import settings

_HOOKS = {
    "degradation": "register_degradations",
    "restorer": "register_restorers",
    "metric": "register_metrics",
    "dataset": "register_datasets",
    "backend": "register_backends",
}


#: the distribution whose plugins (the built-ins) take precedence on a name clash
OWN_DISTRIBUTION = "restore-framework"

#: seconds a plugin may take to import before a warning names it (the import still goes on)
IMPORT_WARN_SECONDS = 5.0


class PluginWarning(UserWarning):
    """A plugin failed to load or register; everything else still works."""


@dataclass(frozen=True)
class PluginInfo:
    """One plugin as `restore plugins` shows it."""

    name: str
    distribution: str
    version: str
    hooks: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()


@dataclass
class PluginHost:
    """Owns the pluggy manager, the loaded plugins and the registries they fill."""

    strict: bool = field(default_factory=settings.strict_plugins)
    import_warn_seconds: float = IMPORT_WARN_SECONDS
    manager: pluggy.PluginManager = field(init=False)
    _dists: dict[str, tuple[str, str]] = field(default_factory=dict, init=False)
    _failures: dict[str, list[str]] = field(default_factory=dict, init=False)
    _registries: dict[str, Registry] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)

    def load_entry_points(self, entry_points: Iterable[md.EntryPoint] | None = None) -> None:
        """Import and register every plugin of the entry-point group, isolating failures."""
        eps = md.entry_points(group=hookspecs.ENTRY_POINT_GROUP) if entry_points is None else entry_points
        for ep in sorted(eps, key=lambda e: e.name):
            dist = (ep.dist.name, ep.dist.version) if ep.dist is not None else ("?", "?")
            if self.manager.has_plugin(ep.name):
                continue
            timer = threading.Timer(self.import_warn_seconds, _warn_slow_import, (ep.name, self.import_warn_seconds))
            timer.daemon = True
            timer.start()
            try:
                module = ep.load()
            except (Exception, SystemExit) as exc:  # a plugin may raise anything while importing, even exit
                self._dists[ep.name] = dist
                self._fail(ep.name, f"import failed: {type(exc).__name__}: {exc}", exc)
                continue
            finally:
                timer.cancel()
            self.add_plugin(module, ep.name, distribution=dist)

    def add_plugin(self, plugin: object, name: str, distribution: tuple[str, str] = ("", "")) -> None:
        """Register a plugin object (module or instance) under `name`."""
        try:
            self.manager.register(plugin, name=name)
            self.manager.check_pending()
        except Exception as exc:  # pluggy validation errors: misspelled hooks, bad signatures
            if self.manager.is_registered(plugin):
                self.manager.unregister(plugin)
            self._dists[name] = distribution
            self._fail(name, f"invalid plugin: {exc}", exc)
            return
        self._dists[name] = distribution
        self._registries = None

    def remove_plugin(self, name: str) -> None:
        """Unregister the plugin named `name` (tests use this in `finally`)."""
        plugin = self.manager.get_plugin(name)
        if plugin is not None:
            self.manager.unregister(plugin)
        self._dists.pop(name, None)
        self._failures.pop(name, None)
        self._registries = None

    def registry(self, kind: str) -> Registry:
        """Return the registry of `kind` ('degradation', 'restorer' or 'metric')."""
        if self._registries is None:
            self._registries = self._collect()
        return self._registries[kind]

    def plugins(self) -> list[PluginInfo]:
        """Describe every plugin seen, loaded or failed."""
        if self._registries is None:
            self._registries = self._collect()
        infos = []
        for name in sorted(self._dists):
            plugin = self.manager.get_plugin(name)
            hooks = tuple(
                sorted(
                    h.name
                    for h in (self.manager.get_hookcallers(plugin) or [])
                    if plugin is not None
                )
            ) if plugin is not None else ()
            dist, version = self._dists[name]
            infos.append(PluginInfo(name, dist, version, hooks, tuple(self._failures.get(name, []))))
        return infos

    def _collect(self) -> dict[str, Registry]:
        registries = {kind: Registry(kind) for kind in KINDS}
        for kind in KINDS:
            caller = getattr(self.manager.hook, _HOOKS[kind])
            # built-ins first, then the rest by name: on a name clash the earlier one keeps the name
            impls = sorted(caller.get_hookimpls(),
                           key=lambda i: (self._dists.get(i.plugin_name, ("", ""))[0] != OWN_DISTRIBUTION,
                                          i.plugin_name))
            for impl in impls:
                staged: list[Registration] = []
                try:
                    impl.function(register=_register_fn(kind, impl.plugin_name, staged))
                    # all or nothing: every staged name is checked before any is added, so a clash
                    # half-way leaves none of this hook call's components registered
                    registries[kind].add_all(staged)
                except (Exception, SystemExit) as exc:
                    message = (f"{_HOOKS[kind]} of {impl.plugin_name!r} failed; its {kind}s are disabled: "
                               f"{type(exc).__name__}: {exc}")
                    self._fail(impl.plugin_name, message, exc, whole_plugin=False)
        return registries

    def _fail(self, name: str, message: str, exc: BaseException, whole_plugin: bool = True) -> None:
        # a failed import or an invalid plugin disables the whole plugin; a failed hook call only
        # what that hook registers, and its message already names the plugin and the hook
        if message not in self._failures.get(name, []):
            self._failures.setdefault(name, []).append(message)
            text = f"plugin {name!r} disabled: {message}" if whole_plugin else message
            if self.strict:
                raise PluginError(f"plugin {name!r}: {message}" if whole_plugin else message) from exc
            warnings.warn(text, PluginWarning, stacklevel=3)


def _warn_slow_import(name: str, seconds: float) -> None:
    warnings.warn(f"plugin {name!r} is still importing after {seconds:g} s; restore waits for it (a plugin "
                  "should defer heavy imports: see 'Keep importing cheap' in docs/publishing.md)",
                  PluginWarning, stacklevel=1)


def _register_fn(kind: str, plugin: str, staged: list[Registration]) -> Callable[..., None]:
    def register(
        factory: Callable[..., Any],
        *,
        name: str | None = None,
        shorthand: str | None = None,
        aliases: Iterable[str] = (),
    ) -> None:
        """Register `factory` (usually a class) under `name` (default: its `name` attribute)."""
        reg_name = name or getattr(factory, "name", None)
        if reg_name is None:
            raise RestoreError(f"{factory!r} has no `name`; pass register(..., name=...)")
        for n in (reg_name, *aliases):
            check_name(n)
        staged.append(Registration(kind, reg_name, factory, plugin, shorthand, tuple(aliases)))

    return register


_default: PluginHost | None = None


def default_host() -> PluginHost:
    """Return the process-wide host, loading entry points on first use."""
    global _default
    if _default is None:
        _default = PluginHost()
        _default.load_entry_points()
    return _default


def reset_default_host() -> None:
    """Forget the process-wide host so the next call rediscovers plugins."""
    global _default
    _default = None
