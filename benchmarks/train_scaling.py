"""Data-parallel training throughput: patches per second for 1 and 2 processes under torchrun.

    python benchmarks/train_scaling.py --out benchmarks/results/train-scaling

trains the same small DnCNN (a recipe-sized batch, gaussian25, CBSD432 or the embedded photographs)
for a fixed number of steps with `torchrun --nproc-per-node P` for each P in `--procs` (1 torch thread
per process, so P processes use P cores), reads each run's history, and records patches per
second, the ratio to one process, and the loss curves of the runs side by side. The processes take
turns (P=1, then P=2, `--repeats` times) so a busy machine slows both alike; the figure reported is
the median over repeats.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from restore_core.plugins.specs import split_specs
from restore_core.system.atomic_files import atomic_write_text
from restore_core.system.hardware import cpu_model

DATASET = "skimage"


def run(procs: int, steps: int, batch: int, folder: Path, dataset: str) -> dict:
    """Train under torchrun with `procs` processes; return the summary and history it wrote."""
    out = folder / f"p{procs}.safetensors"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={procs}",
               "-m", "restore_core", "train", "-r", "dncnn:layers=7", "-d", "gaussian25", "--dataset", dataset,
               "--channels", "3", "--out", str(out), "--steps", str(steps), "--batch", str(batch),
               "--patch", "40", "--val-every", str(steps), "--val-count", "2", "--no-bf16", "--seed", "0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"train_scaling: {procs} processes failed: {done.stderr.strip()[-600:]}")
    record = json.loads(out.with_suffix(".history.json").read_text())
    return {"seconds": record["minutes"] * 60, "patches": record["patches_seen"], "history": record["history"],
            "world_size": record["metadata"].get("world_size", 1)}


def main() -> None:
    """Parse options, run every process count in turn, write the record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", nargs="+", default=["1,2"], help="process counts, e.g. 1,2")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch", type=int, default=32, help="the global batch, shared by the processes")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--dataset", default=DATASET)
    parser.add_argument("--out", type=Path, default=None, help="record stem (writes .json and .md)")
    ns = parser.parse_args()
    procs = [int(p) for p in split_specs(ns.procs)]
    rates: dict[int, list[float]] = {p: [] for p in procs}
    curves: dict[int, list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(ns.repeats):
            for p in procs:
                result = run(p, ns.steps, ns.batch, Path(tmp), ns.dataset)
                rates[p].append(result["patches"] / result["seconds"])
                curves[p] = result["history"]
    base = statistics.median(rates[procs[0]])
    rows = [{"processes": p, "patches_per_second": round(statistics.median(rates[p]), 1),
             "ratio": round(statistics.median(rates[p]) / base, 3), "runs": [round(r, 1) for r in rates[p]]}
            for p in procs]
    command = "python benchmarks/train_scaling.py " + " ".join(sys.argv[1:])
    record = {"command": command, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": cpu_model(), "cpu_count": os.cpu_count(), "steps": ns.steps, "batch": ns.batch,
              "dataset": ns.dataset, "rows": rows, "histories": {str(p): curves[p] for p in procs}}
    lines = [f"# Training throughput under torchrun\n\nCommand: `{command}`\n\nRecorded {record['date']} on "
             f"{record['machine']} ({record['cpu_count']} CPUs), DnCNN-7 colour, gaussian25, global batch "
             f"{ns.batch}, {ns.steps} steps, 1 torch thread per process, gloo; median of {ns.repeats} runs taken "
             "in turns.\n", "| processes | patches/s | ratio to 1 | runs |", "|---:|---:|---:|---|"]
    lines += [f"| {r['processes']} | {r['patches_per_second']} | {r['ratio']:.2f}x | "
              f"{', '.join(map(str, r['runs']))} |" for r in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if ns.out is not None:
        atomic_write_text(ns.out.with_suffix(".json"), json.dumps(record, indent=1) + "\n")
        atomic_write_text(ns.out.with_suffix(".md"), text)


if __name__ == "__main__":
    main()
