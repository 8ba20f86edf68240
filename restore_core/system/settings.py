"""Every environment variable restore reads, read here and nowhere else.

Invariants: a value is read when its function is called, never cached at import (tests and long
sessions change the environment); a flag is on when its variable is `1`, `yes`, `true` or `on` (any
case, spaces around ignored) and off for anything else (`0`, `no`, `false`, `off`, empty); an unset or
empty path variable means the default; this module imports no torch, so `restore --version` stays fast.
`VARIABLES` lists every variable with what it means: the table in docs/troubleshooting.md shows
the same, and a test keeps the two together.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

DATA_ENV = "RESTORE_DATA"
CACHE_ENV = "RESTORE_CACHE"
OFFLINE_ENV = "RESTORE_OFFLINE"
RUNS_ENV = "RESTORE_RUNS"
DEBUG_ENV = "RESTORE_DEBUG"
STRICT_PLUGINS_ENV = "RESTORE_STRICT_PLUGINS"
STRICT_ENV = "RESTORE_STRICT"
TRT_CACHE_ENV = "RESTORE_TRT_CACHE"

#: variable -> what it means (the docs table shows the same)
VARIABLES: dict[str, str] = {
    DATA_ENV: "folder of local datasets, laid out as test/bsd68, train/bsd400, ...",
    CACHE_ENV: "folder downloaded datasets are kept in (default: the platform cache folder)",
    OFFLINE_ENV: "1 (or yes, true, on): never download a dataset",
    RUNS_ENV: "folder benchmark runs go to when --out is not given (default: restore-runs)",
    DEBUG_ENV: "1 (or yes, true, on): show the traceback of any failure instead of one line",
    STRICT_PLUGINS_ENV: "1 (or yes, true, on): a plugin that fails to load or register is an error, not a warning",
    STRICT_ENV: "1 (or yes, true, on), or restore --strict: a setting expected to run far slower (bf16 "
                "where the CPU emulates it) is refused instead of warned about",
    TRT_CACHE_ENV: "folder compiled TensorRT programs are kept in (default: the platform cache folder)",
}


def _path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


_ON = frozenset({"1", "yes", "true", "on"})


def _flag(name: str) -> bool:
    # `yes` and `true` are what people write; refusing them silently would ignore RESTORE_OFFLINE=yes
    return os.environ.get(name, "").strip().lower() in _ON


def _platform_cache(sub: str) -> Path:
    import platformdirs  # only when a default is needed

    return Path(platformdirs.user_cache_dir("restore")) / sub


def data_root() -> Path | None:
    """RESTORE_DATA: the folder of local datasets (`test/bsd68`, `train/bsd400`, ...), or None when unset."""
    return _path(DATA_ENV)


def cache_dir() -> Path:
    """RESTORE_CACHE: where downloaded datasets are kept, else the platform cache folder's `datasets`."""
    return _path(CACHE_ENV) or _platform_cache("datasets")


def offline() -> bool:
    """RESTORE_OFFLINE=1 (or yes, true, on): never download; a missing dataset is an error naming where to put it."""
    return _flag(OFFLINE_ENV)


def runs_root() -> Path:
    """RESTORE_RUNS: the folder benchmark runs go to when no output folder is named, else `restore-runs`."""
    return _path(RUNS_ENV) or Path("restore-runs")


def debug() -> bool:
    """RESTORE_DEBUG=1: let the command line show a failure's traceback instead of one line."""
    return _flag(DEBUG_ENV)


def strict() -> bool:
    """RESTORE_STRICT=1 (set by `restore --strict`): refuse settings expected to run far slower, do not warn."""
    return _flag(STRICT_ENV)


@contextlib.contextmanager
def strict_mode() -> Iterator[None]:
    """Set RESTORE_STRICT=1 for the duration (`restore --strict`), so worker processes inherit it; then restore it."""
    before = os.environ.get(STRICT_ENV)
    os.environ[STRICT_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(STRICT_ENV, None)
        else:
            os.environ[STRICT_ENV] = before


def strict_plugins() -> bool:
    """RESTORE_STRICT_PLUGINS=1: a plugin that fails to load or register raises instead of warning."""
    return _flag(STRICT_PLUGINS_ENV)


def tensorrt_cache_dir() -> Path:
    """RESTORE_TRT_CACHE: where compiled TensorRT programs are kept, else the platform cache's `tensorrt`."""
    return _path(TRT_CACHE_ENV) or _platform_cache("tensorrt")


def torchrun_world() -> tuple[int, int, int] | None:
    """RANK, WORLD_SIZE and LOCAL_RANK, set by torchrun for each process it starts; None outside torchrun."""
    values = [os.environ.get(name) for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK")]
    if values[0] is None or values[1] is None:
        return None
    try:
        rank, size = int(values[0]), int(values[1])
        local = int(values[2]) if values[2] is not None else rank
    except ValueError:
        from restore_core.errors import UsageError

        raise UsageError(f"RANK, WORLD_SIZE and LOCAL_RANK must be integers (torchrun sets them), not "
                         f"{values[0]!r}, {values[1]!r}, {values[2]!r}") from None
    if not 0 <= rank < size:
        from restore_core.errors import UsageError

        raise UsageError(f"RANK {rank} is outside WORLD_SIZE {size}")
    return rank, size, local
