"""Data-parallel training under `torchrun`: which process this is, and what the ranks agree on.

`torchrun --nproc-per-node N -m restore_core train ...` starts N processes with RANK, WORLD_SIZE,
LOCAL_RANK and a rendezvous address in their environment (read in `restore_core.system.settings`);
`restore train` then runs as one rank of a `torch.distributed` group (gloo on the CPU, nccl on CUDA)
and wraps its network in DistributedDataParallel, which averages gradients every step. Without those
variables a run is a world of one and none of this is used.

Invariants, each relied on by the training loop:

- The global batch is the recipe's batch: rank r takes `share(batch, size, r)` patches (the
  remainder to the first ranks), so the learning-rate schedule is the same at any world size.
- Rank r draws its patches from `rank_seed(seed, r)`, so a run is reproducible for a given world
  size (and a world of one draws exactly what a plain run draws).
- Only rank 0 validates and writes weights, history, model card and checkpoints; every decision
  that ends or shapes the run (stop, checkpoint now) is made by rank 0 and broadcast, so no rank
  can leave the loop alone and hang the others in a collective.
- A checkpoint holds every rank's random state and the world size it was written by; resuming it at
  another world size is refused, since the patch streams would no longer continue.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from restore_core.errors import UsageError
from restore_core.system import settings


@dataclass(frozen=True)
class World:
    """This process's place in the training group."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    backend: str | None = None  # gloo or nccl once the group is up; None for a world of one

    @property
    def main(self) -> bool:
        """Whether this rank writes files and makes the decisions."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Whether there is more than one rank."""
        return self.size > 1


def rank_seed(seed: int, rank: int) -> int:
    """The seed of rank `rank`'s patch stream: the run's seed itself for rank 0."""
    if rank == 0:
        return seed
    digest = hashlib.sha256(f"{seed}\x1frank\x1f{rank}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & (2**63 - 1)


def share(batch: int, size: int, rank: int) -> int:
    """How many of a global batch of `batch` patches rank `rank` of `size` takes."""
    if batch < size:
        raise UsageError(f"a batch of {batch} patches cannot be shared by {size} processes; "
                         f"use --batch {size} or more")
    return batch // size + (1 if rank < batch % size else 0)


_current = World()


def current() -> World:
    """The world the last `start` joined (a world of one before any)."""
    return _current


def start(device: str = "cpu") -> World:
    """Join the group torchrun set up (gloo on the CPU, nccl on CUDA); a world of one without torchrun."""
    global _current
    found = settings.torchrun_world()
    if found is None:
        _current = World()
        return _current
    rank, size, local_rank = found
    if size == 1:
        _current = World(rank, size, local_rank)
        return _current
    import torch.distributed as dist

    backend = "nccl" if device == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    _current = World(rank, size, local_rank, backend)
    return _current


def barrier(world: World) -> None:
    """Wait until every rank gets here: called once a job has succeeded, before the group is left, so no
    rank tears gloo down while another still talks to it (a rank then aborted with "terminate called
    without an active exception"); not on the error path, where a rank that failed would never arrive."""
    if world.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.barrier()


def stop(world: World) -> None:
    """Leave the group (after the last collective)."""
    if world.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def decide(world: World, value: Any) -> Any:
    """Rank 0's `value`, on every rank (a stop or checkpoint decision)."""
    if not world.distributed:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(world: World, value: Any) -> list[Any]:
    """Every rank's `value`, in rank order, on every rank (random states for a checkpoint)."""
    if not world.distributed:
        return [value]
    import torch.distributed as dist

    out: list[Any] = [None] * world.size
    dist.all_gather_object(out, value)
    return out


def mean(world: World, value: float) -> float:
    """The mean of a float over the ranks (the global batch's loss, for the history)."""
    if not world.distributed:
        return value
    import torch
    import torch.distributed as dist

    total = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(total)
    return float(total[0]) / world.size
