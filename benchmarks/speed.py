"""Inference speed per backend, as ratios to eager fp32 measured in the same run.

    python benchmarks/speed.py --sizes 256,512 --repeats 3 --out benchmarks/results/speed-cpu-amd-epyc
    python benchmarks/speed.py --sizes 512 --models dncnn17,dncnn7 --repeats 5 --out /tmp/quick

Name the record after the machine (speed-cpu.md is the Intel Xeon with AMX). For DnCNN (7 and 17
layers, colour), U-Net (gray) and SRCNN (on the Y channel) at each size, every available backend
runs the same network, BatchNorm folded first (so eager's ratio is not flattered by BatchNorm),
on the same random input: one untimed warm-up (which also pays torch.compile's compilation and the
engines' graph compilation), then the median of `--repeats` timed runs, the backends taking turns
(a runner returns a CPU tensor, so CUDA work is synchronised by the copy back). Reported:
megapixels per second, the ratio to eager fp32 on the same device, the max difference from eager
fp32 on the CPU, an estimate of the hardware limit (the model's FLOPs per pixel against this
machine's measured matrix-multiply rate in the same precision), and which backend `--backend auto`
picks here, with its speed as a fraction of the fastest backend's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

from restore_core.components.backends import ShapeRange, fold_batchnorm, native_bf16
from restore_core.components.flops import flops_per_pixel
from restore_core.components.onnx_export import installed
from restore_core.plugins.host import default_host
from restore_core.plugins.specs import build_backends, split_specs
from restore_core.system.atomic_files import atomic_write_text
from restore_core.system.hardware import cpu_model

#: model -> (restorer spec, image channels, extra input channels: fdncnn's noise map)
MODELS = {
    "dncnn7": ("dncnn:layers=7", 3, 0),
    "dncnn17": ("dncnn:layers=17", 3, 0),
    "unet": ("unet", 1, 0),
    "srcnn": ("srcnn", 1, 0),
    "fdncnn": ("fdncnn", 3, 1),  # also the network of dncnn-jpeg, whose map holds the JPEG quality
    "drunet": ("drunet", 1, 1),  # the U-Net with the noise map: the gray model for every sigma
}
ENGINES = ("onnxruntime", "openvino", "torch_tensorrt")


def default_specs(cuda: bool) -> list[str]:
    """Every backend worth timing here: eager first (the reference), bf16 only where it is native."""
    bf16 = native_bf16()  # emulated bf16 is 5-7x slower (issue 17): timing it here would only cost minutes
    cpu = ["eager:device=cpu", "optimized:device=cpu,precision=fp32",
           "optimized:device=cpu,precision=fp32,memory_format=contiguous",
           *(["optimized:device=cpu,precision=bf16"] if bf16 else []),
           "optimized:device=cpu,precision=fp32,compile=true",
           *(["optimized:device=cpu,precision=bf16,compile=true"] if bf16 else []),
           "onnxruntime", "openvino:precision=fp32", *(["openvino:precision=bf16"] if bf16 else [])]
    gpu = ["eager:device=cuda", "eager:device=cuda,precision=fp16", "eager:device=cuda,precision=bf16",
           "optimized:device=cuda,precision=fp32", "optimized:device=cuda,precision=fp16",
           "optimized:device=cuda,precision=bf16", "optimized:device=cuda,precision=fp16,compile=true",
           "tensorrt", "tensorrt:precision=fp16"]
    return cpu + (gpu if cuda else [])


def matmul_rate(dtype: torch.dtype, device: torch.device, n: int = 2048) -> float:
    """Measured FLOP/s of an n x n matrix product (median of 5 after a warm-up)."""
    a = torch.rand(n, n, device=device).to(dtype)
    b = torch.rand(n, n, device=device).to(dtype)
    times = []
    for i in range(6):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        (a @ b).sum().item()
        if i:
            times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times)


def network(spec: str, channels: int, extra: int = 0) -> nn.Module:
    """A freshly built network with BatchNorm statistics set as after training (`extra` map channels in)."""
    restorer = default_host().registry("restorer").build(spec)
    torch.manual_seed(0)
    net = restorer.build_network(channels)
    net.train()
    with torch.no_grad():
        net(torch.rand(8, channels + extra, 32, 32))
    return net.eval()


def time_interleaved(runners: list, x: torch.Tensor, repeats: int) -> list[tuple[float, torch.Tensor]]:
    """Median seconds per call of each runner, after one warm-up each, and its last output.

    The runners take turns within each repeat, so a change in machine load (a shared CPU) falls
    on all of them alike instead of on whichever ran during it; the ratios stay comparable.
    """
    outs = [runner(x) for runner in runners]
    times: list[list[float]] = [[] for _ in runners]
    for _ in range(repeats):
        for i, runner in enumerate(runners):
            start = time.perf_counter()
            outs[i] = runner(x)
            times[i].append(time.perf_counter() - start)
    return [(statistics.median(t), out) for t, out in zip(times, outs, strict=True)]


def engine_versions() -> dict[str, str]:
    """The versions of the optional engines installed here."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for module in ENGINES:
        if installed(module):
            try:
                out[module] = version(module.replace("_", "-"))
            except PackageNotFoundError:
                out[module] = "?"
    return out


def auto_summary(rows: list[dict]) -> list[dict]:
    """Per model and size: the fastest backend, and the auto choice's speed as a fraction of it."""
    out = []
    for key in dict.fromkeys((r["model"], r["size"]) for r in rows):
        group = [r for r in rows if (r["model"], r["size"]) == key]
        fastest = max(group, key=lambda r: r["mp_per_s"])
        chosen = next((r for r in group if r["auto"]), None)
        out.append({"model": key[0], "size": key[1], "fastest": fastest["backend"],
                    "auto_over_fastest": round(chosen["mp_per_s"] / fastest["mp_per_s"], 2) if chosen else None})
    return out


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> None:
    """Measure, print a table, write JSON and Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # lists as the CLI takes them: `--models dncnn17,dncnn7`, repeated options, or space-separated
    parser.add_argument("--sizes", action="extend", nargs="+", default=None, help="image sizes (default: 512,2048)")
    parser.add_argument("--models", action="extend", nargs="+", default=None,
                        help=f"models among {','.join(MODELS)} (default: all)")
    parser.add_argument("--backends", action="extend", nargs="+", default=None,
                        help="backend specs (default: every available CPU path, and CUDA variants on a GPU)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True, help="path stem for .json and .md")
    ns = parser.parse_args()
    try:
        ns.sizes = [int(v) for v in split_specs(ns.sizes or ["512", "2048"])]
    except ValueError:
        parser.error(f"--sizes takes whole numbers of pixels, not {','.join(ns.sizes)}")
    ns.models = split_specs(ns.models or list(MODELS))
    unknown = [m for m in ns.models if m not in MODELS]
    if unknown:
        parser.error(f"unknown model {', '.join(unknown)} (choose from {', '.join(MODELS)})")
    ns.backends = split_specs(ns.backends or [])
    host = default_host()
    cuda = torch.cuda.is_available()
    specs = ns.backends or default_specs(cuda)
    auto_name, auto_backend = build_backends(host, ["auto"])[0]
    auto = auto_backend.describe()
    print(f"--backend auto picks {auto_name}: {auto}")
    backends = []
    for spec in specs:
        backend = host.registry("backend").build(spec)
        reason = backend.unavailable()
        if reason:
            print(f"skip {spec}: {reason}")
        else:
            backends.append((spec, backend))
    peaks = {}
    for device in ["cpu"] + (["cuda"] if cuda else []):
        for precision, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16), ("fp16", torch.float16)):
            if device == "cpu" and precision == "fp16":
                continue
            peaks[f"{device}-{precision}"] = matmul_rate(dtype, torch.device(device))
    rows = []
    for model in ns.models:
        spec, channels, extra = MODELS[model]
        net = fold_batchnorm(network(spec, channels, extra))
        channels += extra  # the runners take the network's input: the image and its map
        flops = flops_per_pixel(net, channels)  # priced as it runs: a U-Net's coarse levels cost less
        for size in ns.sizes:
            x = torch.rand(1, channels, size, size, generator=torch.Generator().manual_seed(0))
            runners = [backend.prepare(net, ShapeRange.around(x.shape)) for _, backend in backends]
            timed = time_interleaved(runners, x, ns.repeats)
            reference = timed[0][1]  # the first backend is eager fp32 on the CPU: the reference output
            # each row's speed-up is against eager fp32 on its own device (a GPU path against GPU eager)
            base = {backend.target_device().type: seconds
                    for (_, backend), (seconds, _) in zip(backends, timed, strict=True)
                    if backend.name == "eager" and backend.precision == "fp32"}
            for (label, backend), (seconds, out) in zip(backends, timed, strict=True):
                device = backend.target_device().type
                peak = peaks.get(f"{device}-{backend.resolved_precision()}", peaks["cpu-fp32"])
                row = {"model": model, "size": size, "backend": label, "runs": backend.describe(),
                       "auto": backend.describe() == auto, "device": device,
                       "seconds": round(seconds, 4), "mp_per_s": round(size * size / seconds / 1e6, 3),
                       "ratio_to_eager_fp32": round(base[device] / seconds, 2) if device in base else None,
                       "max_abs_diff": float((out - reference).abs().max()),
                       "gflop_per_pixel": round(flops / 1e9, 6),
                       "limit_mp_per_s": round(peak / flops / 1e6, 2)}
                rows.append(row)
                print(json.dumps(row))
    summary = auto_summary(rows)
    record = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": cpu_model(),
              "device": torch.cuda.get_device_name() if cuda else "cpu",
              "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
              "engines": engine_versions(), "auto": {"backend": auto_name, "runs": auto}, "auto_vs_fastest": summary,
              "matmul_gflops": {k: round(v / 1e9, 1) for k, v in peaks.items()},
              "command": "python benchmarks/speed.py " + " ".join(sys.argv[1:]), "rows": rows}
    ns.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(ns.out.with_suffix(".json"), json.dumps(record, indent=1) + "\n")
    lines = [f"# Inference speed ({record['device']})", "",
             f"Command: `{record['command']}`", "",
             f"Recorded {record['date']} on {record['machine']}, {record['torch_threads']} torch threads, "
             f"torch {record['torch']}. Measured matrix-multiply rates (GFLOP/s): "
             + ", ".join(f"{k} {v}" for k, v in record["matmul_gflops"].items()) + ".", "",
             "`x eager fp32` is the speed-up over eager fp32 on the same device, timed in the same run with "
             "the backends taking turns; `max diff` is against eager fp32 on the CPU; `limit MP/s` is the "
             "model's FLOPs against the measured matrix-multiply rate in that precision.", "",
             "Engines: " + (", ".join(f"{k} {v}" for k, v in record["engines"].items()) or "none installed")
             + f". `--backend auto` picks `{auto_name}` here, which runs as {auto} (marked *).", "",
             "| model | size | backend | runs as | s/image | MP/s | x eager fp32 | max diff | limit MP/s |",
             "|---|---:|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        mark = " *" if r["auto"] else ""
        lines.append(f"| {r['model']} | {r['size']} | {r['backend']}{mark} | {r['runs']} | {r['seconds']:.3f} | "
                     f"{r['mp_per_s']:.2f} | {_ratio(r['ratio_to_eager_fp32'])} | {r['max_abs_diff']:.1e} | "
                     f"{r['limit_mp_per_s']:.1f} |")
    lines += ["", "`--backend auto` against the fastest backend measured, per model and size:", "",
              "| model | size | fastest | auto / fastest |", "|---|---:|---|---:|"]
    lines += [f"| {s['model']} | {s['size']} | {s['fastest']} | {_ratio(s['auto_over_fastest'])} |" for s in summary]
    atomic_write_text(ns.out.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
