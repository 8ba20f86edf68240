"""The model-zoo table: every shipped weights file, what its training cost and what it measures.

    RESTORE_DATA=../shared/datasets python benchmarks/zoo.py --out benchmarks/results/zoo

For each `.safetensors` in the built-in weights folder it reads the training record written beside
it by `restore train` (`<key>.history.json`: minutes, patches seen, threads, the weights it was
deepened from), counts the network's FLOPs per pixel, and runs `restore bench` on the standard sets
of its task under the standard protocol: Set12 and BSD68 (gray) or CBSD68 (colour) at the trained
sigma, or at 15/25/50 for a blind or noise-level-conditioned model; Set5 and Set14 at the trained
scale for super-resolution; BSD68 or CBSD68 at JPEG quality 10/20/30/40 for a JPEG remover; CBSD68
through the camera pipeline (presets phone-indoor and phone-low-light) for a real-noise model.
Writes `OUT.json` and `OUT.md` atomically.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import run_bench

from restore_core.components.flops import flops_per_pixel
from restore_core.plugins.host import default_host
from restore_core.plugins.specs import split_specs
from restore_core.system import settings
from restore_core.system.atomic_files import atomic_write_text
from restore_core.system.hardware import cpu_model
from restore_core.train.weights import read_metadata

WEIGHTS = Path(__file__).resolve().parents[1] / "plugins" / "restore_builtins" / "weights"
SET_NAMES = {"set12": "Set12", "bsd68": "BSD68", "cbsd68": "CBSD68", "set5": "Set5", "set14": "Set14"}


def evaluation(degradation: str, channels: int) -> tuple[list[str], list[str]]:
    """Return (degradation specs, dataset names) a model trained under `degradation` is measured on."""
    reg, params = default_host().registry("degradation").parse(degradation)
    name = reg.name
    if name == "gaussian":
        levels = [f"gaussian{float(params['sigma']):g}"]
    elif name in ("gaussian-blind", "gaussian-range"):  # one model for a range of levels
        levels = ["gaussian15", "gaussian25", "gaussian50"]
    elif name == "bicubic-down":
        return [f"x{int(params['scale'])}"], ["set5", "set14"]
    elif name == "jpeg-range":  # a JPEG remover: the qualities the JPEG papers report
        return [f"jpeg:quality={q}" for q in (10, 20, 30, 40)], ["bsd68" if channels == 1 else "cbsd68"]
    elif name == "camera-range":  # a real-noise model: the camera pipeline at two presets
        return ["camera:preset=phone-indoor", "camera:preset=phone-low-light"], ["cbsd68"]
    else:
        raise SystemExit(f"zoo: no standard evaluation for models trained under {degradation!r}")
    return levels, ["set12", "bsd68"] if channels == 1 else ["cbsd68"]


def training_record(key: str) -> dict[str, Any]:
    """The `restore train` summary beside the weights, with the minutes of the runs it started from."""
    path = WEIGHTS / f"{key}.history.json"
    if not path.is_file():
        return {}
    record = json.loads(path.read_text())
    meta = record.get("metadata", {})
    init = meta.get("init")
    if not init:
        return record
    if "earlier_stages" in meta:  # written by `restore train` since stages could share a key
        record["init_minutes"] = sum(s["minutes"] for s in meta["earlier_stages"])
    elif Path(init).stem != key:  # older records: follow the chain through the shipped weights
        parent = training_record(Path(init).stem)
        record["init_minutes"] = parent.get("minutes", 0.0) + parent.get("init_minutes", 0.0)
    else:
        return record  # continued its own weights without saying how long those trained
    record["init_key"] = Path(init).stem
    return record


def measure(path: Path) -> dict[str, Any]:
    """Cost, training record and measured figures of one weights file."""
    meta = read_metadata(path)
    key, channels = meta["key"], int(meta["channels"])
    reg, params = default_host().registry("restorer").parse(meta["restorer"])
    model = reg.factory(**{**params, "weights": str(path)})
    spec = model.spec()
    network = model.build_network(channels)
    levels, datasets = evaluation(meta["degradation"], channels)
    rows = run_bench(["bench", "-r", spec, "-d", ",".join(levels), "--dataset", ",".join(datasets),
                      "-m", "psnr,ssim", "-b", "optimized"])
    figures = [{"degradation": r["degradation"], "dataset": r["dataset"], "images": r["images"],
                "psnr": r["psnr"], "ssim": r["ssim"], "psnr_input": r["psnr_input"]}
               for r in rows if not r.get("skipped")]
    record = training_record(key)
    minutes = record.get("minutes")
    return {
        "key": key, "restorer": spec.split(",weights=")[0], "trained_under": meta["degradation"],
        "mflops_per_pixel": round(flops_per_pixel(network) / 1e6, 3),
        "parameters": sum(p.numel() for p in network.parameters()),
        "train_minutes": minutes, "init_key": record.get("init_key"), "init_minutes": record.get("init_minutes"),
        "train_threads": record.get("metadata", {}).get("threads"),
        "patches_seen": record.get("patches_seen"),
        "patches_per_second": round(record["patches_seen"] / (minutes * 60), 1) if minutes else None,
        "patch": (meta.get("config") or {}).get("patch"),
        "figures": figures,
    }


def merge_rows(previous: Path, fresh: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fresh rows, plus the rows of `previous` for the other weights still shipped (figures are
    deterministic, so a row stays valid until its weights change)."""
    shipped = {p.stem for p in WEIGHTS.glob("*.safetensors")}
    kept = json.loads(previous.read_text())["models"] if previous.is_file() else []
    done = {m["key"] for m in fresh}
    rows = [m for m in kept if m["key"] in shipped and m["key"] not in done] + fresh
    return sorted(rows, key=lambda m: m["key"])


def markdown(models: list[dict[str, Any]], header: str) -> str:
    """The zoo as a Markdown table: one row per model, its figures per set in one cell."""
    lines = [header, "",
             "| model | MFLOP/px | parameters | training minutes | patches/s (side, threads) "
             "| figures (PSNR dB / SSIM) |",
             "|---|---:|---:|---|---|---|"]
    for m in models:
        minutes = "-" if m["train_minutes"] is None else f"{m['train_minutes']:.0f}"
        if m["init_key"]:
            earlier = "earlier stages" if m["init_key"] == m["key"] else m["init_key"]
            minutes += f" (+{m['init_minutes']:.0f} of {earlier})"
        threads = f", {m['train_threads']} thr" if m.get("train_threads") else ""
        rate = ("-" if m["patches_per_second"] is None
                else f"{m['patches_per_second']:.0f} ({m['patch']}px{threads})")
        figures = "; ".join(
            f"{SET_NAMES.get(f['dataset'], f['dataset'])} {f['degradation']}: {f['psnr']:.2f} / {f['ssim']:.4f}"
            for f in m["figures"])
        lines.append(f"| {m['key']} | {m['mflops_per_pixel']:.2f} | {m['parameters']:,} | {minutes} | {rate} "
                     f"| {figures} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure every shipped model and write the zoo table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output stem: writes OUT.json and OUT.md")
    parser.add_argument("--only", action="extend", nargs="+", default=None,
                        help="keys to re-measure (comma-separated or repeated); the other rows are kept from OUT.json")
    args = parser.parse_args()
    if settings.data_root() is None:
        raise SystemExit("zoo: set RESTORE_DATA to the folder holding the standard test sets")
    only = set(split_specs(args.only)) if args.only else None
    paths = [p for p in sorted(WEIGHTS.glob("*.safetensors")) if only is None or p.stem in only]
    date = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    models = [{**measure(p), "measured": date} for p in paths]
    if only is not None:
        models = merge_rows(args.out.with_suffix(".json"), models)
    provenance = {"command": "python benchmarks/zoo.py " + " ".join(sys.argv[1:]), "date": date,
                  "machine": cpu_model(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
                  "torch_threads": torch.get_num_threads()}
    header = (f"# Model zoo\n\nCommand: `{provenance['command']}` with RESTORE_DATA set. Recorded {date} on "
              f"{provenance['machine']} ({provenance['cpu_count']} CPUs), torch {provenance['torch']}. "
              "Training minutes and patches per second come from each model's `restore train` record, "
              "with the torch threads of its last stage (runs of one thread shared the 2 cores in pairs); "
              "rows re-measured with `--only` keep the others' figures, which are deterministic. A "
              "deepened model's own minutes are followed by those of the model it started from. Protocol: "
              "noise seeded per image, noisy input not clipped, output clipped to [0, 1], PSNR on [0, 1] "
              "without border crop; SR on the Y channel with `scale` pixels cropped.")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out.with_suffix(".json"), json.dumps({**provenance, "models": models}, indent=1))
    atomic_write_text(args.out.with_suffix(".md"), markdown(models, header))
    print(markdown(models, header))


if __name__ == "__main__":
    main()
