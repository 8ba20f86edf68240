"""Data-parallel training under torchrun (gloo, 2 CPU processes, a tiny DnCNN, a few steps).

Each test starts real processes with `python -m torch.distributed.run --standalone`, as a user's
`torchrun` would, and reads back what the ranks wrote.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from restore_core.train.distributed import rank_seed, share

TRAIN = ["-r", "dncnn:layers=3,features=8", "-d", "gaussian25", "--dataset", "skimage", "--channels", "3",
         "--patch", "24", "--val-count", "1", "--no-bf16", "--limit", "4", "--crop", "96"]

PROBE = '''
"""Train through TrainJob on this rank; record a hash of the parameters and the loss after every step."""
import hashlib, json, os, sys

import torch

from restore_core.plugins.host import default_host
from restore_core.train.job import TrainJob
from restore_core.train.loop import TrainConfig

out, steps, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
restorer = default_host().registry("restorer").build("dncnn:layers=3,features=8")
networks = []
build = type(restorer).build_network
type(restorer).build_network = lambda self, channels: networks.append(build(self, channels)) or networks[-1]
seen = []

def on_progress(p):
    flat = torch.cat([t.detach().reshape(-1) for t in networks[0].parameters()])
    seen.append({"step": p.step, "loss": p.loss, "params": hashlib.sha256(flat.numpy().tobytes()).hexdigest()})

job = TrainJob(restorer="dncnn:layers=3,features=8", degradation="gaussian25", dataset="skimage",
               out=__import__("pathlib").Path(out) / "w.safetensors", channels=3, val_count=1, limit=4, crop=96,
               config=TrainConfig(patch=24, batch=batch, steps=steps, val_every=steps, bf16=False, seed=0))
job.run(on_progress)
rank = os.environ.get("RANK", "0")
open(os.path.join(out, f"rank{rank}.json"), "w").write(json.dumps(seen))
'''


def _torchrun(procs: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={procs}", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("probe") / "probe.py"
    path.write_text(textwrap.dedent(PROBE))
    return path


def _probe_run(probe: Path, folder: Path, procs: int, steps: int, batch: int) -> list[list[dict]]:
    folder.mkdir()
    done = subprocess.run(_torchrun(procs, str(probe), str(folder), str(steps), str(batch)), env=_env(),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads((folder / f"rank{r}.json").read_text()) for r in range(procs)]


def test_the_ranks_hold_identical_parameters_after_every_step(probe, tmp_path):
    rank0, rank1 = _probe_run(probe, tmp_path / "two", 2, steps=6, batch=8)
    assert [s["step"] for s in rank0] == list(range(1, 7))
    assert [s["params"] for s in rank0] == [s["params"] for s in rank1]
    assert len({s["params"] for s in rank0}) == 6  # the parameters did move every step
    assert [s["loss"] for s in rank0] == [s["loss"] for s in rank1]  # the global batch's loss, on both
    history = json.loads((tmp_path / "two" / "w.history.json").read_text())
    assert history["metadata"]["world_size"] == 2 and history["metadata"]["distributed_backend"] == "gloo"
    assert history["patches_seen"] == 6 * 8  # the global batch is the recipe's, shared by the ranks
    assert not (tmp_path / "two" / "rank1.history.json").exists()


def test_two_processes_learn_like_one_at_the_same_global_batch(probe, tmp_path):
    (one,) = _probe_run(probe, tmp_path / "one", 1, steps=30, batch=16)
    two, _ = _probe_run(probe, tmp_path / "two", 2, steps=30, batch=16)
    first = sum(s["loss"] for s in one[:5]) / 5
    late_one = sum(s["loss"] for s in one[20:]) / 10
    late_two = sum(s["loss"] for s in two[20:]) / 10
    # both learn (the loss falls by far more than the gap between them); other patches, so not equal
    assert late_one < 0.7 * first and late_two < 0.7 * first
    assert abs(late_two - late_one) <= 0.2 * late_one, (late_one, late_two)


def _children(parent: int) -> list[int]:
    """The processes whose parent is `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == parent:
                found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        return (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the rank processes through /proc")
def test_killing_a_rank_ends_the_job_and_the_checkpoint_resumes(tmp_path):
    out, ckpt = tmp_path / "w.safetensors", tmp_path / "run.ckpt"
    args = ["-m", "restore_core", "train", *TRAIN, "--out", str(out), "--batch", "8", "--val-every", "1000",
            "--checkpoint", str(ckpt), "--checkpoint-every", "0"]
    job = subprocess.Popen(_torchrun(2, *args, "--steps", "100000"), env=_env(), stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    try:
        # each phase has its own generous deadline: on a machine busy with other work the start alone
        # (torchrun, then two ranks importing torch) can take minutes, and must not eat the next phase's
        deadline = time.monotonic() + 300
        while not ckpt.is_file() and time.monotonic() < deadline and job.poll() is None:
            time.sleep(0.2)
        assert ckpt.is_file(), f"no checkpoint was written: {job.poll()}, {job.stderr.read() if job.poll() else ''}"
        ranks: list[int] = []
        deadline = time.monotonic() + 120
        while len(ranks) < 2 and time.monotonic() < deadline:  # both ranks past their start
            # the ranks are torchrun's children; anything they start themselves is not a rank
            ranks = [p for p in _children(job.pid) if "restore_core" in _cmdline(p)]
            time.sleep(0.2)
        assert len(ranks) == 2, f"rank processes of torchrun {job.pid}: {ranks}"
        os.kill(ranks[-1], signal.SIGKILL)
        job.wait(timeout=180)
        assert job.returncode != 0
        # no rank outlives the job (torchrun ends the others); allow the kernel a moment to reap them
        deadline = time.monotonic() + 120
        while [p for p in ranks if _alive(p)] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [p for p in ranks if _alive(p)], "a rank outlived the job"
    finally:
        if job.poll() is None:
            job.kill()
    import torch

    saved = torch.load(ckpt, weights_only=True)
    step = saved["state"]["step"]
    assert saved["world_size"] == 2 and len(saved["rank_states"]) == 2 and step >= 1
    again = subprocess.run(_torchrun(2, *args, "--steps", str(step + 3)), env=_env(), capture_output=True,
                           text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr[-2000:]
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert summary["steps"] == step + 3
    # the same checkpoint in a world of one is refused: the two patch streams cannot continue as one
    alone = subprocess.run([sys.executable, "-m", "restore_core", *args[2:], "--steps", str(step + 6)],
                           env=_env(), capture_output=True, text=True, timeout=300, check=False)
    assert alone.returncode == 2 and "written by 2 process(es)" in alone.stderr


def test_shares_and_seeds():
    assert [share(10, 3, r) for r in range(3)] == [4, 3, 3] and sum(share(32, 2, r) for r in range(2)) == 32
    assert rank_seed(7, 0) == 7 and len({rank_seed(7, r) for r in range(4)}) == 4
    from restore_core.errors import UsageError

    with pytest.raises(UsageError, match="cannot be shared by 4 processes"):
        share(2, 4, 0)
