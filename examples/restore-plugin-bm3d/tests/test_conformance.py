"""restore's conformance kit over BM3D and GMSD, plus what the kit cannot know."""

import torch

from restore_core import default_host
from restore_core.testing import conformance_suite, natural_image

TestConformance = conformance_suite("bm3d")


def test_bm3d_beats_the_noisy_input():
    host = default_host()
    clean = natural_image(1, 96)
    degraded = host.registry("degradation").build("gaussian25").degrade(clean, [torch.Generator().manual_seed(0)])
    out = host.registry("restorer").build("bm3d").restore(degraded.image, degraded.info)
    psnr = host.registry("metric").build("psnr")
    assert psnr.measure(out, clean, degraded.info) > psnr.measure(degraded.image.clamp(0, 1), clean, degraded.info) + 4


def test_gmsd_is_zero_for_identical_images():
    host = default_host()
    clean = natural_image(3, 64)
    gmsd = host.registry("metric").build("gmsd")
    info = host.registry("degradation").build("gaussian25").degrade(clean, [torch.Generator()]).info
    assert float(gmsd.measure(clean, clean, info)[0]) < 1e-12


def test_bm3d_sigma_auto_estimates_each_images_level():
    host = default_host()
    clean = natural_image(1, 96)
    degraded = host.registry("degradation").build("gaussian25").degrade(clean, [torch.Generator().manual_seed(0)])
    blind = host.registry("restorer").build("bm3d:sigma=auto")
    unknown = type(degraded.info)(degraded.info.task, sigma=None)
    assert host.registry("restorer").build("bm3d").supports(unknown, 1) is not None
    assert blind.supports(unknown, 1) is None
    psnr = host.registry("metric").build("psnr")
    told = host.registry("restorer").build("bm3d").restore(degraded.image, degraded.info)
    estimated = blind.restore(degraded.image, unknown)
    # the estimate is close to 25, so the result is close to BM3D told the true sigma
    gap = psnr.measure(estimated, clean, degraded.info)[0] - psnr.measure(told, clean, degraded.info)[0]
    assert abs(float(gap)) < 0.5
