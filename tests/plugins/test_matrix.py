"""The contract matrix: every registered degradation, restorer and metric, third-party ones included."""

from __future__ import annotations

import pytest
import torch

from restore_core.components.interfaces import Metric
from restore_core.components.network_restorer import NetworkRestorer
from restore_core.errors import WeightsNotFoundError
from restore_core.imaging.resize import bicubic_resize
from restore_core.plugins.host import default_host
from restore_core.testing import conformance_suite

HOST = default_host()
DEGRADATIONS = [r.name for r in HOST.registry("degradation")]
RESTORERS = [r.name for r in HOST.registry("restorer")]
METRICS = [r.name for r in HOST.registry("metric")]


def gens(n: int, seed: int = 0) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(seed + i) for i in range(n)]


def natural_crop(channels: int, size: int = 96) -> torch.Tensor:
    """A crop of a real photograph, so learned restorers see what they were trained for."""
    ds = HOST.registry("dataset").build("skimage-gray" if channels == 1 else "skimage")
    index = next(i for i, r in enumerate(ds.records) if r.image_id == "astronaut")
    return ds.load(index)[..., 180 : 180 + size, 180 : 180 + size].contiguous()


def test_the_builtins_are_registered() -> None:
    assert {"gaussian", "bicubic-down"} <= set(DEGRADATIONS)
    assert {"identity", "bicubic", "dncnn", "srcnn"} <= set(RESTORERS)
    assert {"psnr", "ssim"} <= set(METRICS)


#: the conformance kit over every installed component: what a plugin author runs on theirs
TestConformance = conformance_suite()


@pytest.mark.parametrize("name", [n for n in RESTORERS
                                  if isinstance(HOST.registry("restorer").build(n), NetworkRestorer)])
def test_every_network_restorer_ships_weights_for_its_defaults(name: str) -> None:
    restorer: NetworkRestorer = HOST.registry("restorer").build(name)
    served = []
    for degradation in DEGRADATIONS:
        for channels in (1, 3):
            info = HOST.registry("degradation").build(degradation).degrade(natural_crop(channels, 24), gens(1)).info
            if restorer.supports(info, channels) is None:
                path = restorer.weights_path(info, channels)
                served.append(path is not None and path.is_file())
    assert served and any(served), f"{name} ships no weights for any default degradation and channel count"


@pytest.mark.parametrize("name", [n for n in RESTORERS
                                  if isinstance(HOST.registry("restorer").build(n), NetworkRestorer)])
@pytest.mark.parametrize("degradation", DEGRADATIONS)
@pytest.mark.parametrize("channels", [1, 3])
def test_restorer_with_weights_beats_the_reference(name: str, degradation: str, channels: int) -> None:
    restorer: NetworkRestorer = HOST.registry("restorer").build(name)
    deg = HOST.registry("degradation").build(degradation)
    clean = natural_crop(channels)
    degraded = deg.degrade(clean, gens(1))
    if restorer.supports(degraded.info, channels) is not None:
        return
    try:
        restorer.prepare(degraded.info, channels)
    except WeightsNotFoundError as exc:
        # weights are shipped per channel count; where there are none, the error must say how to train them
        assert "restore train" in str(exc) and f"--channels {channels}" in str(exc)
        return
    metric: Metric = HOST.registry("metric").build("psnr")
    out = restorer.restore(degraded.image, degraded.info)
    if degraded.info.scale == 1:
        reference = degraded.image.clamp(0, 1)
    else:
        h, w = degraded.image.shape[-2:]
        scale = degraded.info.scale
        reference = bicubic_resize(degraded.image, h * scale, w * scale).clamp(0, 1)
    gain = metric.measure(out, degraded.target, degraded.info) - metric.measure(reference, degraded.target,
                                                                               degraded.info)
    assert float(gain[0]) > 0.3, f"{name} gains only {float(gain[0]):.2f} dB on {degradation}"


