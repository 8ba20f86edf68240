"""Inference speed per backend, as ratios to eager fp32 measured in the same run.

    python benchmarks/speed.py --out benchmarks/results/speed-cpu     # every available backend
    python benchmarks/speed.py --sizes 512 --models dncnn17 --repeats 5 --out /tmp/quick

For DnCNN (7 and 17 layers, colour) and SRCNN (on the Y channel) at each size, every available
backend runs the same random input: one untimed warm-up (which also pays torch.compile's
compilation), then the median of `--repeats` timed runs
(a runner returns a CPU tensor, so CUDA work is synchronised by the copy back). Reported:
megapixels per second, the ratio to eager fp32, the max difference from eager fp32, and an
estimate of the hardware limit: the model's FLOPs per pixel against this machine's measured
matrix-multiply rate in the same precision.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

from restore_core.atomic_files import atomic_write_text
from restore_core.backends import ShapeRange
from restore_core.plugin_host import default_host

MODELS = {
    "dncnn7": ("dncnn:layers=7", 3),
    "dncnn17": ("dncnn:layers=17", 3),
    "srcnn": ("srcnn", 1),
}


def conv_flops_per_pixel(module: nn.Module) -> int:
    """2 x multiply-accumulates per output pixel over every stride-1 convolution."""
    return sum(2 * m.in_channels // m.groups * m.out_channels * m.kernel_size[0] * m.kernel_size[1]
               for m in module.modules() if isinstance(m, nn.Conv2d))


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


def network(spec: str, channels: int) -> nn.Module:
    """A freshly built network with BatchNorm statistics set as after training."""
    restorer = default_host().registry("restorer").build(spec)
    torch.manual_seed(0)
    net = restorer.build_network(channels)
    net.train()
    with torch.no_grad():
        net(torch.rand(8, channels, 32, 32))
    return net.eval()


def time_runner(runner, x: torch.Tensor, repeats: int) -> tuple[float, torch.Tensor]:
    """Median seconds per call after one warm-up, and the last output."""
    out = runner(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = runner(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    """Measure, print a table, write JSON and Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2048])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--backends", nargs="+", default=None,
                        help="backend specs (default: eager, optimized fp32 and bf16, and CUDA variants)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True, help="path stem for .json and .md")
    ns = parser.parse_args()
    host = default_host()
    cuda = torch.cuda.is_available()
    specs = ns.backends or (["eager:device=cpu", "optimized:device=cpu", "optimized:device=cpu,precision=bf16",
                             "optimized:device=cpu,compile=true", "optimized:device=cpu,precision=bf16,compile=true"]
                            + (["eager:device=cuda", "eager:device=cuda,precision=fp16",
                                "eager:device=cuda,precision=bf16", "optimized:device=cuda,precision=fp16",
                                "optimized:device=cuda,precision=fp16,compile=true", "tensorrt",
                                "tensorrt:precision=fp16"] if cuda else []))
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
        spec, channels = MODELS[model]
        net = network(spec, channels)
        flops = conv_flops_per_pixel(net)
        for size in ns.sizes:
            x = torch.rand(1, channels, size, size, generator=torch.Generator().manual_seed(0))
            reference = None
            base_seconds = None
            for label, backend in backends:
                runner = backend.prepare(net, ShapeRange.around(x.shape))
                seconds, out = time_runner(runner, x, ns.repeats)
                if reference is None:  # the first backend is eager fp32 on CPU: the reference
                    reference, base_seconds = out, seconds
                device = backend.target_device().type
                peak = peaks.get(f"{device}-{backend.precision}", peaks["cpu-fp32"])
                row = {"model": model, "size": size, "backend": label, "seconds": round(seconds, 4),
                       "mp_per_s": round(size * size / seconds / 1e6, 3),
                       "ratio_to_eager_fp32": round(base_seconds / seconds, 2),
                       "max_abs_diff": float((out - reference).abs().max()),
                       "gflop_per_pixel": round(flops / 1e9, 6),
                       "limit_mp_per_s": round(peak / flops / 1e6, 2)}
                rows.append(row)
                print(json.dumps(row))
    record = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
              "device": torch.cuda.get_device_name() if cuda else "cpu",
              "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
              "matmul_gflops": {k: round(v / 1e9, 1) for k, v in peaks.items()},
              "command": "python benchmarks/speed.py " + " ".join(sys.argv[1:]), "rows": rows}
    ns.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(ns.out.with_suffix(".json"), json.dumps(record, indent=1) + "\n")
    lines = [f"# Inference speed ({record['device']})", "",
             f"Command: `{record['command']}`", "",
             f"Recorded {record['date']} on {record['machine']}, {record['torch_threads']} torch threads, "
             f"torch {record['torch']}. Measured matrix-multiply rates (GFLOP/s): "
             + ", ".join(f"{k} {v}" for k, v in record["matmul_gflops"].items()) + ".", "",
             "| model | size | backend | s/image | MP/s | x eager fp32 | max diff | limit MP/s |",
             "|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['size']} | {r['backend']} | {r['seconds']:.3f} | {r['mp_per_s']:.2f} | "
                     f"{r['ratio_to_eager_fp32']:.2f} | {r['max_abs_diff']:.1e} | {r['limit_mp_per_s']:.1f} |")
    atomic_write_text(ns.out.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
