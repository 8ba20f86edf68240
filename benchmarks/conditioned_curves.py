"""Short training curves of three noise-level-conditioned denoisers, from scratch, on equal CPU time.

    python benchmarks/conditioned_curves.py --minutes 12 --out benchmarks/results/conditioned-curves

Issue 16 asks which architecture reaches the conditioned denoiser's floors in fewer CPU minutes:
FFDNet (Zhang et al., 2018: the image pixel-unshuffled by 2 beside a down-sampled noise map, 15
conv layers of 64 features at a quarter of the pixels, BatchNorm), a small DRUNet-style U-Net (the
map as an extra input channel; our U-Net's 32 features, 3 levels, 2 residual blocks per level) or
FDnCNN (DnCNN-17 with the map as an extra channel: what `fdncnn` ships). Each trains from a random
start for the same wall-clock minutes on one thread, with the same patches, batch, schedule and
degradation (`gaussian-range:sigma_min=0,sigma_max=75` on BSD400 gray, 8 images held out), through
the library's own training loop (`restore_core.train.loop.train`), so bf16 autocast applies as it
does for `restore train`. Reported: the validation PSNR against minutes, FLOPs per pixel, patches
per second, and at the end PSNR on the first `--test-images` of BSD68 at sigma 15, 25 and 50.

FFDNet's network lives here, not in the plugin: only architectures with shipped weights are
registered (FDnCNN as `fdncnn`, the conditioned U-Net as `drunet`, whose networks this imports). All
three predict the noise and subtract it (FFDNet's paper predicts the clean image; the residual form
trains faster from scratch, and is what the other two do), so the comparison is of architectures.
Minutes are wall-clock: run it on an otherwise idle core, or compare only curves from one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from restore_builtins.dncnn_network import ConditionedDnCNNNetwork, initialise_residual_stack
from restore_builtins.fdncnn import FDnCNN
from restore_builtins.unet_network import ConditionedUNetNetwork
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from restore_core import DENOISING, DegradationInfo
from restore_core.components.metric_protocol import psnr
from restore_core.plugins.host import default_host
from restore_core.plugins.specs import open_dataset_spec
from restore_core.system.atomic_files import atomic_write_text
from restore_core.system.hardware import cpu_model
from restore_core.train.job import validation_indices
from restore_core.train.loop import TrainConfig, train


class FFDNetNetwork(nn.Module):
    """FFDNet: image pixel-unshuffled by 2 plus the map averaged to that grid, a plain conv stack, shuffled back."""

    def __init__(self, channels: int, layers: int = 15, features: int = 64) -> None:
        super().__init__()
        self.channels = channels
        body: list[nn.Module] = [nn.Conv2d(4 * channels + 1, features, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(layers - 2):
            body += [nn.Conv2d(features, features, 3, padding=1, bias=False), nn.BatchNorm2d(features),
                     nn.ReLU(inplace=True)]
        body.append(nn.Conv2d(features, 4 * channels, 3, padding=1))
        self.body = nn.Sequential(*body)
        initialise_residual_stack(self.body)  # as DnCNN: a full-size random residual costs a short run its steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the image channels of `x` minus the noise predicted at half resolution."""
        image, level = x[:, : self.channels], x[:, self.channels :]
        h, w = image.shape[-2:]
        pad = (0, w % 2, 0, h % 2)
        small = F.pixel_unshuffle(F.pad(image, pad, mode="replicate"), 2)
        small_level = F.avg_pool2d(F.pad(level, pad, mode="replicate"), 2)
        noise = F.pixel_shuffle(self.body(torch.cat([small, small_level], dim=1)), 2)[..., :h, :w]
        return image - noise


class Candidate(FDnCNN):
    """FDnCNN's restorer (map handling, training pair) around another conditioned network."""

    def __init__(self, label: str, build) -> None:
        super().__init__()
        self.label, self.build = label, build

    def build_network(self, channels: int) -> nn.Module:
        """The candidate's network, freshly initialised."""
        return self.build(channels)

    def weights_key(self, info: DegradationInfo, channels: int) -> str:
        """A key of its own, so no shipped file is ever taken for it."""
        return f"curve-{self.label}"


CANDIDATES = {
    "fdncnn-17l-64f": lambda c: ConditionedDnCNNNetwork(c, 17, 64),
    "ffdnet-15l-64f": lambda c: FFDNetNetwork(c, 15, 64),
    "unet-32f-3lv-2b": lambda c: ConditionedUNetNetwork(c, 32, 3, 2),
}


def flops_per_pixel(network: nn.Module, channels: int, size: int = 64) -> float:
    """Forward FLOPs per output pixel (convolutions and transposed convolutions, as torch counts them)."""
    network.eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        network(torch.rand(1, channels + 1, size, size))
    return counter.get_total_flops() / size**2


def load_images(dataset: str, val_count: int = 8) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """uint8 (1, H, W) gray images, every k-th held out for validation as `restore train` holds them out."""
    data = open_dataset_spec(default_host(), dataset)
    data = replace(data, mode="gray")
    held = validation_indices(len(data), val_count)
    images = [(data.load(i)[0] * 255).round().to(torch.uint8) for i in range(len(data))]
    return [im for i, im in enumerate(images) if i not in held], [images[i] for i in sorted(held)]


def test_psnr(restorer: FDnCNN, weights: Path, sigmas: list[int], count: int) -> dict[str, float]:
    """Mean PSNR on the first `count` BSD68 images per sigma, the noise seeded per image."""
    host = default_host()
    data = replace(open_dataset_spec(host, "bsd68").limit(count), mode="gray")
    restorer.weights = str(weights)
    out = {}
    for sigma in sigmas:
        noise = host.registry("degradation").build(f"gaussian:sigma={sigma}")
        scores = []
        for i in range(len(data)):
            clean = data.load(i)
            degraded = noise.degrade(clean, [torch.Generator().manual_seed(i)])
            restorer.prepare(degraded.info, 1)
            with torch.no_grad():
                restored = restorer.restore(degraded.image, DegradationInfo(DENOISING, sigma=float(sigma)))
            scores.append(float(psnr(restored.clamp(0, 1), clean)[0]))
        out[str(sigma)] = round(sum(scores) / len(scores), 3)
    return out


def main() -> None:
    """Train each candidate for the same minutes, then write the curves as JSON and Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=12.0, help="wall-clock minutes per candidate")
    parser.add_argument("--candidates", default=",".join(CANDIDATES), help="comma-separated, among the defaults")
    parser.add_argument("--test-images", type=int, default=12)
    parser.add_argument("--out", type=Path, required=True, help="path stem for .json and .md")
    ns = parser.parse_args()
    names = [n for n in ns.candidates.split(",") if n]
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        parser.error(f"unknown candidate {', '.join(unknown)} (choose from {', '.join(CANDIDATES)})")
    host = default_host()
    degradation = host.registry("degradation").build("gaussian-range:sigma_min=0,sigma_max=75")
    train_images, val_images = load_images("bsd400")
    config = TrainConfig(patch=48, batch=32, steps=1_000_000, lr=1e-3, warmup=100, val_every=100,
                         max_minutes=ns.minutes, checkpoint_seconds=1e9)
    command = "python benchmarks/conditioned_curves.py " + " ".join(sys.argv[1:])
    rows = []
    if ns.out.with_suffix(".json").is_file():  # a rerun of some candidates keeps the others' rows
        previous = json.loads(ns.out.with_suffix(".json").read_text())
        rows = [{"date": previous["date"], "command": previous["command"], **r} for r in previous["rows"]
                if r["candidate"] not in names]
    for name in names:
        restorer = Candidate(name, CANDIDATES[name])
        flops = flops_per_pixel(CANDIDATES[name](1), 1)
        with tempfile.TemporaryDirectory() as tmp:
            weights = Path(tmp) / f"{name}.safetensors"
            result = train(restorer, degradation, train_images, val_images, 1, config, weights, {})
            scores = test_psnr(restorer, weights, [15, 25, 50], ns.test_images)
        curve = [{"minutes": round(h["seconds"] / 60, 2), "val_psnr": round(h["val_psnr"], 3)}
                 for h in result.history if h.get("val_psnr") is not None]
        row = {"candidate": name, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "command": command,
               "mflop_per_pixel": round(flops / 1e6, 3), "steps": result.steps,
               "patches_per_second": round(result.patches_seen / result.seconds, 1),
               "best_val_psnr": round(result.best_psnr, 3), "bsd68_psnr": scores, "curve": curve}
        rows = [r for r in rows if r["candidate"] != name] + [row]
        print(json.dumps({k: v for k, v in row.items() if k != "curve"}), flush=True)
    record = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": cpu_model(),
              "threads": torch.get_num_threads(), "torch": torch.__version__,
              "command": command,
              "minutes": ns.minutes, "test_images": ns.test_images, "rows": rows}
    ns.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(ns.out.with_suffix(".json"), json.dumps(record, indent=1) + "\n")
    marks = sorted({m for r in rows for m in (round(p["minutes"]) for p in r["curve"]) if m > 0})
    picks = [m for m in marks if m % max(1, round(ns.minutes / 6)) == 0] or marks

    def at(row: dict, minute: int) -> str:
        before = [p["val_psnr"] for p in row["curve"] if p["minutes"] <= minute + 0.5]
        return f"{max(before):.2f}" if before else "-"

    lines = [f"# Conditioned denoisers from scratch: {ns.minutes:g} minutes each", "",
             "Commands (a rerun of some candidates keeps the other rows): "
             + ", ".join(f"`{c}`" for c in dict.fromkeys(r["command"] for r in rows)), "",
             f"Recorded {record['date']} on {record['machine']}, {record['threads']} torch thread(s), torch "
             f"{record['torch']}. Gray, `gaussian-range:sigma_min=0,sigma_max=75` on BSD400 (8 images held out "
             f"for validation), patches 48, batch 32, Adam 1e-3. Validation PSNR is the best so far at each "
             f"minute; BSD68 is the first {ns.test_images} images.", "",
             "| " + " | ".join(["candidate", "MFLOP/px", "patches/s", "steps", *(f"val @ {m} min" for m in picks),
                                  "BSD68 s15", "s25", "s50"]) + " |",
             "|---|" + "---:|" * (len(picks) + 6)]
    for r in rows:
        cells = [r["candidate"], f"{r['mflop_per_pixel']:.2f}", f"{r['patches_per_second']:.1f}", str(r["steps"]),
                 *(at(r, m) for m in picks), *(f"{r['bsd68_psnr'][s]:.2f}" for s in ("15", "25", "50"))]
        lines.append("| " + " | ".join(cells) + " |")
    atomic_write_text(ns.out.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
