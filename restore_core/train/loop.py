"""Training a TrainableRestorer: random patches, Adam, MSE, a step schedule, best-checkpoint keeping.

On CPU it trains in channels-last memory format under bf16 autocast where the processor has
native bf16 (measured here: 2.4x per step for DnCNN-17); the loss and the optimiser stay fp32.

A checkpoint is written atomically every `checkpoint_seconds` (0: after every step) and at the end,
with `torch.save`, and read back with `torch.load(weights_only=True)`, which unpickles nothing but
tensors and plain values: a checkpoint that is empty, truncated, not a checkpoint, a pickle of other
objects or another network's is refused with one line naming it (`read_checkpoint`), and a
checkpoint path that cannot be written is refused before training starts (`check_checkpoint_path`).
"""

from __future__ import annotations

import math
import os
import pickle
import random
import time
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from restore_core.components.interfaces import Degradation, DegradationInfo, TrainableRestorer
from restore_core.components.metric_protocol import psnr, resolve, scoring_view
from restore_core.components.network_restorer import NetworkRestorer
from restore_core.errors import TrainingError, UsageError, WeightsError
from restore_core.system.atomic_files import atomic_path
from restore_core.train import distributed
from restore_core.train.distributed import World, rank_seed, share
from restore_core.train.weights import read_state, save_weights


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run besides the components and the data."""

    patch: int = 40
    batch: int = 32
    steps: int = 3000
    lr: float = 1e-3
    milestones: tuple[float, ...] = (0.6, 0.85)  # fractions of the run where lr is multiplied by gamma
    gamma: float = 0.2
    warmup: int = 0  # steps of linear learning-rate warm-up (Adam's first steps are full-sized)
    val_every: int = 250
    val_crop: int = 160
    seed: int = 0
    max_minutes: float | None = None
    patience: int | None = None  # validations without a new best before stopping early
    bf16: bool | None = None  # None: on when the CPU runs bf16 natively
    checkpoint_seconds: float = 120.0  # seconds between checkpoints (0: after every step); `--checkpoint-every`


@dataclass
class TrainProgress:
    """A snapshot the caller may display."""

    step: int
    steps: int
    loss: float
    val_psnr: float | None
    best_psnr: float | None
    patches_per_second: float
    elapsed: float
    lr: float


@dataclass
class TrainResult:
    """What a finished run achieved."""

    steps: int
    best_psnr: float
    best_step: int
    seconds: float
    patches_seen: int
    history: list[dict[str, float]] = field(default_factory=list)


def cpu_has_native_bf16() -> bool:
    """Return True when this CPU has AVX-512 BF16 or AMX (Linux only; elsewhere False)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def probe_info(degradation: Degradation, channels: int) -> DegradationInfo:
    """Return the DegradationInfo `degradation` attaches, from a tiny dummy image."""
    dummy = torch.zeros(1, channels, 24, 24)
    return degradation.degrade(dummy, [torch.Generator().manual_seed(0)]).info


def _lr_factor(progress: float, config: TrainConfig) -> float:
    return config.gamma ** sum(progress >= m for m in config.milestones)


def _sample_patches(images: Sequence[torch.Tensor], config: TrainConfig, rng: random.Random) -> torch.Tensor:
    """Random patches with one of the 8 flips/rotations each, as float32 (N, C, P, P)."""
    p = config.patch
    out = []
    for _ in range(config.batch):
        img = images[rng.randrange(len(images))]
        h, w = img.shape[-2:]
        y, x = rng.randrange(h - p + 1), rng.randrange(w - p + 1)
        patch = img[:, y : y + p, x : x + p]
        k = rng.randrange(8)
        patch = torch.rot90(patch, k % 4, dims=(1, 2))
        if k >= 4:
            patch = patch.flip(2)
        out.append(patch)
    return torch.stack(out).float().div_(255.0)


def training_batch(restorer: TrainableRestorer, degradation: Degradation, images: Sequence[torch.Tensor],
                   config: TrainConfig, rng: random.Random) -> tuple[torch.Tensor, torch.Tensor]:
    """One (network input, target) batch as the training loop draws it: patches, noise, channels-last."""
    clean = _sample_patches(images, config, rng)
    gens = [torch.Generator().manual_seed(rng.getrandbits(63)) for _ in range(clean.shape[0])]
    x, y = restorer.training_pair(degradation.degrade(clean, gens))
    return x.contiguous(memory_format=torch.channels_last), y


def _centre_crop(image: torch.Tensor, size: int, multiple: int) -> torch.Tensor:
    h, w = image.shape[-2:]
    ch, cw = min(h, size), min(w, size)
    ch, cw = ch - ch % multiple, cw - cw % multiple
    y, x = (h - ch) // 2, (w - cw) // 2
    return image[..., y : y + ch, x : x + cw]


def validate(
    restorer: NetworkRestorer,
    network: torch.nn.Module,
    degradation: Degradation,
    images: Sequence[torch.Tensor],
    config: TrainConfig,
) -> float:
    """Mean PSNR (task protocol) of `network` on centre crops of the validation images."""
    network.eval()
    scores = []
    with torch.inference_mode():
        for i, img in enumerate(images):
            clean = _centre_crop(img.float().div(255.0), config.val_crop, 12).unsqueeze(0)
            degraded = degradation.degrade(clean, [torch.Generator().manual_seed(10_000 + i)])
            out = restorer.run_network(network, degraded.image.contiguous(memory_format=torch.channels_last),
                                       degraded.info).clamp(0, 1)
            channel, crop = resolve("auto", None, degraded.info)
            a, b = scoring_view(out.float(), degraded.target, channel, crop)
            scores.append(float(psnr(a, b)[0]))
    network.train()
    return float(np.mean(scores))


def check_checkpoint_path(checkpoint: Path | None) -> None:
    """Refuse a checkpoint path that is a folder or lies in a folder that is missing or not writable."""
    if checkpoint is None:
        return
    if checkpoint.is_dir():
        raise UsageError(f"checkpoint {str(checkpoint)!r} is a folder; name a file in it, "
                         f"e.g. {str(checkpoint / 'run.ckpt')!r}")
    folder = checkpoint.parent
    if not folder.is_dir():
        raise UsageError(f"checkpoint {str(checkpoint)!r} lies in {str(folder)!r}, which is not a folder that exists")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"checkpoint {str(checkpoint)!r} cannot be written: folder {str(folder)!r} is not writable")


#: what a checkpoint holds, and of which type, as `train` writes it
CHECKPOINT_PARTS = {"network": dict, "optimizer": dict, "state": dict, "python_rng": list, "torch_rng": torch.Tensor}


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint `train` wrote, unpickling nothing but tensors and plain values; refuse anything else."""
    where = f"checkpoint {str(path)!r}"
    if path.stat().st_size == 0:
        raise WeightsError(f"{where} is empty (a run killed while creating it?); delete it to start afresh")
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickle protocols: the error says enough
            warnings.simplefilter("ignore")
            saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # never torch's own message: it recommends weights_only=False, which runs whatever the file holds
        if "Unsupported global" in str(exc):
            raise WeightsError(f"{where} holds objects other than tensors and plain values, which restore never "
                               "unpickles; it was not written by restore train") from None
        raise WeightsError(f"{where} is truncated or not a checkpoint (not a pickle of tensors restore reads); "
                           "delete it to start afresh") from None
    except OSError as exc:
        raise WeightsError(f"{where} cannot be read ({exc.strerror or exc})") from None
    except (RuntimeError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{where} is truncated or not a checkpoint ({reason}); delete it to start afresh") from None
    except Exception as exc:  # torch.load on arbitrary bytes raises KeyError, IndexError, struct.error, ...
        raise WeightsError(f"{where} is not a checkpoint restore can read ({type(exc).__name__}); delete it to "
                           "start afresh") from None
    if not isinstance(saved, dict):
        raise WeightsError(f"{where} is not a restore train checkpoint (it holds a {type(saved).__name__})")
    wrong = [k for k, kind in CHECKPOINT_PARTS.items() if not isinstance(saved.get(k), kind)]
    if wrong:
        raise WeightsError(f"{where} is not a restore train checkpoint (missing or malformed: {', '.join(wrong)})")
    return saved


def _resume(path: Path, saved: dict[str, Any], network: torch.nn.Module, optimizer: torch.optim.Optimizer,
            rng: random.Random) -> dict[str, Any]:
    """Load a read checkpoint into the run; return its training state."""
    try:
        network.load_state_dict(saved["network"], strict=True)
        optimizer.load_state_dict(saved["optimizer"])
        state = saved["state"]
        missing = [k for k in ("step", "best_psnr", "best_step", "seconds", "history") if k not in state]
        if missing:
            raise KeyError(f"its training state lacks {', '.join(missing)}")
        rng.setstate(_tuple_state(saved["python_rng"]))
        torch.set_rng_state(saved["torch_rng"])
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"checkpoint {str(path)!r} does not fit this training run (another network or "
                           f"configuration: {first}); delete it or pass another --checkpoint") from None
    return state


def _atomic_torch_save(obj: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def train(
    restorer: TrainableRestorer,
    degradation: Degradation,
    train_images: Sequence[torch.Tensor],
    val_images: Sequence[torch.Tensor],
    channels: int,
    config: TrainConfig,
    out: Path,
    metadata: dict[str, Any],
    checkpoint: Path | None = None,
    on_progress: Callable[[TrainProgress], None] | None = None,
    init: Path | None = None,
    world: World | None = None,
) -> TrainResult:
    """Train `restorer` on uint8 (C, H, W) images; keep the best weights (by validation) at `out`.

    `init` names weights to start from (see `NetworkRestorer.warm_start`); a checkpoint being
    resumed takes precedence, since it already holds the warm-started run. `world` is this process's
    rank in a torchrun group (restore_core.train.distributed): each rank trains on its share of every
    global batch from its own patch stream, gradients are averaged, and only rank 0 validates and
    writes files; `on_progress` is called on every rank.
    """
    world = world or World()
    if not isinstance(restorer, NetworkRestorer):
        raise UsageError(f"{restorer.name} is not trainable")
    check_checkpoint_path(checkpoint)
    usable = [im for im in train_images if min(im.shape[-2:]) >= config.patch]
    if not usable:
        raise UsageError(f"no training image is at least {config.patch}x{config.patch} pixels")
    info = probe_info(degradation, channels)
    torch.manual_seed(config.seed)  # the same initial network on every rank (DDP also broadcasts rank 0's)
    rng = random.Random(rank_seed(config.seed, world.rank))
    local = replace(config, batch=share(config.batch, world.size, world.rank))
    network = restorer.build_network(channels).to(memory_format=torch.channels_last)
    network.train()
    resuming = checkpoint is not None and checkpoint.is_file()
    saved = read_checkpoint(checkpoint) if resuming and checkpoint is not None else None
    if init is not None and not resuming:
        # a separate stream, so a warm-started run draws the same training patches as a cold one
        calibration_rng = random.Random(config.seed + 1)
        sample, _ = training_batch(restorer, degradation, usable, replace(config, batch=max(config.batch, 64)),
                                   calibration_rng)
        restorer.warm_start(network, read_state(init), sample)
    optimizer = torch.optim.Adam(network.parameters(), lr=config.lr)
    bf16 = cpu_has_native_bf16() if config.bf16 is None else config.bf16
    state = {"step": 0, "best_psnr": -math.inf, "best_step": 0, "seconds": 0.0, "history": []}
    if saved is not None and checkpoint is not None:
        written_by = int(saved.get("world_size", 1))
        if written_by != world.size:
            raise UsageError(f"checkpoint {str(checkpoint)!r} was written by {written_by} process(es), this run has "
                             f"{world.size}: resume it with --nproc-per-node {written_by}, or start afresh")
        if world.distributed:  # each rank continues its own patch stream
            mine = saved.get("rank_states", [])[world.rank]
            saved = {**saved, "python_rng": mine[0], "torch_rng": mine[1]}
        state = _resume(checkpoint, saved, network, optimizer, rng)
    model: torch.nn.Module = network
    if world.distributed:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(network)  # averages gradients over the ranks every step
    key = restorer.weights_key(info, channels)

    def record_validation(val: float, seconds: float, loss: float | None, lr: float) -> None:
        # rank 0 only: the history gains a row, and weights that beat the best so far go to `out`
        state["history"].append({"step": state["step"], "seconds": seconds, "loss": loss, "val_psnr": val,
                                 "lr": lr})
        if val > state["best_psnr"]:
            state["best_psnr"], state["best_step"] = val, state["step"]
            save_weights(out, network, {**metadata, "key": key, "step": state["step"], "val_psnr": round(val, 4),
                                        "channels": channels, "config": asdict(config)})

    if init is not None and saved is None and world.main:
        # A warm start is scored before its first step and counts as the best so far: a continued
        # stage (init and out the same file) whose warm restart never climbs back leaves the weights
        # it started from, rather than replacing them with its first, lower, validation's.
        record_validation(validate(restorer, network, degradation, val_images, config), 0.0, None, 0.0)
    start = time.perf_counter() - state["seconds"]
    last_checkpoint = time.perf_counter()
    window_start, window_patches = time.perf_counter(), 0
    loss_value = float("nan")

    def save_checkpoint() -> None:
        # collective: every rank hands rank 0 its random state, and rank 0 alone writes
        states = distributed.gather(world, [list(_list_state(rng.getstate())), torch.get_rng_state()])
        if checkpoint is not None and world.main:
            _atomic_torch_save({
                "network": network.state_dict(),
                "optimizer": optimizer.state_dict(),
                "state": state,
                "python_rng": states[0][0],
                "torch_rng": states[0][1],
                "world_size": world.size,
                **({"rank_states": states} if world.distributed else {}),
            }, checkpoint)

    stopping = False  # rank 0's patience verdict, acted on by every rank at the next step
    while state["step"] < config.steps:
        elapsed = time.perf_counter() - start
        progress = state["step"] / config.steps
        out_of_time = config.max_minutes is not None and elapsed >= config.max_minutes * 60
        if config.max_minutes is not None:
            progress = max(progress, elapsed / (config.max_minutes * 60))
        # rank 0 decides, so every rank leaves at the same step and uses the same learning rate
        out_of_time, stop_now, progress = distributed.decide(world, (out_of_time, stopping, progress))
        if out_of_time:
            break
        if stop_now:
            state["stopped_early"] = True
            break
        lr = config.lr * _lr_factor(progress, config) * min(1.0, (state["step"] + 1) / max(config.warmup, 1))
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = training_batch(restorer, degradation, usable, local, rng)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            pred = model(x)
        loss = torch.nn.functional.mse_loss(pred.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_value = distributed.mean(world, loss.detach().item())  # the global batch's loss
        if not math.isfinite(loss_value):
            raise TrainingError(f"training diverged at step {state['step']} (loss {loss_value}); lower --lr")
        state["step"] += 1
        window_patches += config.batch
        now = time.perf_counter()
        rate = window_patches / max(now - window_start, 1e-9)
        val = None
        if world.main and (state["step"] % config.val_every == 0 or state["step"] == config.steps):
            val = validate(restorer, network, degradation, val_images, config)
            record_validation(val, now - start, loss_value, lr)
            window_start, window_patches = time.perf_counter(), 0
            since_best = sum(1 for h in state["history"] if h["step"] > state["best_step"])
            if config.patience is not None and since_best >= config.patience:
                stopping = True
        state["seconds"] = time.perf_counter() - start
        due = checkpoint is not None and time.perf_counter() - last_checkpoint > config.checkpoint_seconds
        if distributed.decide(world, due):
            save_checkpoint()
            last_checkpoint = time.perf_counter()
        if on_progress is not None:
            on_progress(TrainProgress(state["step"], config.steps, loss_value, val,
                                      state["best_psnr"] if state["best_psnr"] > -math.inf else None,
                                      rate, state["seconds"], lr))
    if world.main and (not state["history"] or state["history"][-1]["step"] != state["step"]):
        val = validate(restorer, network, degradation, val_images, config)
        record_validation(val, state["seconds"], loss_value, lr if state["step"] else config.lr)
    save_checkpoint()
    return TrainResult(state["step"], state["best_psnr"], state["best_step"], state["seconds"],
                       state["step"] * config.batch, state["history"])


def _list_state(state: tuple) -> list:
    """Python's random state as nested lists (torch.load(weights_only=True) accepts those)."""
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _tuple_state(state: list) -> tuple:
    version, internal, gauss = state
    return (version, tuple(internal), gauss)
