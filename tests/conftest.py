"""Shared fixtures: the plugin host, tiny images and a scratch plugin registered for one test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from tests_support import SHARED

from restore_core.plugins.host import PluginHost, default_host


@pytest.fixture(autouse=True)
def _runs_in_tmp(tmp_path_factory, monkeypatch) -> None:
    """Benchmark runs a test makes without --out go to a temporary folder, not the checkout."""
    monkeypatch.setenv("RESTORE_RUNS", str(tmp_path_factory.mktemp("runs")))


@pytest.fixture(scope="session")
def host() -> PluginHost:
    """The process-wide host with every installed plugin."""
    return default_host()


@pytest.fixture
def fresh_host() -> Iterator[PluginHost]:
    """A host of its own, loaded from entry points, that a test may add plugins to."""
    h = PluginHost(strict=False)
    h.load_entry_points()
    yield h


@pytest.fixture
def clean_rgb() -> torch.Tensor:
    """A smooth 1x3x48x48 image in [0, 1] with some edges."""
    y, x = torch.meshgrid(torch.linspace(0, 1, 48), torch.linspace(0, 1, 48), indexing="ij")
    img = torch.stack([x, y, (x + y) / 2]) * 0.8 + 0.1
    img[:, 16:32, 16:32] = 0.9
    return img.unsqueeze(0)


def shared_set(relative: str) -> Path:
    """Return a folder of the shared datasets, skipping the test with a reason when absent."""
    path = SHARED / relative
    if not path.is_dir():
        pytest.skip(f"shared dataset {relative!r} not found under {SHARED} (set RESTORE_DATA)")
    return path


@pytest.fixture
def shared_data():
    """The `shared_set` lookup as a fixture: `shared_data("test/set5")` or skip."""
    return shared_set
