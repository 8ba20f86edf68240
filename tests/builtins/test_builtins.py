"""Behaviour of individual built-ins beyond the shared contracts."""

from __future__ import annotations

import torch

from restore_core.components.interfaces import DENOISING, DegradationInfo
from restore_core.plugins.host import default_host

HOST = default_host()


def test_blind_noise_draws_sigma_per_image_within_range_and_hides_it():
    deg = HOST.registry("degradation").build("gaussian-blind:sigma_min=10,sigma_max=30")
    clean = torch.full((64, 1, 48, 48), 0.5)
    out = deg.degrade(clean, [torch.Generator().manual_seed(i) for i in range(64)])
    sigmas = (out.image - clean).flatten(1).std(dim=1) * 255
    assert out.info.sigma is None
    assert 9 < float(sigmas.min()) < 14 and 26 < float(sigmas.max()) < 31  # spread over the range
    assert len({round(float(s)) for s in sigmas}) > 10


def test_blind_dncnn_serves_any_level_under_one_key():
    blind = HOST.registry("restorer").build("dncnn:blind=true")
    plain = HOST.registry("restorer").build("dncnn")
    unknown = DegradationInfo(DENOISING, sigma=None)
    assert blind.supports(unknown, 3) is None and "non-blind" in plain.supports(unknown, 3)
    keys = {blind.weights_key(DegradationInfo(DENOISING, sigma=s), 3) for s in (15, 25, 50, None)}
    assert keys == {"dncnn-7l-64f-rgb-blind"}
    assert blind.training_degradation(unknown) == "gaussian-blind"
