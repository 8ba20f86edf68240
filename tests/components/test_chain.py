"""Degradation chains (`a+b`): the grammar, sub-seeds, merged info, and the same images in bench,
`restore run --degrade` and training."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from tests_support import write_crops

from restore_core.bench.plan import BenchPlan
from restore_core.bench.runner import run_plan
from restore_core.components.chain import Chain, merge_infos
from restore_core.components.interfaces import (
    DEBLOCKING,
    DEBLURRING,
    DENOISING,
    SUPER_RESOLUTION,
    DegradationInfo,
)
from restore_core.errors import SpecError
from restore_core.imaging.io import read_image
from restore_core.plugins.registry import split_chain
from restore_core.plugins.specs import split_specs
from restore_core.restoring import restore_files
from restore_core.testing import check_degradation, generators, natural_image
from restore_core.train.loop import TrainConfig, _sample_patches, training_batch

CHAIN = "gaussian15+jpeg:quality=30"


def test_the_plus_grammar_lives_inside_the_comma_grammar():
    assert split_specs([f"{CHAIN},blur:kernel=gaussian,sigma=1.6+gaussian5,identity"]) == [
        CHAIN, "blur:kernel=gaussian,sigma=1.6+gaussian5", "identity"]
    assert split_chain("blur:kernel=gaussian,sigma=1.6+gaussian5") == ["blur:kernel=gaussian,sigma=1.6", "gaussian5"]
    assert split_chain("gaussian:sigma=1e+1") == ["gaussian:sigma=1e+1"]  # `+` before a digit is a value
    with pytest.raises(SpecError, match="stage is empty"):
        split_chain("+jpeg30")


def test_a_chain_builds_prints_its_spec_and_rebuilds(host):
    chain = host.registry("degradation").build(CHAIN)
    assert isinstance(chain, Chain) and [s.name for s in chain.stages] == ["gaussian", "jpeg"]
    assert chain.spec() == "gaussian:sigma=15,clip=false+jpeg:quality=30,subsampling=420"
    assert chain.short_spec() == "gaussian:sigma=15+jpeg:quality=30"
    assert host.registry("degradation").build(chain.spec()).spec() == chain.spec()
    with pytest.raises(SpecError, match="quality must be an integer from 1 to 100"):
        host.registry("degradation").build("gaussian15+jpeg:quality=0")


@pytest.mark.parametrize("spec", [CHAIN, "blur:kernel=box+gaussian5", "x2+gaussian5+jpeg:quality=50",
                                  "blur-down:scale=2+jpeg40"])
@pytest.mark.parametrize("channels", [1, 3])
def test_chains_pass_the_degradation_contract(host, spec, channels):
    check_degradation(host.registry("degradation").build(spec), channels)


def test_each_stage_draws_from_its_own_sub_seed(host):
    registry = host.registry("degradation")
    chain, noise = registry.build("gaussian15+gaussian5"), registry.build("gaussian15")
    clean = natural_image(1, 32)
    g = torch.Generator().manual_seed(7)
    seeds = torch.randint(0, 2**63 - 1, (2,), generator=torch.Generator().manual_seed(7)).tolist()
    first = noise.degrade(clean, [torch.Generator().manual_seed(seeds[0])]).image
    second = registry.build("gaussian5").degrade(first, [torch.Generator().manual_seed(seeds[1])]).image
    assert torch.equal(chain.degrade(clean, [g]).image, second)


def test_the_merged_info_follows_the_documented_rules(host):
    registry = host.registry("degradation")

    def info(spec: str) -> DegradationInfo:
        return registry.build(spec).degrade(natural_image(1, 48), generators(1)).info

    jpeg = info(CHAIN)
    assert (jpeg.task, jpeg.sigma, dict(jpeg.params)) == (DEBLOCKING, 15.0, {"sigma": 15.0, "quality": 30})
    assert jpeg.forward is None  # JPEG is not linear
    blurred = info("blur:kernel=gaussian,sigma=1.6+gaussian5")
    assert blurred.task == DEBLURRING and "kernel" in blurred.params and blurred.forward is not None
    assert "sigma" not in blurred.params and blurred.sigma is None  # blur's noise=0 and gaussian's 5 conflict
    small = info("x2+gaussian5+x2")
    assert (small.task, small.scale, small.params["scale"]) == (SUPER_RESOLUTION, 4, 4)
    assert info("gaussian5+poisson30").task == DENOISING
    assert merge_infos([DegradationInfo(DENOISING, sigma=5), DegradationInfo("inpainting")]).task == "inpainting"


def test_a_linear_chain_composes_forward_operators_and_adjoints(host):
    degraded = host.registry("degradation").build("blur:kernel=motion,length=5+blur-down:scale=2,quantize=false")
    out = degraded.degrade(natural_image(1, 48), generators(1))
    assert torch.allclose(out.info.forward(out.target), out.image, atol=1e-6)
    x, y = torch.rand(out.target.shape, dtype=torch.float64), torch.rand(out.image.shape, dtype=torch.float64)
    lhs, rhs = (out.info.forward(x) * y).sum(), (x * out.info.adjoint(y)).sum()
    assert abs(float(lhs - rhs)) <= 1e-5 * abs(float(lhs))


def test_the_same_chain_gives_the_same_images_in_bench_run_and_train(host, tmp_path: Path):
    folder = write_crops(tmp_path / "clean", "camera", 2, 64, 120, 150, "img")
    bench = run_plan(BenchPlan.from_specs(restorers="identity", degradations=CHAIN, datasets=str(folder),
                                          metrics="psnr"), host=host)
    scores = {r.image: r.metrics["psnr"] for r in bench.records if r.kind == "image"}
    # identity writes the degraded image itself; the chain ends in JPEG, so its 8-bit PNG is exact
    written = restore_files("identity", [folder], tmp_path / "out", degradation=CHAIN, host=host)
    for source, target in written:
        clean, degraded = read_image(source).double(), read_image(target).double()
        psnr = float(10 * torch.log10(1 / ((degraded - clean) ** 2).mean()))
        assert psnr == pytest.approx(scores[source.stem], abs=1e-4)
    # training draws its own patches and generators; from the same ones, the chain gives the same batch
    restorer = host.registry("restorer").build("dncnn:layers=3,features=8")
    chain = host.registry("degradation").build(CHAIN)
    images = [(read_image(p)[0] * 255).round().to(torch.uint8) for p, _ in written]
    config = TrainConfig(patch=24, batch=3, steps=1, bf16=False)
    batch, _ = training_batch(restorer, chain, images, config, random.Random(3))
    rng = random.Random(3)
    clean = _sample_patches(images, config, rng)
    gens = [torch.Generator().manual_seed(rng.getrandbits(63)) for _ in range(clean.shape[0])]
    assert torch.equal(batch, chain.degrade(clean, gens).image)
