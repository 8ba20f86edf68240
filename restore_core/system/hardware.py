"""What a measurement ran on: CPU model and matrix extensions, logical CPUs, memory, CUDA device.

Speed figures mean little without the machine, and `platform.processor()` is empty on most Linux
systems, so the CPU is read from /proc/cpuinfo where there is one.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

#: /proc/cpuinfo flags that decide how fast convolutions run, and the names people know them by
MATRIX_FLAGS = (("avx512f", "AVX-512"), ("avx512_bf16", "AVX-512 BF16"), ("amx_bf16", "AMX-BF16"))


def _cpuinfo() -> dict[str, str]:
    """The fields of /proc/cpuinfo's first processor, or {} where there is no such file."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break  # every processor repeats the same model and flags; the first is enough
        if ":" in line:
            key, value = line.split(":", 1)
            fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_extensions() -> list[str]:
    """The matrix extensions this CPU has (AVX-512, AVX-512 BF16, AMX-BF16), from /proc/cpuinfo."""
    flags = set(_cpuinfo().get("flags", "").split())
    return [name for flag, name in MATRIX_FLAGS if flag in flags]


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux), else what `platform` knows."""
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def cpu_label(name: str, extensions: list[str]) -> str:
    """A CPU as records print it: its model name and matrix extensions, e.g. 'Intel Xeon ... (AVX-512)'."""
    return f"{name} ({', '.join(extensions) or 'no AVX-512'})"


def cpu_model() -> str:
    """This machine's CPU as records print it (just the name where /proc/cpuinfo cannot say more)."""
    if not _cpuinfo():
        return cpu_name()
    return cpu_label(cpu_name(), cpu_extensions())


def total_memory_bytes() -> int | None:
    """Physical memory of the machine in bytes (None where the system does not say)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # no such sysconf name on this system
        return None


def usable_cpus() -> int | None:
    """Logical CPUs this process may run on (its affinity mask where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


def cuda_device() -> str | None:
    """The name of the current CUDA device, or None without one."""
    import torch

    return torch.cuda.get_device_name() if torch.cuda.is_available() else None


def hardware() -> dict[str, Any]:
    """Everything above as one JSON-ready dict, for manifests and benchmark records."""
    memory = total_memory_bytes()
    return {"machine": platform.machine(), "cpu": cpu_name(), "cpu_extensions": cpu_extensions(),
            "cpu_count": os.cpu_count(), "cpus_usable": usable_cpus(),
            "memory_gib": None if memory is None else round(memory / 2**30, 1), "cuda": cuda_device()}
