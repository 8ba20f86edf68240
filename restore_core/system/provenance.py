"""Where a measurement was made: package versions, the git commit and the hardware, for manifests."""

from __future__ import annotations

import contextlib
import datetime as dt
import platform
import subprocess
from pathlib import Path
from typing import Any

from restore_core.system.hardware import hardware


def environment() -> dict[str, Any]:
    """Hardware, versions and the git commit, for the manifest."""
    import importlib.metadata as md

    import torch

    commit = None
    with contextlib.suppress(OSError, subprocess.SubprocessError):  # no git, or not a checkout
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=Path(__file__).resolve().parent, check=False).stdout.strip() or None
    try:
        version = md.version("restore-framework")
    except md.PackageNotFoundError:
        version = "unknown"
    # hardware(): machine, cpu (model name), cpu_extensions, cpu_count, cpus_usable, memory_gib, cuda
    return {"restore": version, "torch": torch.__version__, "python": platform.python_version(), **hardware(),
            "torch_threads": torch.get_num_threads(), "git_commit": commit,
            "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


