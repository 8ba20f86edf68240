"""Structural similarity through scikit-image, in two conventions.

- `window=uniform` (the default, and every SSIM figure in the docs unless they say otherwise):
  scikit-image's defaults, a 7x7 uniform window with sample covariance.
- `window=gaussian`: Wang et al. (2004) as their `ssim_index.m` computes it and papers report it, an
  11x11 Gaussian window of sigma 1.5 with population covariance (no automatic down-sampling, which
  only the later `ssim.m` adds for images over 256 px).

Both use K1 = 0.01, K2 = 0.03, data range 1, and average the SSIM map over the pixels whose window
lies inside the image (and over the mask's pixels with `mask=FILE`); colour averages the channels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from restore_core import DegradationInfo, Metric, hookimpl
from restore_core.components.metric_protocol import (
    Channel,
    Where,
    checked_mask_options,
    checked_options,
    resolve,
    scored_pixels,
    scoring_view,
)

if TYPE_CHECKING:
    import torch

Window = Literal["uniform", "gaussian"]
#: (window side, scikit-image options) of each convention
_CONVENTIONS: dict[str, tuple[int, dict[str, object]]] = {
    "uniform": (7, {}),
    "gaussian": (11, {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}),
}


class SSIM(Metric):
    """SSIM from scikit-image per image; `window` uniform|gaussian, `channel`, `crop`, `mask`, `where` as for psnr."""

    name = "ssim"
    description = "structural similarity (scikit-image, data_range=1; window=gaussian: Wang et al.)"

    def __init__(self, channel: Channel = "auto", crop: int | None = None, window: Window = "uniform",
                 mask: str | None = None, where: Where = "inside") -> None:
        self.channel, self.crop = checked_options(channel, crop)
        if window not in _CONVENTIONS:
            raise ValueError(f"window must be uniform (7x7, scikit-image) or gaussian (11x11, Wang et al.), "
                             f"got {window!r}")
        self.window = window
        self.mask, self.where = checked_mask_options(mask, where)

    def measure(
        self, restored: torch.Tensor, target: torch.Tensor, info: DegradationInfo
    ) -> torch.Tensor:
        """Return the mean SSIM of each image (colour: averaged over channels)."""
        import torch
        from skimage.metrics import structural_similarity

        channel, crop = resolve(self.channel, self.crop, info)
        a, b = scoring_view(restored, target, channel, crop)
        side, options = _CONVENTIONS[self.window]
        pixels = None if self.mask is None else scored_pixels(self.mask, self.where, *target.shape[-2:], crop)
        pad = (side - 1) // 2
        if pixels is not None and not bool(pixels[pad:-pad, pad:-pad].any()):
            raise ValueError(f"mask {self.mask!r} leaves no pixel {pad} or more from the border to score")
        scores = []
        for x, y in zip(a.cpu().numpy(), b.cpu().numpy(), strict=True):
            if min(x.shape[-2:]) < side:
                raise ValueError(f"ssim:window={self.window} needs images of at least {side}x{side}, "
                                 f"got {x.shape[-1]}x{x.shape[-2]}")
            kwargs = {"data_range": 1.0, "win_size": side, "full": True, **options}
            if x.shape[0] == 1:
                mean, full = structural_similarity(x[0], y[0], **kwargs)
                full = full[None]
            else:
                mean, full = structural_similarity(x, y, channel_axis=0, **kwargs)
            if pixels is None:
                scores.append(float(mean))
            else:
                # scikit-image's mean leaves out the windows that overhang the border; so does this one
                inner = full[:, pad:-pad, pad:-pad]
                scores.append(float(inner[:, pixels[pad:-pad, pad:-pad].numpy()].mean()))
        return torch.tensor(scores, dtype=torch.float64)


@hookimpl
def register_metrics(register) -> None:
    """Register `ssim`."""
    register(SSIM)
