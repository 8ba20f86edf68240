"""Peak memory of restoring one large colour image, untiled against tiled, in one run.

    python benchmarks/tiling_memory.py --size 4096 --sr-sizes 4096,8192 --out benchmarks/results/tiling-memory

Denoising: makes a SIZE x SIZE colour image (scikit-image's astronaut, bicubic-enlarged), then
restores it with `restore run RESTORER --degrade gaussian25` in fresh processes, `--tile 0`,
`--tile auto` and `--tile 512`, and records each process's peak resident memory (from wait4), its
wall time and the largest pixel difference between each tiled output and the untiled one.

Super-resolution: for each output side in SR_SIZES, makes an input of that side / SCALE and runs
`restore run SR_RESTORER --scale SCALE` the same three ways. An untiled run whose memory, scaled
from the smallest untiled one by pixel count, would pass half the memory available when it would
start is not run (the scaling underestimates: an untiled 8192-px srcnn x2 run predicted at 14 GiB
was killed by the kernel at 21 GiB on a 24 GiB machine, taking other processes' memory with it);
the record says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from restore_core.system.atomic_files import atomic_write_text

TILES = ("0", "auto", "512")


def meminfo_mib(field: str) -> float:
    """A /proc/meminfo field (MemTotal, MemAvailable) in MiB, or infinity where it is missing."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("inf")


def max_difference(a: Path, b: Path) -> int:
    """The largest 8-bit difference between two PNGs of one size."""
    return int(np.abs(np.asarray(Image.open(a), dtype=np.int16) - np.asarray(Image.open(b), dtype=np.int16)).max())


def super_resolution(sizes: list[int], restorer: str, scale: int, backend: str, tmp: Path) -> dict:
    """Measure `restore run RESTORER --scale SCALE` at each output side, untiled and tiled."""
    import skimage.data

    total = meminfo_mib("MemTotal")
    rows, skipped = [], []
    untiled: tuple[int, float] | None = None  # (output pixels, peak MiB) of the smallest untiled run
    for size in sizes:
        src = tmp / f"sr-{size}.png"
        low = size // scale
        Image.fromarray(skimage.data.astronaut()).resize((low, low), Image.Resampling.BICUBIC).save(src)
        measured = {}
        for tile in TILES:
            if tile == "0" and untiled is not None:
                predicted, available = untiled[1] * size * size / untiled[0], meminfo_mib("MemAvailable")
                if predicted > available / 2:
                    skipped.append({"output": size, "tile": tile, "predicted_peak_rss_mib": round(predicted),
                                    "available_mib": round(available),
                                    "reason": f"predicted at {predicted / 1024:.0f} GiB or more from the "
                                              f"{untiled[0] ** 0.5:.0f}-px untiled run, above half the "
                                              f"{available / 1024:.0f} GiB available on this "
                                              f"{total / 1024:.0f} GiB machine"})
                    print(size, tile, skipped[-1]["reason"])
                    continue
            out = tmp / f"sr-{size}-{tile}.png"
            cmd = [sys.executable, "-m", "restore_core", "run", restorer, str(src), "-o", str(out),
                   "--scale", str(scale), "--backend", backend, "--tile", tile]
            peak, seconds = run_measured(cmd)
            measured[tile] = {"output": size, "tile": tile, "peak_rss_mib": round(peak), "seconds": round(seconds, 1)}
            if tile == "0" and untiled is None:
                untiled = (size * size, peak)
            print(size, tile, measured[tile])
        for tile, row in measured.items():
            if "0" in measured:
                row["max_8bit_difference"] = max_difference(tmp / f"sr-{size}-0.png", tmp / f"sr-{size}-{tile}.png")
                row["memory_ratio"] = round(measured["0"]["peak_rss_mib"] / row["peak_rss_mib"], 2)
            rows.append(row)
    return {"restorer": restorer, "scale": scale, "machine_memory_mib": round(total), "rows": rows,
            "not_run": skipped}


def super_resolution_markdown(sr: dict, backend: str) -> str:
    """The super-resolution section of the record."""
    def cell(row: dict, key: str) -> str:
        return str(row.get(key, "-"))

    text = (f"\n## Super-resolution\n\n`restore run {sr['restorer']} --scale {sr['scale']} --backend {backend}` "
            f"on a colour input of (output side / {sr['scale']}) pixels square, each in a fresh process "
            "(up-sampling, colour conversion and the network are tiled together):\n\n"
            "| output side | `--tile` | peak RSS (MiB) | wall s | untiled memory / this "
            "| max 8-bit difference from untiled |\n"
            "|---:|---|---:|---:|---:|---:|\n")
    for row in sr["rows"]:
        text += (f"| {row['output']} | {row['tile']} | {row['peak_rss_mib']} | {row['seconds']} | "
                 f"{cell(row, 'memory_ratio')} | {cell(row, 'max_8bit_difference')} |\n")
    for row in sr["not_run"]:
        text += f"| {row['output']} | {row['tile']} | not run | - | - | - |\n"
    text += "".join(f"\nNot run: `--tile {row['tile']}` at {row['output']} px: {row['reason']}.\n"
                    for row in sr["not_run"])
    return text


def run_measured(args: list[str]) -> tuple[float, float]:
    """Run a command; return (peak RSS in MiB, wall seconds)."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(args)}: {proc.stderr.read().decode() if proc.stderr else ''}")
    return usage.ru_maxrss / 1024, seconds


def main() -> None:
    """Measure both runs and write the result files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--restorer", default="dncnn")
    parser.add_argument("--backend", default="optimized")
    parser.add_argument("--sr-sizes", default="", help="output sides for super-resolution, e.g. 4096,8192")
    parser.add_argument("--sr-restorer", default="srcnn")
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    ns = parser.parse_args()
    sr_sizes = [int(v) for v in ns.sr_sizes.split(",") if v.strip()]
    import skimage.data

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "big.png"
        Image.fromarray(skimage.data.astronaut()).resize((ns.size, ns.size), Image.Resampling.BICUBIC).save(src)
        results = {}
        for tile in TILES:
            out = Path(tmp) / f"out-{tile}.png"
            cmd = [sys.executable, "-m", "restore_core", "run", ns.restorer, str(src), "-o", str(out),
                   "--degrade", "gaussian25", "--backend", ns.backend, "--tile", tile]
            peak, seconds = run_measured(cmd)
            results[tile] = {"peak_rss_mib": round(peak), "seconds": round(seconds, 1)}
            print(tile, results[tile])
        diffs = {t: max_difference(Path(tmp) / "out-0.png", Path(tmp) / f"out-{t}.png") for t in TILES[1:]}
        sr = super_resolution(sr_sizes, ns.sr_restorer, ns.scale, ns.backend, Path(tmp)) if sr_sizes else None
    record = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "command": "python benchmarks/tiling_memory.py " + " ".join(sys.argv[1:]),
              "image": f"{ns.size}x{ns.size} RGB", "restorer": ns.restorer, "backend": ns.backend,
              "runs": results, "max_8bit_difference": diffs,
              "memory_ratio": {t: round(results["0"]["peak_rss_mib"] / results[t]["peak_rss_mib"], 2)
                               for t in TILES[1:]}}
    if sr is not None:
        record["super_resolution"] = sr
    atomic_write_text(ns.out.with_suffix(".json"), json.dumps(record, indent=1) + "\n")
    text = (f"# Tiled inference memory\n\nCommand: `{record['command']}`, recorded {record['date']}.\n\n"
            f"`restore run {ns.restorer} --backend {ns.backend}` on a {record['image']} image, "
            "each in a fresh process:\n\n"
            "| `--tile` | peak RSS (MiB) | wall s | untiled memory / this | max 8-bit difference from untiled |\n"
            "|---|---:|---:|---:|---:|\n"
            + "".join(f"| {t} | {results[t]['peak_rss_mib']} | {results[t]['seconds']} | "
                      f"{record['memory_ratio'].get(t, 1.0)} | {diffs.get(t, 0)} |\n" for t in TILES)
            + "\n" + "; ".join(f"`--tile {t}` peaks at {1 / record['memory_ratio'][t]:.0%} of the untiled memory in "
                               f"{results[t]['seconds'] / results['0']['seconds']:.2f}x its time" for t in TILES[1:])
            + ". Auto tiling keeps activations within a quarter of the memory available at the time, so its "
            "tile depends on the machine's state. A tiled output equals the untiled one within 1e-5 in float "
            "(tests/components/test_backends.py); a difference of 1 in 8 bits is a value that lay within that of a "
            "rounding boundary.\n")
    if sr is not None:
        text += super_resolution_markdown(sr, ns.backend)
    atomic_write_text(ns.out.with_suffix(".md"), text)
    print(text)


if __name__ == "__main__":
    main()
