"""The contract matrix: every registered degradation, restorer and metric, third-party ones included."""

from __future__ import annotations

import pytest
import torch

from restore_core.errors import WeightsNotFoundError
from restore_core.interfaces import Degradation, Metric, Restorer
from restore_core.network_restorer import NetworkRestorer
from restore_core.plugin_host import default_host
from restore_core.resize import bicubic_resize

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


@pytest.mark.parametrize("name", DEGRADATIONS)
@pytest.mark.parametrize("channels", [1, 3])
def test_degradation_contract(name: str, channels: int, clean_rgb: torch.Tensor) -> None:
    deg: Degradation = HOST.registry("degradation").build(name)
    clean = clean_rgb[:, :channels].repeat(2, 1, 1, 1)
    out = deg.degrade(clean, gens(2))
    assert out.image.dtype == torch.float32 and out.target.dtype == torch.float32
    assert out.image.ndim == 4 and out.image.shape[:2] == clean.shape[:2]
    scale = out.info.scale
    assert out.target.shape[-2:] == (out.image.shape[-2] * scale, out.image.shape[-1] * scale)
    assert out.info.task == deg.task
    again = deg.degrade(clean, gens(2))
    assert torch.equal(out.image, again.image), "same generators must give the same degradation"
    # image 1 degraded alone equals image 1 degraded in a batch: no dependence on batch order
    alone = deg.degrade(clean[1:], gens(1, seed=1))
    assert torch.equal(alone.image[0], out.image[1])


@pytest.mark.parametrize("name", RESTORERS)
@pytest.mark.parametrize("degradation", DEGRADATIONS)
@pytest.mark.parametrize("channels", [1, 3])
def test_restorer_contract(name: str, degradation: str, channels: int) -> None:
    restorer: Restorer = HOST.registry("restorer").build(name)
    deg = HOST.registry("degradation").build(degradation)
    clean = natural_crop(channels, 48)
    degraded = deg.degrade(clean, gens(1))
    reason = restorer.supports(degraded.info, channels)
    if reason is not None:
        assert isinstance(reason, str) and reason
        return
    out = restorer.restore(degraded.image, degraded.info)
    assert out.shape == degraded.target.shape
    assert out.dtype == torch.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert torch.equal(out, restorer.restore(degraded.image, degraded.info)), "restoring is deterministic"


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
        pytest.fail(f"{name} ships no weights for its default {degradation}: {exc}")
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


@pytest.mark.parametrize("name", METRICS)
def test_metric_contract(name: str, host, clean_rgb: torch.Tensor) -> None:
    metric: Metric = host.registry("metric").build(name)
    deg = host.registry("degradation").build("gaussian")
    pair = clean_rgb.repeat(2, 1, 1, 1)
    info = deg.degrade(pair, gens(2)).info
    mild = (pair + 0.02 * torch.randn(pair.shape, generator=gens(1)[0])).clamp(0, 1)
    strong = (pair + 0.2 * torch.randn(pair.shape, generator=gens(1)[0])).clamp(0, 1)
    values = metric.measure(mild, pair, info)
    assert values.shape == (2,) and values.dtype == torch.float64
    better, worse = metric.measure(mild, pair, info), metric.measure(strong, pair, info)
    sign = 1 if metric.higher_is_better else -1
    assert bool((sign * (better - worse) > 0).all()), "more noise must score worse"
    assert torch.equal(metric.measure(mild, pair, info), values), "scoring is deterministic"
