"""Peak extra memory of one call: the most memory in use during it minus what was in use before.

The process's high-water mark (`ru_maxrss`) would charge every restorer with the largest one that
ran before it in the same process, so each call is measured on its own:

- CUDA: `torch.cuda.max_memory_allocated` after a reset, minus the memory allocated before.
- CPU on Linux: the kernel's resident high-water mark is reset (`/proc/self/clear_refs`, "5")
  and read back (`VmHWM`) — exact, and nothing runs beside the timed call.
- CPU elsewhere: a thread samples the resident set (/proc/self/statm, else psutil when
  installed) every millisecond; a spike shorter than that can be missed.
- With none of these, the figure is None (not measured).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

MIB = 2**20
SAMPLE_SECONDS = 0.001
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own default, made fixed


@dataclass
class MemoryProbe:
    """Filled in when its `peak_extra_memory` block ends: the peak extra memory in MiB, or None."""

    mib: float | None = None


@contextlib.contextmanager
def peak_extra_memory(device: torch.device | None = None) -> Iterator[MemoryProbe]:
    """Measure the peak extra memory of the block on `device` (CPU: resident memory)."""
    probe = MemoryProbe()
    _fix_mmap_threshold()
    if device is not None and device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        yield probe
        probe.mib = _mib(torch.cuda.max_memory_allocated(device) - before)
    elif _can_reset_high_water():
        _reset_high_water()
        before = _status_bytes("VmRSS")
        yield probe
        peak = _status_bytes("VmHWM")
        probe.mib = None if before is None or peak is None else _mib(peak - before)
    elif (read := _rss_reader()) is not None:
        with _Sampler(read) as sampler:
            yield probe
        probe.mib = _mib(sampler.peak - sampler.before)
    else:
        yield probe


def _mib(extra: int) -> float:
    # resident counters are kept per CPU and can lag by a few pages: never report below zero
    return round(max(extra, 0) / MIB, 1)


def _status_bytes(field: str) -> int | None:
    """A `kB` field of /proc/self/status, in bytes."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


@functools.cache
def _fix_mmap_threshold() -> None:
    """Keep glibc serving large blocks (feature maps) from fresh mappings that are returned on free.

    By default glibc raises its mmap threshold each time a large mapped block is freed, after which
    blocks of that size come from the heap and stay resident once freed: a later call reusing them
    would show no extra memory. Setting the threshold once turns that adjustment off.
    """
    import ctypes

    if not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process already runs on
    except (OSError, AttributeError):  # not glibc (musl has no mallopt): its default does not adapt
        return
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def _reset_high_water() -> None:
    # "5": set the peak resident set size to the current one (Linux 4.0+); nothing else is cleared
    Path("/proc/self/clear_refs").write_text("5")


@functools.cache
def _can_reset_high_water() -> bool:
    """Whether this kernel lets the process reset and read its resident high-water mark."""
    try:
        _reset_high_water()
    except OSError:  # not Linux, /proc read-only, or a kernel before 4.0
        return False
    return _status_bytes("VmHWM") is not None and _status_bytes("VmRSS") is not None


def _rss_reader() -> Callable[[], int] | None:
    """A function returning the current resident set size in bytes, or None where none exists."""
    statm = Path("/proc/self/statm")
    if statm.is_file():
        page = os.sysconf("SC_PAGE_SIZE")
        return lambda: int(statm.read_text().split()[1]) * page
    try:
        import psutil  # optional: only where /proc is missing (macOS, Windows)
    except ImportError:
        return None
    process = psutil.Process()
    return lambda: int(process.memory_info().rss)


class _Sampler:
    """Samples the resident set size on a thread while its block runs; keeps the first and the largest."""

    def __init__(self, read: Callable[[], int]) -> None:
        self.read = read
        self.before = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="restore-memory-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.peak = max(self.peak, self.read())

    def __enter__(self) -> _Sampler:
        self.before = self.peak = self.read()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.read())
