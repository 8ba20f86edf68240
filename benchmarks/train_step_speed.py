"""Training-step speed on CPU: fp32 NCHW vs channels-last vs bf16 autocast, measured in one run.

    python benchmarks/train_step_speed.py [--out benchmarks/results/train_step_speed.json]

Each configuration runs the same random batch through forward, MSE, backward and an Adam step;
the figure is the median of timed steps after warm-up. Ratios are against fp32 NCHW.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from restore_core.training import cpu_has_native_bf16


def step_seconds(network: torch.nn.Module, shape: tuple[int, ...], bf16: bool, channels_last: bool,
                 steps: int) -> float:
    """Median seconds of one training step."""
    optimizer = torch.optim.Adam(network.parameters(), 1e-3)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(shape, generator=gen), torch.rand(shape, generator=gen)
    if channels_last:
        network = network.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    times = []
    for i in range(steps + 2):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            pred = network(x)
        loss = torch.nn.functional.mse_loss(pred.float(), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i >= 2:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Measure every configuration and print (and optionally save) the ratios."""
    from restore_builtins.dncnn import DnCNNNetwork
    from restore_builtins.srcnn import SRCNNNetwork

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    cases = {
        "dncnn-7 rgb, 32x48x48": (lambda: DnCNNNetwork(3, 7, 64), (32, 3, 48, 48)),
        "dncnn-7 gray, 32x48x48": (lambda: DnCNNNetwork(1, 7, 64), (32, 1, 48, 48)),
        "srcnn, 64x48x48": (lambda: SRCNNNetwork(True), (64, 1, 48, 48)),
    }
    rows = []
    for name, (make, shape) in cases.items():
        base = None
        for label, bf16, cl in [("fp32 NCHW", False, False), ("fp32 channels-last", False, True),
                                ("bf16 NCHW", True, False), ("bf16 channels-last", True, True)]:
            torch.manual_seed(0)
            seconds = step_seconds(make(), shape, bf16, cl, args.steps)
            base = base or seconds
            rows.append({"case": name, "config": label, "seconds_per_step": round(seconds, 4),
                         "speedup_vs_fp32_nchw": round(base / seconds, 2)})
            print(f"{name:26s} {label:20s} {seconds * 1000:7.1f} ms/step  x{base / seconds:.2f}",
                  flush=True)
    record = {"machine": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
              "torch": torch.__version__, "native_bf16": cpu_has_native_bf16(), "rows": rows}
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(record, fh, indent=1)


if __name__ == "__main__":
    main()
