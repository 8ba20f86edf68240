"""The residual U-Net denoiser: any input size, a declared receptive field that holds, exact tiling."""

from __future__ import annotations

import pytest
import torch

from restore_core.imaging.tiling import receptive_radius, run_tiled, size_multiple, tile_starts
from restore_core.plugins.host import default_host

HOST = default_host()


def _network(channels: int = 1, **kw) -> torch.nn.Module:
    spec = "unet:" + ",".join(f"{k}={v}" for k, v in {"features": 8, "levels": 2, "blocks": 1, **kw}.items())
    torch.manual_seed(0)
    network = HOST.registry("restorer").build(spec).build_network(channels).eval()
    with torch.no_grad():  # full-sized residuals: the 0.1-scaled initial ones would hide mistakes
        for name, p in network.named_parameters():
            if name.endswith("conv2.weight") or name.startswith("tail"):
                p.mul_(10.0)
    return network


@pytest.mark.parametrize("size", [(1, 1), (5, 7), (33, 64), (64, 31)])
def test_any_size_in_same_size_out(size):
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        assert _network(3)(x).shape == x.shape


@pytest.mark.parametrize("levels,blocks", [(1, 1), (2, 1), (3, 2)])
def test_declared_receptive_radius_bounds_the_real_one(levels, blocks):
    network = _network(levels=levels, blocks=blocks)
    radius = receptive_radius(network)
    size = 2 * radius + 40
    x = torch.rand(1, 1, size, size)
    centre = size // 2
    with torch.no_grad():
        before = network(x)
        x[..., centre, centre] += 1.0
        changed = (network(x) - before).abs()[0, 0] > 0
    ys, xs = torch.nonzero(changed, as_tuple=True)
    reach = int(max((ys - centre).abs().max(), (xs - centre).abs().max()))
    assert radius // 2 < reach <= radius  # a bound, and not a uselessly loose one


@pytest.mark.parametrize("size", [(300, 260), (257, 300)])
def test_tiled_equals_untiled_on_the_downsampling_grid(size):
    network = _network(3)
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        whole = network(x)
        tiled = run_tiled(network, x, tile=130, margin=receptive_radius(network), align=size_multiple(network))
        misaligned = run_tiled(network, x, tile=130, margin=receptive_radius(network), align=1)
    scale = float(whole.abs().max())  # random weights give outputs far from [0, 1]: compare relatively
    assert float((tiled - whole).abs().max()) <= 1e-6 * scale
    assert float((misaligned - whole).abs().max()) > 1e-3 * scale  # why the tiles must start on the grid


def test_aligned_tile_starts_cover_the_image():
    for length, tile, overlap, align in [(300, 128, 84, 4), (1000, 256, 40, 8), (130, 128, 20, 8)]:
        starts = tile_starts(length, tile, overlap, align)
        assert all(s % align == 0 for s in starts) and starts[0] == 0
        assert starts[-1] + tile + align - 1 >= length and starts[-1] + tile <= length + align - 1


def test_restores_through_the_restorer_interface(tmp_path):
    from restore_core.components.interfaces import DENOISING, DegradationInfo
    from restore_core.train.weights import save_weights

    model = HOST.registry("restorer").build("unet:features=8,levels=2,blocks=1")
    info = DegradationInfo(DENOISING, sigma=25)
    path = tmp_path / "w.safetensors"
    save_weights(path, _network(1), {"key": model.weights_key(info, 1)})
    model = HOST.registry("restorer").build(f"unet:features=8,levels=2,blocks=1,weights={path}")
    model.configure_inference(tile=96)
    x = torch.rand(1, 1, 150, 190) * 0.01  # small input, so the clipped output is not all 0 or 1
    tiled = model.restore(x, info)
    model.configure_inference(tile=0)
    whole = model.restore(x, info)
    assert float((whole > 0).float().mean()) > 0.05 and float((whole < 1).float().mean()) > 0.05
    assert float((tiled - whole).abs().max()) <= 1e-5
    assert model.supports(DegradationInfo(DENOISING), 1) is not None  # non-blind needs sigma
