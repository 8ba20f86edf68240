"""Training-step speed on CPU: fp32 NCHW vs channels-last vs bf16 autocast, measured in one run,
and the data path alone (patches per second with and without the model).

    python benchmarks/train_step_speed.py [--out benchmarks/results/train_step_speed.json]
    python benchmarks/train_step_speed.py --device cuda --steps 20 --out OUT/train_step_speed_cuda.json

With `--device cuda` the same steps run on the GPU (bf16 meaning CUDA bf16 autocast, each step
synchronised) and the CPU-only data-path rows are left out.

Each configuration runs the same random batch through forward, MSE, backward and an Adam step;
the figure is the median of timed steps after warm-up. Ratios are against fp32 NCHW. The data rows
time `training_batch`, what the training loop draws each step (random patches of the embedded
gray images, a random flip/rotation each, seeded Gaussian noise, channels-last), against a whole
bf16 channels-last step with it.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable

import torch

from restore_core.plugins.host import default_host
from restore_core.system.atomic_files import atomic_write_text
from restore_core.system.hardware import cpu_model
from restore_core.train.loop import TrainConfig, cpu_has_native_bf16, training_batch


def step_seconds(network: torch.nn.Module, shape: tuple[int, ...], bf16: bool, channels_last: bool,
                 steps: int, device: str = "cpu") -> float:
    """Median seconds of one training step."""
    network = network.to(device)
    optimizer = torch.optim.Adam(network.parameters(), 1e-3)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(shape, generator=gen).to(device), torch.rand(shape, generator=gen).to(device)
    if channels_last:
        network = network.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    return median_step_seconds(network, optimizer, lambda: (x, y), bf16, steps)


def median_step_seconds(network: torch.nn.Module, optimizer: torch.optim.Optimizer,
                        batch: Callable[[], tuple[torch.Tensor, torch.Tensor]], bf16: bool, steps: int) -> float:
    """Median seconds of `steps` training steps (after 2 warm-up ones), each drawing `batch()`."""
    times = []
    for i in range(steps + 2):
        start = time.perf_counter()
        x, y = batch()
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            pred = network(x)
        loss = torch.nn.functional.mse_loss(pred.float(), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if x.is_cuda:
            torch.cuda.synchronize()  # CUDA runs asynchronously: time the work, not its launch
        if i >= 2:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def data_rates(restorer_spec: str, channels: int, patch: int, batch: int, steps: int) -> dict[str, float]:
    """Patches per second of the data path alone and of whole bf16 channels-last training steps."""
    host = default_host()
    restorer = host.registry("restorer").build(restorer_spec)
    degradation = host.registry("degradation").build("gaussian25")
    data = host.registry("dataset").build("skimage-gray" if channels == 1 else "skimage")
    images = [(data.load(i)[0] * 255).round().to(torch.uint8) for i in range(len(data))]
    config = TrainConfig(patch=patch, batch=batch)
    rng = random.Random(0)
    start = time.perf_counter()
    for _ in range(steps * 4):
        training_batch(restorer, degradation, images, config, rng)
    data_only = steps * 4 * batch / (time.perf_counter() - start)
    network = restorer.build_network(channels).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(network.parameters(), 1e-3)
    seconds = median_step_seconds(network, optimizer,
                                  lambda: training_batch(restorer, degradation, images, config, rng),
                                  cpu_has_native_bf16(), steps)
    with_model = batch / seconds
    return {"data_only_patches_per_second": round(data_only, 1),
            "with_model_patches_per_second": round(with_model, 1),
            "data_share_of_step": round(with_model / data_only, 4)}


def main() -> None:
    """Measure every configuration and print (and optionally save) the ratios."""
    from restore_builtins.dncnn_network import DnCNNNetwork
    from restore_builtins.srcnn_network import SRCNNNetwork
    from restore_builtins.unet_network import UNetNetwork

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--out", default=None)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    cases = {
        "dncnn-7 rgb, 32x48x48": (lambda: DnCNNNetwork(3, 7, 64), (32, 3, 48, 48)),
        "dncnn-7 gray, 32x48x48": (lambda: DnCNNNetwork(1, 7, 64), (32, 1, 48, 48)),
        "srcnn, 64x48x48": (lambda: SRCNNNetwork(True), (64, 1, 48, 48)),
        "dncnn-17 gray, 32x48x48": (lambda: DnCNNNetwork(1, 17, 64), (32, 1, 48, 48)),
        "unet 32f/3lv/2b gray, 16x64x64": (lambda: UNetNetwork(1, 32, 3, 2), (16, 1, 64, 64)),
    }
    rows = []
    for name, (make, shape) in cases.items():
        base = None
        for label, bf16, cl in [("fp32 NCHW", False, False), ("fp32 channels-last", False, True),
                                ("bf16 NCHW", True, False), ("bf16 channels-last", True, True)]:
            torch.manual_seed(0)
            seconds = step_seconds(make(), shape, bf16, cl, args.steps, args.device)
            base = base or seconds
            rows.append({"case": name, "config": label, "seconds_per_step": round(seconds, 4),
                         "speedup_vs_fp32_nchw": round(base / seconds, 2)})
            print(f"{name:26s} {label:20s} {seconds * 1000:7.1f} ms/step  x{base / seconds:.2f}",
                  flush=True)
    data_rows = []
    for name, spec, channels, patch, batch in [("dncnn-17 gray", "dncnn:layers=17", 1, 48, 32),
                                               ("dncnn-7 rgb", "dncnn:layers=7", 3, 48, 32),
                                               ("unet gray", "unet", 1, 64, 16)]:
        if args.device != "cpu":
            break  # the data path runs on the CPU whatever the device
        rates = data_rates(spec, channels, patch, batch, args.steps)
        data_rows.append({"case": f"{name}, {batch}x{patch}x{patch}", **rates})
        print(f"{name:26s} data alone {rates['data_only_patches_per_second']:8.0f} patches/s, with the model "
              f"{rates['with_model_patches_per_second']:6.0f} patches/s (data {100 * rates['data_share_of_step']:.1f}%"
              " of a step)", flush=True)
    record = {"machine": cpu_model(), "device": args.device if args.device == "cpu" else torch.cuda.get_device_name(),
              "threads": torch.get_num_threads(),
              "torch": torch.__version__, "native_bf16": cpu_has_native_bf16(), "rows": rows,
              "data_path": data_rows}
    if args.out:
        atomic_write_text(args.out, json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
