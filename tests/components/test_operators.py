"""Forward operators and adjoints: A matches what each linear degradation does, and <Ax, y> = <x, A^T y>."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from restore_core.components.operators import BicubicDown, CircularConvolution, Decimation
from restore_core.testing import generators, natural_image


def _dot_test(forward, adjoint, shape, scale: int = 1) -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(shape, generator=gen, dtype=torch.float64)
    y = torch.rand((*shape[:2], shape[2] // scale, shape[3] // scale), generator=gen, dtype=torch.float64)
    lhs, rhs = float((forward(x) * y).sum()), float((x * adjoint(y)).sum())
    assert abs(lhs - rhs) <= 1e-5 * abs(lhs), (lhs, rhs)


@pytest.mark.parametrize("kernel", [np.ones((1, 1)), np.arange(12.0).reshape(3, 4),
                                    np.random.default_rng(0).random((5, 6))])
def test_circular_convolution_adjoint(kernel):
    conv = CircularConvolution(torch.from_numpy(kernel / kernel.sum()).float())
    _dot_test(conv, conv.transposed(), (2, 3, 17, 20))


def test_circular_convolution_is_a_wrapped_convolution():
    from scipy.ndimage import convolve

    rng = np.random.default_rng(1)
    image, kernel = rng.random((15, 18)), rng.random((5, 5))
    expected = convolve(image, kernel, mode="wrap")
    got = CircularConvolution(torch.from_numpy(kernel).float())(torch.from_numpy(image).float()[None, None])
    assert np.allclose(got[0, 0].numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("scale", [2, 3])
def test_decimation_and_bicubic_adjoints(scale):
    _dot_test(Decimation(scale), Decimation(scale).transposed(), (1, 2, 12 * scale, 7 * scale), scale)
    _dot_test(BicubicDown(scale), BicubicDown(scale).transposed(), (1, 1, 8 * scale, 5 * scale), scale)


@pytest.mark.parametrize("spec", ["blur:kernel=motion,length=6,angle=20", "blur-down:scale=3,quantize=false",
                                  "bicubic-down:scale=2,quantize=false", "gaussian25", "poisson30"])
def test_each_info_operator_is_what_the_degradation_applies(host, spec):
    out = host.registry("degradation").build(spec).degrade(natural_image(3, 48), generators(1))
    forward, adjoint = out.info.forward, out.info.adjoint
    assert forward is not None and adjoint is not None
    _dot_test(forward, adjoint, tuple(out.target.shape), out.info.scale)
    if spec.startswith(("gaussian", "poisson")):  # pure noise: A is the identity
        assert torch.equal(forward(out.target), out.target)
    else:  # noise-free and unrounded: A x is the degraded image (bicubic-down clips to [0, 1])
        assert torch.allclose(forward(out.target).clamp(0, 1), out.image, atol=2e-5)
