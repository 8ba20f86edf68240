"""Start-up time of the `restore` command: the median wall time of fresh processes.

    python benchmarks/startup.py --out benchmarks/results/startup
    python benchmarks/startup.py --commands version,list --runs 15

Each command runs `--runs` times in a new process (output discarded), the commands taking turns
so that a busy moment of the machine falls on all of them alike, after one untimed run each that
warms the file cache. `python -c "import torch"` is timed the same way as the reference: what a
command pays when it imports torch. Reported: the median, the fastest and the slowest run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from restore_core.plugins.specs import split_specs
from restore_core.system.atomic_files import atomic_write_text
from restore_core.system.hardware import cpu_model, usable_cpus


def _restore() -> list[str]:
    """The `restore` console script of this interpreter's environment, else `python -m restore_core`."""
    script = Path(sys.executable).with_name("restore")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "restore_core"]


COMMANDS = {
    "version": ("restore --version", [*_restore(), "--version"]),
    "help": ("restore --help", [*_restore(), "--help"]),
    "list": ("restore list", [*_restore(), "list"]),
    "plugins": ("restore plugins", [*_restore(), "plugins"]),
    "import-torch": ('python -c "import torch"', [sys.executable, "-c", "import torch"]),
}


def time_once(argv: list[str]) -> float:
    """Seconds of wall time for one fresh process running `argv` to completion."""
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def measure(names: list[str], runs: int) -> dict[str, list[float]]:
    """`runs` timings of each command, the commands taking turns after one untimed run each."""
    for name in names:
        time_once(COMMANDS[name][1])
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(runs):
        for name in names:
            times[name].append(time_once(COMMANDS[name][1]))
    return times


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def main() -> None:
    """Measure, print a table and, with --out, write JSON and Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # lists as the CLI takes them: `--commands version,list`, repeated options, or space-separated
    parser.add_argument("--commands", action="extend", nargs="+", default=None,
                        help=f"commands among {','.join(COMMANDS)} (default: all)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each command (default: 7)")
    parser.add_argument("--note", default="", help="a sentence for the record, e.g. the figures before a change")
    parser.add_argument("--out", type=Path, default=None, help="path stem for .json and .md")
    ns = parser.parse_args()
    names = split_specs(ns.commands or list(COMMANDS))
    unknown = [n for n in names if n not in COMMANDS]
    if unknown:
        parser.error(f"unknown command {', '.join(unknown)} (choose from {', '.join(COMMANDS)})")
    if ns.runs < 1:
        parser.error("--runs must be at least 1")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None  # other work slows every figure alike
    times = measure(names, ns.runs)
    rows = [{"command": COMMANDS[n][0], "median_s": round(statistics.median(t), 3), "min_s": round(min(t), 3),
             "max_s": round(max(t), 3), "runs": len(t)} for n, t in times.items()]
    lines = ["| command | median s | fastest s | slowest s | runs |", "|---|---:|---:|---:|---:|"]
    lines += [f"| `{r['command']}` | {r['median_s']:.2f} | {r['min_s']:.2f} | {r['max_s']:.2f} | {r['runs']} |"
              for r in rows]
    print("\n".join(lines))
    if ns.out is None:
        return
    # the note is prose for the record, shown beside the command rather than inside it
    argv, skip = [], False
    for arg in sys.argv[1:]:
        if skip or arg == "--note" or arg.startswith("--note="):
            skip = arg == "--note"
            continue
        argv.append(arg if " " not in arg else json.dumps(arg))
    record = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": cpu_model(),
              "cpus": usable_cpus(), "python": platform.python_version(),
              "restore": _version("restore-framework"), "torch": _version("torch"),
              "load_average": None if load is None else round(load, 2),
              "command": "python benchmarks/startup.py " + " ".join(argv), "note": ns.note, "rows": rows}
    ns.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(ns.out.with_suffix(".json"), json.dumps(record, indent=1) + "\n")
    text = ["# Start-up time of `restore`", "", f"Command: `{record['command']}`", "",
            f"Recorded {record['date']} on {record['machine']}, {record['cpus']} CPUs, Python {record['python']}, "
            f"restore {record['restore']}, torch {record['torch']}"
            + ("" if load is None else f", load average {load:.1f} at the start")
            + f". Wall time of a fresh process per run, median of {ns.runs} runs, the commands taking turns.",
            "", *lines]
    if ns.note:
        text += ["", ns.note]
    atomic_write_text(ns.out.with_suffix(".md"), "\n".join(text) + "\n")


if __name__ == "__main__":
    main()
