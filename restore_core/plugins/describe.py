"""What a registered component is and takes, read from its registration without building it.

`restore show` and `restore list -v` render these descriptions; this module only introspects.
Everything comes from the registered factory: its class attributes (`tasks`, `task`, `channels`,
`higher_is_better`, `unit`) and the signature and type hints of its `__init__` (of the factory
itself when it is a function or a callable object). Describing never calls the factory, so it
loads no network, no weights and no torch, and it works for a component that cannot run here.

A type hint that cannot be resolved (a plugin annotating with a name it imports only for type
checkers) is shown as written rather than failing, as the registry's spec parsing falls back too.
"""

from __future__ import annotations

import difflib
import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from restore_core.errors import RestoreError, UnknownNameError, UsageError
from restore_core.plugins.host import PluginHost
from restore_core.plugins.registry import KINDS, Registration, parameters


@dataclass(frozen=True)
class ParameterDescription:
    """One parameter of a component's factory: what a spec `name:key=value` may set."""

    name: str
    type: str  # as a reader writes it: `int`, `float | None`, `'centre' | 'corner'`
    default: Any  # the default value itself; meaningless when `required`
    required: bool
    choices: tuple[str, ...] = ()  # the values a spec may give, when they are few (Literal, bool)

    def compact(self) -> str:
        """`sigma: float = 25`, as `restore list -v` shows it."""
        return f"{self.name}: {self.type}" + ("" if self.required else f" = {spec_value(self.default)}")


@dataclass(frozen=True)
class ComponentDescription:
    """Everything `restore show` says about one registered component."""

    kind: str
    name: str
    aliases: tuple[str, ...]
    shorthand: str | None
    description: str
    plugin: str
    distribution: str
    version: str
    tasks: tuple[str, ...]  # a restorer's `tasks`, a degradation's `task`; empty for other kinds
    channels: tuple[int, ...]  # the channel counts a restorer takes; empty where not declared
    higher_is_better: bool | None  # metrics only
    unit: str | None  # metrics only
    parameters: tuple[ParameterDescription, ...]

    @property
    def qualified_name(self) -> str:
        """`restorer/dncnn`: the name `restore show` accepts when a name is taken by several kinds."""
        return f"{self.kind}/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; defaults that JSON cannot hold are given as spec text."""
        out = asdict(self)
        for param in out["parameters"]:
            if not _json_scalar(param["default"]) or param["required"]:
                param["default"] = None if param["required"] else spec_value(param["default"])
        return out


def describe(host: PluginHost, kind: str, name: str) -> ComponentDescription:
    """Describe the `kind` component registered as `name`, an alias or a shorthand (`gaussian25`)."""
    if kind not in KINDS:
        raise UsageError(f"unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
    reg, _ = host.registry(kind).parse(name)  # an unknown name: UnknownNameError with close matches
    return _describe(host, reg)


def find(host: PluginHost, query: str) -> list[ComponentDescription]:
    """Describe every component named `query` in any kind, or `kind/name` for one kind only."""
    text = query.strip().lower()
    if "/" in text:
        kind, _, name = text.partition("/")
        return [describe(host, kind, name)]
    found = [_describe(host, reg) for kind in KINDS if (reg := host.registry(kind).lookup(text)) is not None]
    if not found:  # a shorthand such as gaussian25, which only parsing resolves
        for kind in KINDS:
            try:
                found.append(describe(host, kind, text))
            except RestoreError:
                continue
    if found:
        return found
    names = {f"{kind}/{n}": n for kind in KINDS for n in host.registry(kind).names()}
    close = difflib.get_close_matches(text, list(names.values()), n=5, cutoff=0.5)
    suggestions = sorted(q for q, n in names.items() if n in close)
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    raise UnknownNameError(f"no component is named {query.strip()!r}{hint} (`restore list` shows them all)")


def _describe(host: PluginHost, reg: Registration) -> ComponentDescription:
    factory = reg.factory
    info = {p.name: p for p in host.plugins()}.get(reg.plugin)
    task = getattr(factory, "tasks", None) or ((factory.task,) if isinstance(getattr(factory, "task", None), str)
                                                else ())
    channels = getattr(factory, "channels", ()) if reg.kind == "restorer" else ()
    metric = reg.kind == "metric"
    return ComponentDescription(
        kind=reg.kind, name=reg.name, aliases=reg.aliases, shorthand=reg.shorthand,
        description=reg.description, plugin=reg.plugin,
        distribution=info.distribution if info else "", version=info.version if info else "",
        tasks=tuple(sorted(task)), channels=tuple(sorted(channels)),
        higher_is_better=bool(getattr(factory, "higher_is_better", True)) if metric else None,
        unit=str(getattr(factory, "unit", "") or "") if metric else None,
        parameters=describe_parameters(factory),
    )


def describe_parameters(factory: Callable[..., Any]) -> tuple[ParameterDescription, ...]:
    """The keyword parameters of a factory with their types, defaults and allowed values."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # an annotation naming something importable only for type checkers
        hints = {}
    out = []
    for name, param in parameters(factory).items():
        hint = hints.get(name, param.annotation)
        out.append(ParameterDescription(
            name=name,
            type="" if hint is inspect.Parameter.empty else type_text(hint),
            default=None if param.default is inspect.Parameter.empty else param.default,
            required=param.default is inspect.Parameter.empty,
            choices=choices(hint),
        ))
    return tuple(out)


def type_text(hint: Any) -> str:
    """A type hint as a reader writes it: `int`, `float | None`, `'centre' | 'corner'`."""
    if isinstance(hint, str):
        return hint
    if hint is type(None) or hint is None:
        return "None"
    if hint is Ellipsis:
        return "..."
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_text(a) for a in typing.get_args(hint))
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(hint))
    if origin is not None and typing.get_args(hint):
        base = getattr(origin, "__name__", str(origin))
        return f"{base}[{', '.join(type_text(a) for a in typing.get_args(hint))}]"
    return getattr(hint, "__name__", str(hint).replace("typing.", ""))


def choices(hint: Any) -> tuple[str, ...]:
    """The values a spec may give for `hint` when they are few: Literal members, true/false, none."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        inner = [c for a in args if a is not type(None) for c in choices(a)]
        if inner and type(None) in args:
            inner.append("none")
        return tuple(inner)
    if origin is Literal:
        return tuple(spec_value(a) for a in typing.get_args(hint))
    if hint is bool:
        return ("true", "false")
    return ()


def spec_value(value: Any) -> str:
    """A value as a spec writes it: `25` for 25.0, `true`, `none`."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _json_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))
