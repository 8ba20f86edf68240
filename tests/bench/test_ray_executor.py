"""`--executor ray`: the same records as a serial run, the driver alone writing the store, and a
worker that dies mid-cell costing only its unfinished images.

Runs on a local Ray instance of 2 CPUs, started once for the module. The dying worker's restorer
comes from a plugin that the workers find through PYTHONPATH (a package folder with its own
entry-point metadata, as pip would install it), since Ray workers are fresh processes.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'restore-framework[ray]'")

from restore_core.bench.plan import BenchPlan  # noqa: E402
from restore_core.bench.runner import run_plan  # noqa: E402
from restore_core.bench.store import read_results  # noqa: E402
from restore_core.plugins.host import PluginHost  # noqa: E402

PLUGIN = '''
"""A restorer that kills its own worker process once, on its third call (the second image's)."""
import os
from pathlib import Path

from restore_core import DENOISING, Restorer, hookimpl


class DiesOnce(Restorer):
    """Identity, except that the first process to make its third call dies there."""

    name = "dies-once"
    description = "identity whose worker dies once (test plugin)"
    tasks = frozenset({DENOISING})

    def __init__(self) -> None:
        self.calls = 0

    def restore(self, degraded, info):
        """Return the input clipped; die on the third call while the marker file is absent."""
        self.calls += 1
        marker = Path(os.environ["DIES_ONCE_MARKER"])
        if self.calls == 3 and not marker.exists():
            marker.write_text("died")
            os._exit(1)
        return degraded.clamp(0, 1)


@hookimpl
def register_restorers(register):
    """Register dies-once."""
    register(DiesOnce)
'''


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plugin")
    (root / "dies_once_plugin.py").write_text(textwrap.dedent(PLUGIN))
    info = root / "dies_once_plugin-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dies-once-plugin\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[restore.plugins]\ndies_once = dies_once_plugin\n")
    return root


@pytest.fixture(scope="module")
def local_ray(plugin_dir, tmp_path_factory):
    import os

    marker = tmp_path_factory.mktemp("marker") / "died"
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "DIES_ONCE_MARKER")}
    # the local instance's workers inherit this environment
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_dir), saved["PYTHONPATH"]]))
    os.environ["DIES_ONCE_MARKER"] = str(marker)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        yield marker
    finally:
        ray.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _numbers(rows: list[dict]) -> list[tuple]:
    return [(r["restorer"], r["degradation"], r["images"], r["psnr"], r["ssim"], r["psnr_input"], r["skipped"])
            for r in rows]


def _lines(run: Path) -> list[str]:
    """A store's records, measurements aside, in a canonical order."""
    measured = ("seconds", "peak_extra_memory_mib")
    return sorted(json.dumps({k: v for k, v in r.items() if k not in measured}, sort_keys=True)
                  for r in read_results(run))


def test_ray_gives_the_serial_records(local_ray, tmp_path):
    plan = BenchPlan.from_specs("nlm,identity,bicubic", "gaussian25,x2", "skimage", limit=3, crop=48)
    serial = run_plan(plan, tmp_path / "serial")
    distributed = run_plan(plan, tmp_path / "ray", executor="ray")
    assert _numbers(distributed.rows()) == _numbers(serial.rows())
    assert _lines(tmp_path / "ray") == _lines(tmp_path / "serial")
    assert json.loads((tmp_path / "ray" / "manifest.json").read_text())["executor"] == "ray"
    assert list((tmp_path / "ray" / "samples").rglob("info.json"))  # the driver draws the tiles


def test_a_dead_worker_reruns_only_its_unfinished_images(local_ray, plugin_dir, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_dir))
    host = PluginHost(strict=True)
    host.load_entry_points()
    plan = BenchPlan.from_specs("dies-once", "gaussian25", "skimage", limit=3, crop=32)
    result = run_plan(plan, tmp_path / "run", host=host, executor="ray")
    assert local_ray.exists(), "the worker did not die: the test proves nothing"
    assert result.cells[0].images == 3 and not result.cells[0].failed
    images = [r["image"] for r in read_results(tmp_path / "run")]
    # the first image was measured before the worker died and is not measured again
    assert sorted(images) == sorted(set(images)) and len(images) == 3


def test_a_large_cell_is_split_into_image_shards(local_ray, tmp_path, monkeypatch):
    import restore_core.bench.ray_executor as executor

    monkeypatch.setattr(executor, "SHARD_IMAGES", 2)
    plan = BenchPlan.from_specs("identity", "gaussian25", "skimage", limit=5, crop=32)
    built = plan.build()
    assert [t.plan.shard for t in executor.shard_tasks(built, False)] == [(0, 3), (1, 3), (2, 3)]
    result = run_plan(plan, tmp_path / "run", executor="ray")
    assert result.cells[0].images == 5
    assert sorted(r["image"] for r in read_results(tmp_path / "run")) == sorted(
        r.image_id for r in built.datasets[0].records)
