"""Strict registries of components and the spec strings that configure them.

A spec is `name[:key=value,...]`; a name registered with a `shorthand` parameter also accepts a
trailing number (`gaussian25` is `gaussian:sigma=25`). Names are lowercase and unique across plugins.
Degradation specs may be chained with `+` (`gaussian15+jpeg:quality=30`, see `split_chain`); building
one gives a `restore_core.components.chain.Chain` of the stages.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import re
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from restore_core.errors import DuplicateNameError, SpecError, UnknownNameError

KINDS = ("degradation", "restorer", "metric", "dataset", "backend")
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
_SHORTHAND = re.compile(r"^(?P<name>[a-z][a-z0-9_-]*?)-?(?P<value>\d+(?:\.\d+)?)$")
# a `+` followed by a name starts the next stage of a chain; `1e+3` and `a+3` stay values
_CHAIN = re.compile(r"\+(?=\s*[A-Za-z])")


def split_chain(spec: str) -> list[str]:
    """Split a degradation chain `a+b:k=v` into its stage specs (one element if it is not a chain)."""
    stages = [stage.strip() for stage in _CHAIN.split(spec)]
    if len(stages) > 1 and not all(stages):
        raise SpecError(f"malformed chain {spec!r}: a stage is empty")
    return stages


@dataclass(frozen=True)
class Registration:
    """One registered component: its factory, names and the plugin it came from."""

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    shorthand: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        """Return the one-line description the component declares."""
        text = getattr(self.factory, "description", "") or (self.factory.__doc__ or "")
        return text.strip().splitlines()[0] if text.strip() else ""


@dataclass
class Registry:
    """Every registered component of one kind, addressable by name or alias."""

    kind: str
    entries: dict[str, Registration] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    def add(self, reg: Registration) -> None:
        """Add `reg`; a name or alias already taken is a DuplicateNameError naming both plugins."""
        self.add_all([reg])

    def add_all(self, regs: Sequence[Registration]) -> None:
        """Add every one of `regs` or, if any name or alias is taken (here or within `regs`), none."""
        staged: dict[str, Registration] = {}
        for reg in regs:
            for key in (reg.name, *reg.aliases):
                owner = self.lookup(key) or staged.get(key)
                if owner is not None:
                    raise DuplicateNameError(
                        f"{self.kind} name {key!r} from plugin {reg.plugin!r} is already registered "
                        f"by plugin {owner.plugin!r}"
                    )
                staged[key] = reg
        for reg in regs:
            self.entries[reg.name] = reg
            for alias in reg.aliases:
                self.aliases[alias] = reg.name

    def __iter__(self) -> Iterator[Registration]:
        return iter(sorted(self.entries.values(), key=lambda r: r.name))

    def __len__(self) -> int:
        return len(self.entries)

    def names(self) -> list[str]:
        """Return every name and alias, sorted."""
        return sorted([*self.entries, *self.aliases])

    def lookup(self, name: str) -> Registration | None:
        """Return the registration for `name` or an alias of it, or None."""
        return self.entries.get(self.aliases.get(name, name))

    def parse(self, spec: str) -> tuple[Registration, dict[str, Any]]:
        """Resolve `spec` to a registration and typed keyword arguments."""
        text = spec.strip()
        if self.kind == "degradation" and len(split_chain(text)) > 1:
            raise SpecError(f"{spec!r} is a chain of degradations, not one registered name; parse each stage")
        name, _, param_text = text.partition(":")
        name = name.strip().lower()
        params: dict[str, str] = {}
        reg = self.lookup(name)
        if reg is None:
            match = _SHORTHAND.match(name)
            if match:
                base = self.lookup(match["name"])
                if base is not None and base.shorthand:
                    reg = base
                    params[base.shorthand] = match["value"]
        if reg is None:
            raise UnknownNameError(self._unknown_message(name))
        for item in filter(None, (p.strip() for p in param_text.split(","))):
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise SpecError(f"malformed parameter {item!r} in {spec!r}: expected key=value")
            if key.strip() in params:  # the last one winning silently would hide a typo in a long spec
                raise SpecError(f"parameter {key.strip()!r} is given twice in {spec!r}")
            params[key.strip()] = value.strip()
        return reg, _coerce(reg, params, spec)

    def build(self, spec: str) -> Any:
        """Instantiate the component `spec` names with its parameters (a chain of stages for `a+b`)."""
        if self.kind == "degradation" and len(stages := split_chain(spec)) > 1:
            from restore_core.components.chain import Chain

            return Chain([self.build(stage) for stage in stages])
        reg, kwargs = self.parse(spec)
        try:
            component = reg.factory(**kwargs)
        except (ValueError, TypeError) as exc:
            raise SpecError(f"invalid {self.kind} {spec!r}: {exc}") from None
        # recorded so that Component.params() (and so spec()) knows a parameter its component keeps
        # under another attribute name; an object that takes no new attributes simply goes without
        defaults = {k: p.default for k, p in parameters(reg.factory).items() if p.default is not p.empty}
        with contextlib.suppress(AttributeError, TypeError):
            component._build_params = {**defaults, **kwargs}
        return component

    def _unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5)
        if not close:
            close = [n for n in self.names() if n.startswith(name[:3])][:3]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        known = ", ".join(self.names()) or "none registered"
        return f"unknown {self.kind} {name!r}{hint} (known: {known})"


def check_name(name: str) -> None:
    """Raise SpecError unless `name` is a lowercase registrable name."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise SpecError(f"invalid component name {name!r}: use lowercase letters, digits and '-'")


def parameters(factory: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """Return the keyword parameters a factory accepts."""
    sig = inspect.signature(factory)
    return {k: p for k, p in sig.parameters.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


def _coerce(reg: Registration, raw: dict[str, str], spec: str) -> dict[str, Any]:
    accepted = parameters(reg.factory)
    try:
        hints = typing.get_type_hints(reg.factory.__init__ if inspect.isclass(reg.factory) else reg.factory)
    except Exception:  # unresolvable annotations: fall back to strings
        hints = {}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in accepted:
            known = ", ".join(accepted) or "none"
            raise SpecError(f"{reg.kind} {reg.name!r} has no parameter {key!r} (parameters: {known})")
        try:
            out[key] = _convert(value, hints.get(key, str))
        except ValueError as exc:
            raise SpecError(f"parameter {key!r} in {spec!r}: {exc}") from None
    return out


def _convert(value: str, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value.lower() == "none" and len(options) < len(typing.get_args(hint)):
            return None
        for option in options:
            try:
                return _convert(value, option)
            except ValueError:
                continue
        raise ValueError(f"{value!r} is not one of {', '.join(_type_name(o) for o in options)}")
    if origin is Literal:
        choices = [str(a) for a in typing.get_args(hint)]
        if value not in choices:
            raise ValueError(f"{value!r} is not one of {', '.join(choices)}")
        return value
    if hint is bool:
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{value!r} is not a boolean")
    if hint is int:
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an integer") from None
    if hint is float:
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    return value


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) is Literal:
        return " or ".join(repr(a) for a in typing.get_args(hint))
    return getattr(hint, "__name__", str(hint))
