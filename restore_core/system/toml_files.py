"""Reading the project's small TOML files (suites, recipes): one error style for every problem."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from restore_core.errors import UsageError


def read_toml(path: str | os.PathLike[str], what: str, known: Iterable[str]) -> dict[str, Any]:
    """Parse `path`; a missing file, bad TOML or a key outside `known` is one UsageError naming it."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise UsageError(f"{what} {p}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{what} {p}: not valid TOML ({exc})") from None
    allowed = list(known)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise UsageError(f"{what} {p}: unknown key(s) {', '.join(unknown)} (known: {', '.join(allowed)})")
    return data
