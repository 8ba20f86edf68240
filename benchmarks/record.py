"""Run one `restore bench` command and record its result under benchmarks/results/.

    python benchmarks/record.py NAME -- bench -r dncnn,nlm,identity -d gaussian25 --dataset fashion-mnist-sample

writes `benchmarks/results/NAME.json` (the rows `--format json` printed, with the command, the
machine and the versions) and `NAME.md` (the same as a Markdown table), both atomically, so every
figure quoted in the README or docs names the command that produced it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from restore_core.system.atomic_files import atomic_write_text
from restore_core.system.hardware import cpu_model

RESULTS = Path(__file__).resolve().parent / "results"


def run_bench(args: list[str]) -> list[dict]:
    """Run `restore <args> --format json` and return its rows."""
    command = [sys.executable, "-m", "restore_core", *args, "--format", "json"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"record: the command failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def markdown(rows: list[dict], metrics: list[str]) -> str:
    """Render result rows as a Markdown table (input, output and gain per metric)."""
    with_backend = any(row.get("backend") for row in rows)
    head = ["restorer", *(["backend"] if with_backend else []), "degradation", "dataset", "images"]
    for m in metrics:
        head += [f"{m} in", m, f"{m} gain"]
    head.append("s/image")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        if row.get("skipped"):
            continue
        cells = [row["restorer"], *([row.get("backend") or "-"] if with_backend else []), row["degradation"],
                 row["dataset"], str(row["images"])]
        for m in metrics:
            digits = 2 if m.startswith("psnr") else 4
            cells += [_fmt(row.get(f"{m}_input"), digits), _fmt(row.get(m), digits), _fmt(row.get(f"{m}_gain"), digits)]
        cells.append(_fmt(row.get("seconds_per_image"), 3))
        lines.append("| " + " | ".join(cells) + " |")
    skipped = [f"- skipped {r['restorer']} x {r['degradation']}: {r['skipped']}" for r in rows if r.get("skipped")]
    return "\n".join(lines + (["", *skipped] if skipped else []))


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def main() -> None:
    """Parse NAME -- ARGS, run, write the two result files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="result file stem under benchmarks/results/")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="-- then the restore arguments (bench ...)")
    ns = parser.parse_args()
    args = ns.args[1:] if ns.args[:1] == ["--"] else ns.args
    rows = run_bench(args)
    metrics = [k for k in rows[0] if f"{k}_input" in rows[0]] if rows else []
    import torch

    import restore_core

    record = {
        "command": "restore " + shlex.join(args),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "restore": restore_core.__version__,
        "torch": torch.__version__,
        "restore_data": os.environ.get("RESTORE_DATA"),
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / f"{ns.name}.json", json.dumps(record, indent=1) + "\n")
    text = (f"# {ns.name}\n\nCommand: `{record['command']}`"
            f"{' with RESTORE_DATA set' if record['restore_data'] else ''}\n\n"
            f"Recorded {record['date']} on {record['machine']} ({record['cpu_count']} CPUs, "
            f"{record['torch_threads']} torch threads), restore {record['restore']}, torch {record['torch']}.\n\n"
            f"{markdown(rows, metrics)}\n")
    atomic_write_text(RESULTS / f"{ns.name}.md", text)
    print(text)


if __name__ == "__main__":
    main()
