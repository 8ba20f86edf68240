"""`jpeg-range`: JPEG at a quality drawn per image, the training degradation of a blind JPEG remover."""

from __future__ import annotations

import torch

from restore_core import DEBLOCKING
from restore_core.plugins.host import default_host

HOST = default_host()


def _gens(*seeds: int) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(s) for s in seeds]


def test_jpeg_range_draws_each_images_quality_from_its_own_generator():
    deg = HOST.registry("degradation").build("jpeg-range:quality_min=10,quality_max=40")
    clean = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    out = deg.degrade(clean, _gens(1, 2, 3, 4))
    qualities = out.info.params["qualities"]
    assert len(qualities) == 4 and all(10 <= q <= 40 for q in qualities)
    assert out.info.task == DEBLOCKING and out.info.forward is None
    # the same image and generator give the same quality and pixels alone as in the batch
    alone = deg.degrade(clean[2:3], _gens(3))
    assert alone.info.params["qualities"] == (qualities[2],) and alone.info.params["quality"] == qualities[2]
    assert torch.equal(alone.image[0], out.image[2])
    # and what the fixed-quality degradation gives at that quality
    fixed = HOST.registry("degradation").build(f"jpeg:quality={qualities[2]}").degrade(clean[2:3], _gens(0))
    assert torch.equal(fixed.image, alone.image)
