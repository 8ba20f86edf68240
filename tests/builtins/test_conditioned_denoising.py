"""The noise-level-conditioned denoiser (`fdncnn`), the degradations that disclose a noise map
(`gaussian-range`, `gaussian-ramp`) and plug-and-play restoration (`pnp`) built on them."""

from __future__ import annotations

import itertools

import pytest
import torch
from click.testing import CliRunner
from restore_builtins.dncnn_network import ConditionedDnCNNNetwork
from restore_builtins.plug_and_play import (
    cg_data_step,
    denoiser_levels,
    fft_data_step,
    transfer_function,
)
from restore_builtins.unet_network import ConditionedUNetNetwork

from restore_core import DENOISING, DegradationInfo
from restore_core.cli import cli
from restore_core.components.metric_protocol import psnr
from restore_core.components.operators import BicubicDown, CircularConvolution
from restore_core.plugins.host import default_host
from restore_core.train.loop import TrainConfig, train
from restore_core.train.weights import WeightsError, read_state

HOST = default_host()


def _gens(*seeds: int) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(s) for s in seeds]


# --- degradations that disclose their noise map --------------------------------------------------


def test_gaussian_range_discloses_each_images_sigma_as_its_map():
    deg = HOST.registry("degradation").build("gaussian-range:sigma_min=10,sigma_max=60")
    clean = torch.full((3, 1, 128, 128), 0.5)
    out = deg.degrade(clean, _gens(1, 2, 3))
    noise_map = out.info.params["noise_map"]
    assert noise_map.shape == (3, 1, 128, 128) and out.info.sigma is None
    for i in range(3):
        sigma = float(noise_map[i, 0, 0, 0])
        assert 10 <= sigma <= 60 and bool((noise_map[i] == sigma).all())
        measured = float((out.image[i] - clean[i]).std()) * 255
        assert measured == pytest.approx(sigma, rel=0.05)
    # image 1's noise depends on its own generator only, not on its place in the batch
    alone = deg.degrade(clean[:1], _gens(2))
    assert torch.equal(alone.image[0], out.image[1])


def test_gaussian_ramp_rises_from_left_to_right():
    deg = HOST.registry("degradation").build("gaussian-ramp:sigma_min=5,sigma_max=50")
    clean = torch.full((1, 1, 512, 200), 0.5)
    out = deg.degrade(clean, _gens(0))
    noise_map = out.info.params["noise_map"][0, 0]
    assert float(noise_map[0, 0]) == pytest.approx(5) and float(noise_map[0, -1]) == pytest.approx(50)
    assert bool((noise_map == noise_map[:1]).all())  # constant down each column
    noise = (out.image - clean)[0, 0] * 255
    assert float(noise[:, :10].std()) == pytest.approx(float(noise_map[0, :10].mean()), rel=0.1)
    assert float(noise[:, -10:].std()) == pytest.approx(float(noise_map[0, -10:].mean()), rel=0.1)


# --- fdncnn and drunet ----------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(("spec", "kind"), [("fdncnn:layers=5,features=8", ConditionedDnCNNNetwork),
                                            ("drunet:features=4,levels=2,blocks=1", ConditionedUNetNetwork)])
def test_warm_started_from_its_unconditioned_parent_it_computes_exactly_what_that_does_whatever_the_map(
        spec, kind, channels):
    torch.manual_seed(0)
    restorer = HOST.registry("restorer").build(spec)
    parent = restorer.build_parent(channels).eval()  # the DnCNN / the U-Net of the same shape
    with torch.no_grad():  # a parent that is not the identity, so equality says something
        for parameter in parent.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    network = restorer.build_network(channels)
    restorer.warm_start(network, parent.state_dict(), torch.rand(2, channels + 1, 16, 16))
    network.eval()
    x = torch.rand(2, channels, 24, 20)
    with torch.no_grad():
        assert not torch.allclose(parent(x), x, atol=1e-3)
        for sigma in (0.0, 25.0, 75.0):
            out = restorer.run_network(network, x, DegradationInfo(DENOISING, sigma=sigma))
            assert torch.equal(out, parent(x))
    assert isinstance(network, kind)
    assert network.get_parameter(restorer.INPUT_WEIGHT).shape[1] == channels + 1
    # its own trained weights load as they are, the map's weights included
    again = restorer.build_network(channels)
    restorer.warm_start(again, network.state_dict(), torch.rand(2, channels + 1, 16, 16))
    mine, theirs = again.state_dict(), network.state_dict()
    assert mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)


@pytest.mark.parametrize("spec", ["fdncnn:layers=4,features=8", "drunet:features=4,levels=2,blocks=1"])
def test_a_colour_model_warm_started_from_its_gray_twin_denoises_the_channel_mean_as_the_gray_one_does(spec):
    torch.manual_seed(0)
    restorer = HOST.registry("restorer").build(spec)
    gray = restorer.build_network(1).eval()
    with torch.no_grad():  # a map that matters and a noise estimate that is not zero
        for parameter in gray.parameters():
            parameter.add_(0.2 * torch.randn_like(parameter))
    colour = restorer.build_network(3)
    restorer.warm_start(colour, gray.state_dict(), torch.rand(2, 4, 16, 16))
    colour.eval().double(), gray.double()  # float64: rounding cannot flip a ReLU
    x = torch.rand(2, 3, 24, 20, dtype=torch.float64)
    mean = x.mean(dim=1, keepdim=True)
    with torch.no_grad():
        for sigma in (5.0, 25.0, 75.0):
            out = restorer.run_network(colour, x, DegradationInfo(DENOISING, sigma=sigma))
            found = mean - restorer.run_network(gray, mean, DegradationInfo(DENOISING, sigma=sigma / 3**0.5))
            assert float(found.abs().mean()) > 1e-2
            # to float32 rounding (the weights were divided in float32), relative to the size of the output
            torch.testing.assert_close(out, x - found, rtol=0, atol=1e-6 * float(found.abs().max()))


def test_gray_weights_of_another_shape_are_refused_for_a_colour_model_in_one_line():
    restorer = HOST.registry("restorer").build("drunet:features=4,levels=2,blocks=1")
    other = HOST.registry("restorer").build("drunet:features=8,levels=2,blocks=1").build_network(1)
    with pytest.raises(WeightsError, match="gray weights do not fit"):
        restorer.warm_start(restorer.build_network(3), other.state_dict(), torch.rand(2, 4, 16, 16))


@pytest.mark.parametrize("name", ["fdncnn", "drunet"])
def test_the_noise_level_comes_from_the_option_then_the_map_then_the_info(name):
    x = torch.rand(2, 1, 8, 6)
    ramp = torch.linspace(5, 50, 6).view(1, 1, 1, 6).expand(2, 1, 8, 6)
    told = DegradationInfo(DENOISING, sigma=15.0, params={"noise_map": ramp})
    build = HOST.registry("restorer").build
    fifteen = DegradationInfo(DENOISING, sigma=15.0)
    assert torch.equal(build(name).noise_map(x, fifteen), torch.full((2, 1, 8, 6), 15.0))
    assert torch.equal(build(name).noise_map(x, told), ramp)
    assert torch.equal(build(f"{name}:sigma=30").noise_map(x, told), torch.full((2, 1, 8, 6), 30.0))
    noisy = torch.rand(1, 1, 64, 64, generator=torch.Generator().manual_seed(0)) * 0.1 + 0.45
    noisy = noisy + torch.randn(1, 1, 64, 64, generator=torch.Generator().manual_seed(1)) * (20 / 255)
    estimated = float(build(f"{name}:sigma=auto").noise_map(noisy, told)[0, 0, 0, 0])
    assert estimated == pytest.approx(20, rel=0.25)


@pytest.mark.parametrize("name", ["fdncnn", "drunet"])
def test_without_a_noise_level_it_declines_and_names_sigma_auto(name):
    restorer = HOST.registry("restorer").build(name)
    reason = restorer.supports(DegradationInfo(DENOISING), 3)
    assert reason is not None and "sigma=auto" in reason
    assert HOST.registry("restorer").build(f"{name}:sigma=auto").supports(DegradationInfo(DENOISING), 3) is None
    assert restorer.supports(DegradationInfo(DENOISING, sigma=10.0), 1) is None


def _images() -> list[torch.Tensor]:
    data = HOST.registry("dataset").build("skimage-gray").cropped(64)
    return [(data.load(i)[0] * 255).round().to(torch.uint8) for i in range(len(data))]


def _train(tmp_path, steps: int, checkpoint=None):
    images = _images()
    return train(HOST.registry("restorer").build("fdncnn:layers=3,features=8"),
                 HOST.registry("degradation").build("gaussian-range"), images[:-2], images[-2:], 1,
                 TrainConfig(patch=24, batch=2, steps=steps, val_every=2, bf16=False, checkpoint_seconds=0),
                 tmp_path / "w.safetensors", {}, checkpoint=checkpoint)


def test_training_stopped_midway_resumes_to_the_weights_of_an_uninterrupted_run(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    straight = _train(tmp_path / "a", 4)
    checkpoint = tmp_path / "b" / "run.ckpt"
    _train(tmp_path / "b", 2, checkpoint)  # the first half: a run stopped after step 2
    resumed = _train(tmp_path / "b", 4, checkpoint)
    timeless = [[{k: v for k, v in h.items() if k != "seconds"} for h in run.history] for run in (resumed, straight)]
    assert timeless[0] == timeless[1] and len(timeless[0]) == 2
    a, b = read_state(tmp_path / "a" / "w.safetensors"), read_state(tmp_path / "b" / "w.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert a["body.0.weight"].shape[1] == 2  # the image and its noise map


# --- plug-and-play -----------------------------------------------------------------------------------


def test_denoiser_levels_fall_geometrically_to_the_noise_level():
    levels = denoiser_levels(8, 49.0, 2.55)
    assert levels[0] == pytest.approx(49) and levels[-1] == pytest.approx(2.55)
    ratios = [b / a for a, b in itertools.pairwise(levels)]
    assert max(ratios) == pytest.approx(min(ratios)) and max(ratios) < 1
    assert denoiser_levels(1, 49.0, 3.0) == [3.0]


def test_the_fft_data_step_is_the_exact_solution_the_conjugate_gradients_converge_to():
    from restore_builtins.blur import make_kernel

    kernel = torch.from_numpy(make_kernel("motion", None, 1.6, 9.0, 30.0)).float()
    blur = CircularConvolution(kernel)
    x = torch.rand(1, 2, 40, 48, generator=torch.Generator().manual_seed(0))
    otf = transfer_function(kernel, 40, 48)
    assert float((torch.fft.ifft2(otf * torch.fft.fft2(x.double())).real.float() - blur(x)).abs().max()) < 1e-5
    y, z = blur(x), torch.rand_like(x)
    exact = fft_data_step(y, z, otf, 0.05)
    solved = cg_data_step(y, z, blur, blur.transposed(), 0.05, steps=300, tolerance=1e-12)
    assert float((exact - solved).abs().max()) < 1e-4
    # the solution satisfies the normal equations
    residual = blur.transposed()(blur(exact)) + 0.05 * exact - blur.transposed()(y) - 0.05 * z
    assert float(residual.abs().max()) < 1e-4


def test_cg_data_step_solves_the_super_resolution_normal_equations():
    down = BicubicDown(2)
    x = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    y, z = down(x), torch.rand_like(x)
    solved = cg_data_step(y, z, down, down.transposed(), 0.1, steps=200, tolerance=1e-10)
    residual = down.transposed()(down(solved)) + 0.1 * solved - down.transposed()(y) - 0.1 * z
    assert float(residual.abs().max()) < 1e-4


def test_pnp_refuses_a_denoiser_that_is_not_conditioned_in_one_line():
    result = CliRunner().invoke(cli, ["bench", "-r", "pnp:denoiser=dncnn", "-d", "blur:noise=2.55", "--limit", "1",
                                      "--crop", "64"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "noise-level-conditioned" in result.output


def test_pnp_declines_a_degradation_without_a_linear_operator():
    pnp = HOST.registry("restorer").build("pnp:denoiser=nlm")
    jpeg = HOST.registry("degradation").build("jpeg:quality=20").degrade(torch.rand(1, 1, 16, 16), _gens(0)).info
    assert pnp.supports(jpeg, 1) is not None
    blur = HOST.registry("degradation").build("blur:noise=2.55").degrade(torch.rand(1, 1, 32, 32), _gens(0)).info
    assert pnp.supports(blur, 1) is None


@pytest.mark.parametrize("degradation", ["blur:kernel=gaussian,sigma=1.6,noise=2.55", "x2"])
def test_pnp_with_a_classical_conditioned_denoiser_beats_the_degraded_input(degradation):
    """pnp is generic over its denoiser: NLM (sigma known, any level) as the prior already helps."""
    from restore_core.imaging.resize import bicubic_resize

    data = HOST.registry("dataset").build("skimage-gray").cropped(96)
    clean = data.load(0)
    degraded = HOST.registry("degradation").build(degradation).degrade(clean, _gens(0))
    out = HOST.registry("restorer").build("pnp:denoiser=nlm,iterations=4").restore(degraded.image, degraded.info)
    baseline = degraded.image.clamp(0, 1)
    if degraded.info.scale > 1:
        baseline = bicubic_resize(baseline, *degraded.target.shape[-2:])
    assert out.shape == degraded.target.shape
    gain = float(psnr(out.double(), degraded.target.double())[0] - psnr(baseline.double(), degraded.target.double())[0])
    assert gain > 0.3, gain
