"""A JPEG artifact remover: FDnCNN's network conditioned on the JPEG quality (as FBCNN), quality 10-90.

The network is the noise-level-conditioned DnCNN-17 of `fdncnn` (`ConditionedDnCNNNetwork`): the
image plus one channel that tells it how strong the error to remove is. Here that channel holds the
JPEG quality's *noise-equivalent level*, `quality_level(q) = 0.6 * sqrt(s(q))` on the 0-255 scale,
where `s(q)` is the IJG scaling of the quantisation tables (`quality_scale`: 5000 / q below 50,
200 - 2q above, unfloored). The RMS error of IJG JPEG on BSD400 and CBSD432 is 0.52-0.79 times
sqrt(s(q)) at every quality from 10 to 90 (13.9 at q10 colour, 2.6 at q90 gray), so the map means
what it means for `fdncnn`: the standard deviation of the error. That is why the recipes can
warm-start from the shipped `fdncnn` weights: training begins from a denoiser already set to the
right strength at each quality.

Why conditioned rather than blind (DnCNN-3): a blind DnCNN-7 trained over 10-90 (measured, not
shipped) had to guess the quality and guessed "low" on near-lossless images, losing 1.2 dB on a q90
crop; told the quality, the model removes little where there is little to remove.

Where the quality comes from, first match wins: the restorer's own `quality` option; the quality the
degradation discloses (`info.params["quality"]`, or per image `info.params["qualities"]` from
`jpeg-range`); for real files, `restore run` discloses the quality it reads from a JPEG's
quantisation tables (`restore_core.imaging.jpeg_quality`). Without one the restorer is unsupported,
with a reason that says how to give it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from restore_builtins.conditioned_denoiser import ConditionedDenoiser
from restore_builtins.fdncnn import FDnCNN
from restore_core import DEBLOCKING, DegradationInfo, hookimpl
from restore_core.imaging.jpeg_quality import quality_scale

if TYPE_CHECKING:
    import torch


def quality_level(quality: float) -> float:
    """The noise-equivalent level (0-255) of JPEG at `quality`: about the RMS error it adds."""
    return 0.6 * math.sqrt(max(quality_scale(quality), 1.0))


class JpegDnCNN(FDnCNN):
    """Conditioned DnCNN-17 that removes JPEG blocking and ringing at a known quality 10-90."""

    name = "dncnn-jpeg"
    description = "JPEG artifact remover: DnCNN-17 conditioned on the quality (as FBCNN), 10-90, gray and colour"
    tasks = frozenset({DEBLOCKING})
    noise_level_conditioned: ClassVar[bool] = False  # its map is a quality, not a noise level for pnp
    QUALITY_RANGE = (10, 90)  # the qualities the shipped weights were trained on

    def __init__(self, layers: int = 17, features: int = 64, quality: int | None = None,
                 weights: str | None = None) -> None:
        if quality is not None and not (isinstance(quality, int) and 1 <= quality <= 100):
            raise ValueError(f"quality must be an integer from 1 to 100, got {quality!r}")
        super().__init__(layers=layers, features=features, weights=weights)
        self.quality = quality

    def supports(self, info: DegradationInfo, channels: int) -> str | None:
        """Serve deblocking whenever the quality is known: given, or disclosed by the degradation."""
        # the conditioned denoiser's check asks for a noise level; the task and colour checks above it still apply
        reason = super(ConditionedDenoiser, self).supports(info, channels)
        if reason is None and self.quality is None and not self._disclosed(info):
            reason = (f"{self.name} needs the JPEG quality: the degradation does not disclose it; "
                      f"{self.name}:quality=N sets it (restore run reads it from a .jpg file)")
        return reason

    @staticmethod
    def _disclosed(info: DegradationInfo) -> bool:
        return "quality" in info.params or "qualities" in info.params

    def weights_key(self, info: DegradationInfo, channels: int) -> str:
        """Return e.g. `dncnn-17l-64f-rgb-jpeg`: one file per colour mode serves every quality."""
        return f"dncnn-{self.layers}l-{self.features}f-{'gray' if channels == 1 else 'rgb'}-jpeg"

    def training_degradation(self, info: DegradationInfo) -> str:
        """Train on qualities drawn per patch from the shipped range, each disclosed."""
        low, high = self.QUALITY_RANGE
        return f"jpeg-range:quality_min={low},quality_max={high}"

    def qualities(self, n: int, info: DegradationInfo) -> Sequence[float]:
        """Each of the `n` images' JPEG quality: the option, else what the degradation discloses."""
        if self.quality is not None:
            return [float(self.quality)] * n
        per_image = info.params.get("qualities")
        if per_image is not None:
            if len(per_image) != n:
                raise ValueError(f"{len(per_image)} qualities disclosed for {n} images")
            return [float(q) for q in per_image]
        if "quality" in info.params:
            return [float(info.params["quality"])] * n
        raise ValueError(f"{self.name} needs the JPEG quality ({self.name}:quality=N sets it)")

    def noise_map(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Return the (N, 1, H, W) map of each image's quality level (0-255), constant per image."""
        import torch

        n, _, h, w = degraded.shape
        levels = torch.tensor([quality_level(q) for q in self.qualities(n, info)], dtype=torch.float32)
        return levels.view(n, 1, 1, 1).expand(n, 1, h, w)


@hookimpl
def register_restorers(register) -> None:
    """Register `dncnn-jpeg`."""
    register(JpegDnCNN)
