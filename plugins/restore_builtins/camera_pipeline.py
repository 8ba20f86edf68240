"""A camera pipeline: unprocess a clean sRGB image to a raw-like signal, add sensor noise, process it back.

`camera:preset=phone-low-light` (or `camera:iso=1600`, `camera1600`) runs each image through the
stages below, each a pure function of this module (`camera_stages` returns every stage's image):

1. Inverse tone curve, `inverse_tone`: the inverse of the global smoothstep tone curve
   s(x) = 3x^2 - 2x^3, x = 1/2 - sin(asin(1 - 2y) / 3) (Brooks et al. 2019, section 3.1; `tone=false`
   skips it), then the inverse sRGB transfer function of IEC 61966-2-1: L = V / 12.92 for
   V <= 0.04045, else ((V + 0.055) / 1.055)^2.4.
2. Inverse white balance and digital gain, `apply_gains(linear, 1 / gains)`: red divided by
   `digital_gain * red_gain`, green by `digital_gain`, blue by `digital_gain * blue_gain` (Brooks et
   al. 2019, section 3.2; the colour correction matrix is left out, i.e. the identity). The gains
   are fixed per preset; `camera-range` draws them per image from `GAIN_RANGES`.
3. RGGB Bayer mosaic, `mosaic`: one sample per pixel, R at (even row, even column), G at (even, odd)
   and (odd, even), B at (odd, odd).
4. Heteroscedastic Poisson-Gaussian noise in raw space, `add_raw_noise`:
   y = shot * Poisson(x / shot) + read * n, n ~ N(0, 1), so E[y] = x and Var[y] = shot * x + read^2
   (Foi et al. 2008, "Practical Poissonian-Gaussian noise modeling and fitting for single-image raw
   data"). `noise_for_iso`: shot = iso / 1e6 (1e-4 at ISO 100, proportional to the analogue gain)
   and read from Brooks et al.'s log-linear fit of read to shot noise, without its random
   scatter: log(read^2) = 2.18 log(shot) + 1.20. The noisy raw is not clipped.
5. Demosaic, `demosaic_bilinear` (bilinear: G = conv(G samples, [[0,1,0],[1,4,1],[0,1,0]] / 4),
   R and B = conv(their samples, [[1,2,1],[2,4,2],[1,2,1]] / 4)) or `demosaic_malvar` (`demosaic=malvar`:
   the 5x5 gradient-corrected linear filters of Malvar, He and Cutler 2004, "High-quality linear
   interpolation for demosaicing of Bayer-patterned color images", ICASSP). Borders are mirrored
   without repeating the edge (`reflect`), which keeps the Bayer phase.
6. Forward processing, `process`: the gains, a clip to [0, 1] (a camera's saturation and black level),
   the sRGB transfer function (12.92 L for L <= 0.0031308, else 1.055 L^(1/2.4) - 0.055), the tone curve.
7. Optionally JPEG (`jpeg=QUALITY`, 1-100; 0 is off) through `jpeg_compression.compress`, 4:2:0 chroma.

Invariants: the output is float32 (N, C, H, W) in [0, 1], the clean size and channels; image i draws
all its randomness (its photon counts, then its read noise) from `generators[i]` only, so no image
depends on the batch. A gray image (C = 1) is treated as R = G = B and the processed colour image
comes back as 0.299 R + 0.587 G + 0.114 B (a noise-free gray image comes back unchanged, up to the
JPEG). Images need at least 4x4 pixels. Task `denoising`; `info.sigma` is None (the noise is not
white Gaussian) and `info.params` holds `iso`, `shot`, `read` (raw scale [0, 1]), the gains, `preset`
(when one was used), `jpeg` and `demosaic`; there is no linear forward operator.

`camera-range` (the training degradation of the real-noise model) draws each image's camera from that
image's generator, in a fixed order: the ISO log-uniformly from [iso_min, iso_max], the red, blue and
digital gains uniformly from `GAIN_RANGES`, the demosaic (bilinear or Malvar, even odds), and JPEG
with probability `jpeg_fraction` at a quality drawn uniformly from [jpeg_min, jpeg_max]; it then
runs the pipeline above with the same generator. `info.params` lists `isos` and `jpegs` per image.

Reference: T. Brooks, B. Mildenhall, T. Xue, J. Chen, D. Sharlet, J. T. Barron, "Unprocessing Images
for Learned Raw Denoising", CVPR 2019.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from restore_core import DENOISING, Degradation, DegradationInfo, Degraded, hookimpl

if TYPE_CHECKING:
    import torch

ISO_RANGE = (50.0, 25600.0)
DEFAULT_PRESET = "phone-indoor"
DEMOSAICS = ("bilinear", "malvar")
#: The ranges `camera-range` draws (red, blue, digital) gains from, uniformly: they span the presets'.
GAIN_RANGES = ((1.5, 2.4), (1.5, 2.4), (1.0, 2.0))


@dataclass(frozen=True)
class Preset:
    """A named camera: its ISO (which sets the noise) and its white-balance and digital gains."""

    iso: float
    red_gain: float
    blue_gain: float
    digital_gain: float


PRESETS: dict[str, Preset] = {
    "phone-daylight": Preset(iso=100, red_gain=2.0, blue_gain=1.6, digital_gain=1.25),
    "phone-indoor": Preset(iso=800, red_gain=1.8, blue_gain=2.0, digital_gain=1.5),
    "phone-low-light": Preset(iso=3200, red_gain=1.5, blue_gain=2.4, digital_gain=2.0),
    "dslr-high-iso": Preset(iso=6400, red_gain=2.2, blue_gain=1.7, digital_gain=1.25),
}


@dataclass(frozen=True)
class CameraSettings:
    """Everything one pass through the pipeline needs: noise, gains, tone curve, demosaic, JPEG."""

    iso: float
    shot: float
    read: float
    red_gain: float
    blue_gain: float
    digital_gain: float
    tone: bool = True
    demosaic: str = "bilinear"
    jpeg: int = 0

    def gains(self) -> tuple[float, float, float]:
        """The forward (R, G, B) gains: white balance times digital gain."""
        return (self.digital_gain * self.red_gain, self.digital_gain, self.digital_gain * self.blue_gain)


def noise_for_iso(iso: float) -> tuple[float, float]:
    """Return (shot, read) for `iso`: shot = iso / 1e6, log(read^2) = 2.18 log(shot) + 1.20 (Brooks et al.)."""
    import math

    shot = iso / 1e6
    return shot, math.exp(0.5 * (2.18 * math.log(shot) + 1.20))


def camera_settings(iso: float | None = None, preset: str | None = None, *, tone: bool = True,
                    demosaic: str = "bilinear", jpeg: int = 0) -> CameraSettings:
    """Resolve an ISO or a preset (exclusive; neither: `phone-indoor`) to validated CameraSettings."""
    if iso is not None and preset is not None:
        raise ValueError("give iso or preset, not both")
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    if iso is not None and not ISO_RANGE[0] <= iso <= ISO_RANGE[1]:
        raise ValueError(f"iso must be within [{ISO_RANGE[0]:g}, {ISO_RANGE[1]:g}], got {iso:g}")
    if demosaic not in DEMOSAICS:
        raise ValueError(f"demosaic must be bilinear or malvar, got {demosaic!r}")
    if not 0 <= jpeg <= 100:
        raise ValueError(f"jpeg must be a quality from 1 to 100, or 0 for none, got {jpeg}")
    base = PRESETS[preset or DEFAULT_PRESET]
    iso = float(base.iso if iso is None else iso)
    shot, read = noise_for_iso(iso)
    return CameraSettings(iso, shot, read, base.red_gain, base.blue_gain, base.digital_gain,
                          tone=tone, demosaic=demosaic, jpeg=int(jpeg))


# ------------------------------------------------------------------------------ the stages


def srgb_to_linear(srgb: torch.Tensor) -> torch.Tensor:
    """Inverse sRGB transfer function (IEC 61966-2-1) of values clipped to [0, 1]."""
    import torch

    v = srgb.clamp(0.0, 1.0)
    return torch.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(linear: torch.Tensor) -> torch.Tensor:
    """sRGB transfer function (IEC 61966-2-1) of values clipped to [0, 1]."""
    import torch

    v = linear.clamp(0.0, 1.0)
    return torch.where(v <= 0.0031308, 12.92 * v, 1.055 * v.clamp(min=0.0031308) ** (1 / 2.4) - 0.055)


def smoothstep(x: torch.Tensor) -> torch.Tensor:
    """The global tone curve of Brooks et al. 2019: 3x^2 - 2x^3 on [0, 1]."""
    v = x.clamp(0.0, 1.0)
    return v * v * (3.0 - 2.0 * v)


def inverse_smoothstep(y: torch.Tensor) -> torch.Tensor:
    """Invert `smoothstep` on [0, 1]: 1/2 - sin(asin(1 - 2y) / 3)."""
    import torch

    v = y.clamp(0.0, 1.0)
    return 0.5 - torch.sin(torch.asin(1.0 - 2.0 * v) / 3.0)


def inverse_tone(srgb: torch.Tensor, tone: bool = True) -> torch.Tensor:
    """sRGB to linear light: the inverse tone curve (if `tone`), then the inverse sRGB transfer function."""
    return srgb_to_linear(inverse_smoothstep(srgb) if tone else srgb)


def forward_tone(linear: torch.Tensor, tone: bool = True) -> torch.Tensor:
    """Linear light to sRGB: the sRGB transfer function, then the tone curve (if `tone`); inverts `inverse_tone`."""
    srgb = linear_to_srgb(linear)
    return smoothstep(srgb) if tone else srgb


def apply_gains(rgb: torch.Tensor, gains: Sequence[float]) -> torch.Tensor:
    """Multiply the channels of (..., 3, H, W) by `gains` (R, G, B)."""
    import torch

    return rgb * torch.tensor(list(gains), dtype=rgb.dtype, device=rgb.device).view(3, 1, 1)


def bayer_masks(h: int, w: int, dtype: torch.dtype | None = None) -> torch.Tensor:
    """The (3, h, w) RGGB sampling masks: 1 where a pixel samples that channel, else 0."""
    import torch

    masks = torch.zeros(3, h, w, dtype=dtype or torch.float32)
    masks[0, 0::2, 0::2] = 1
    masks[1, 0::2, 1::2] = 1
    masks[1, 1::2, 0::2] = 1
    masks[2, 1::2, 1::2] = 1
    return masks


def mosaic(rgb: torch.Tensor) -> torch.Tensor:
    """Sample (..., 3, H, W) through an RGGB colour filter array: (..., 1, H, W), one channel per pixel."""
    masks = bayer_masks(*rgb.shape[-2:], dtype=rgb.dtype).to(rgb.device)
    return (rgb * masks).sum(-3, keepdim=True)


def add_raw_noise(raw: torch.Tensor, shot: float, read: float, generator: torch.Generator) -> torch.Tensor:
    """Poisson-Gaussian noise: shot * Poisson(x / shot) + read * n (variance shot * x + read^2), not clipped."""
    import torch

    if not shot > 0 or not read >= 0:
        raise ValueError(f"need shot > 0 and read >= 0, got {shot:g} and {read:g}")
    rate = raw.detach().to("cpu", torch.float64).clamp(min=0.0) / shot  # a photon count is never negative
    counts = torch.poisson(rate, generator=generator)
    noise = torch.randn(raw.shape, generator=generator, dtype=torch.float64)
    return (counts * shot + read * noise).to(raw.device, raw.dtype)


def _conv(planes: torch.Tensor, kernels: list[list[list[float]]]) -> torch.Tensor:
    """Convolve (N, 1, H, W) with each kernel (odd squares), borders mirrored: (N, len(kernels), H, W)."""
    import torch
    import torch.nn.functional as F

    weight = torch.tensor(kernels, dtype=planes.dtype, device=planes.device).unsqueeze(1)
    pad = weight.shape[-1] // 2
    return F.conv2d(F.pad(planes, (pad, pad, pad, pad), mode="reflect"), weight)


_BILINEAR_G = [[0.0, 0.25, 0.0], [0.25, 1.0, 0.25], [0.0, 0.25, 0.0]]
_BILINEAR_RB = [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]]


def demosaic_bilinear(raw: torch.Tensor) -> torch.Tensor:
    """Bilinear RGGB demosaic of (N, 1, H, W): each channel's samples convolved with its kernel."""
    import torch

    masks = bayer_masks(*raw.shape[-2:], dtype=raw.dtype).to(raw.device)
    planes = [raw * masks[c] for c in range(3)]
    kernels = (_BILINEAR_RB, _BILINEAR_G, _BILINEAR_RB)
    return torch.cat([_conv(p, [k]) for p, k in zip(planes, kernels, strict=True)], dim=1)


def _malvar_kernels() -> list[list[list[float]]]:
    """Malvar-He-Cutler's filters (x 1/8): G at R/B; R/B at G in their row; in their column; at B/R."""
    g_at_rb = [[0, 0, -1, 0, 0], [0, 0, 2, 0, 0], [-1, 2, 4, 2, -1], [0, 0, 2, 0, 0], [0, 0, -1, 0, 0]]
    row = [[0, 0, 0.5, 0, 0], [0, -1, 0, -1, 0], [-1, 4, 5, 4, -1], [0, -1, 0, -1, 0], [0, 0, 0.5, 0, 0]]
    column = [list(r) for r in zip(*row, strict=True)]
    diagonal = [[0, 0, -1.5, 0, 0], [0, 2, 0, 2, 0], [-1.5, 0, 6, 0, -1.5], [0, 2, 0, 2, 0], [0, 0, -1.5, 0, 0]]
    return [[[v / 8 for v in r] for r in k] for k in (g_at_rb, row, column, diagonal)]


def demosaic_malvar(raw: torch.Tensor) -> torch.Tensor:
    """Malvar-He-Cutler (2004) gradient-corrected linear RGGB demosaic of (N, 1, H, W)."""
    import torch

    g_at_rb, row, column, diagonal = _conv(raw, _malvar_kernels()).unbind(1)
    m = raw[:, 0]
    h, w = m.shape[-2:]
    ys = (torch.arange(h, device=raw.device) % 2).view(h, 1)
    xs = (torch.arange(w, device=raw.device) % 2).view(1, w)
    at_r, at_b = (ys == 0) & (xs == 0), (ys == 1) & (xs == 1)
    g_in_r_row, g_in_b_row = (ys == 0) & (xs == 1), (ys == 1) & (xs == 0)
    red = torch.where(at_r, m, torch.where(g_in_r_row, row, torch.where(g_in_b_row, column, diagonal)))
    green = torch.where(at_r | at_b, g_at_rb, m)
    blue = torch.where(at_b, m, torch.where(g_in_b_row, row, torch.where(g_in_r_row, column, diagonal)))
    return torch.stack([red, green, blue], dim=1)


def demosaic(raw: torch.Tensor, method: str = "bilinear") -> torch.Tensor:
    """Demosaic (N, 1, H, W) RGGB raw to (N, 3, H, W) by `method` (bilinear or malvar)."""
    if method == "bilinear":
        return demosaic_bilinear(raw)
    if method == "malvar":
        return demosaic_malvar(raw)
    raise ValueError(f"demosaic must be bilinear or malvar, got {method!r}")


def process(rgb: torch.Tensor, settings: CameraSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """Camera-space linear RGB to sRGB: the gains, a clip to [0, 1], then `forward_tone`; returns (balanced, sRGB)."""
    balanced = apply_gains(rgb, settings.gains()).clamp(0.0, 1.0)
    return balanced, forward_tone(balanced, settings.tone)


def camera_stages(clean: torch.Tensor, generator: torch.Generator,
                  settings: CameraSettings) -> dict[str, torch.Tensor]:
    """Every stage's image for one (3, H, W) sRGB image, in order; the last entry is the camera's output.

    Keys: `srgb` (the input), `linear`, `raw` (3 channels), `mosaic` and `noisy` ((1, H, W) Bayer
    samples), `demosaiced`, `balanced` (gains applied, clipped), `output` (sRGB), then `jpeg` when
    `settings.jpeg` is set. Computed in float64, returned as float32.
    """
    import torch

    if clean.ndim != 3 or clean.shape[0] != 3:
        raise ValueError(f"camera_stages takes one (3, H, W) image, got {tuple(clean.shape)}")
    if min(clean.shape[-2:]) < 4:
        raise ValueError(f"camera needs images of at least 4x4 pixels, got {clean.shape[-2]}x{clean.shape[-1]}")
    srgb = clean.detach().to("cpu", torch.float64).clamp(0.0, 1.0)
    linear = inverse_tone(srgb, settings.tone)
    raw = apply_gains(linear, [1.0 / g for g in settings.gains()])
    bayer = mosaic(raw)
    noisy = add_raw_noise(bayer, settings.shot, settings.read, generator)
    demosaiced = demosaic(noisy.unsqueeze(0), settings.demosaic)[0]
    balanced, output = process(demosaiced, settings)
    stages = {"srgb": srgb, "linear": linear, "raw": raw, "mosaic": bayer, "noisy": noisy,
              "demosaiced": demosaiced, "balanced": balanced, "output": output}
    stages = {k: v.float() for k, v in stages.items()}
    if settings.jpeg:
        from restore_builtins.jpeg_compression import compress

        stages["jpeg"] = compress(stages["output"].unsqueeze(0), [settings.jpeg], "420")[0]
    return stages


# ------------------------------------------------------------------------------ the plugin


class CameraPipeline(Degradation):
    """Unprocess to raw, add ISO-dependent Poisson-Gaussian noise, demosaic and process back (Brooks et al. 2019)."""

    name = "camera"
    description = ("camera pipeline: sRGB to raw, Poisson-Gaussian noise at `iso` or a `preset`, demosaic, "
                   "tone curve, optional JPEG (camera:preset=phone-low-light)")
    task = DENOISING

    def __init__(self, iso: float | None = None, preset: str | None = None, jpeg: int = 0,
                 demosaic: Literal["bilinear", "malvar"] = "bilinear", tone: bool = True) -> None:
        self.settings = camera_settings(iso, preset, tone=tone, demosaic=demosaic, jpeg=jpeg or 0)
        self.iso = None if iso is None else float(iso)
        self.preset = preset
        self.jpeg = int(jpeg or 0)
        self.demosaic = demosaic
        self.tone = tone

    def info_params(self) -> dict[str, object]:
        """What `info.params` discloses: the ISO, the noise, the gains and the other settings."""
        s = self.settings
        params: dict[str, object] = {"iso": s.iso, "shot": s.shot, "read": s.read, "red_gain": s.red_gain,
                                     "blue_gain": s.blue_gain, "digital_gain": s.digital_gain,
                                     "jpeg": s.jpeg, "demosaic": s.demosaic}
        if self.iso is None:
            params["preset"] = self.preset or DEFAULT_PRESET
        return params

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Run each image through `camera_stages` with that image's generator; gray goes through as R = G = B."""
        noisy = run_camera(clean, generators, [self.settings] * len(generators))
        return Degraded(noisy, clean,
                        DegradationInfo(DENOISING, sigma=None, params=self.info_params(), forward=None, adjoint=None))


class CameraPipelineRange(Degradation):
    """The camera pipeline with each image's camera drawn from its own generator: the training
    degradation of a blind real-noise model, which must meet every ISO, white balance and demosaic."""

    name = "camera-range"
    description = ("camera pipeline with the ISO (log-uniform in [iso_min, iso_max]), gains, demosaic and "
                   "JPEG drawn per image (training a real-noise model)")
    task = DENOISING

    def __init__(self, iso_min: float = 100.0, iso_max: float = 6400.0, jpeg_fraction: float = 0.5,
                 jpeg_min: int = 70, jpeg_max: int = 95) -> None:
        if not ISO_RANGE[0] <= iso_min <= iso_max <= ISO_RANGE[1]:
            raise ValueError(f"need {ISO_RANGE[0]:g} <= iso_min <= iso_max <= {ISO_RANGE[1]:g}, "
                             f"got {iso_min:g} and {iso_max:g}")
        if not 0.0 <= jpeg_fraction <= 1.0:
            raise ValueError(f"jpeg_fraction must be within [0, 1], got {jpeg_fraction:g}")
        if not 1 <= jpeg_min <= jpeg_max <= 100:
            raise ValueError(f"need 1 <= jpeg_min <= jpeg_max <= 100, got {jpeg_min} and {jpeg_max}")
        self.iso_min, self.iso_max = float(iso_min), float(iso_max)
        self.jpeg_fraction = float(jpeg_fraction)
        self.jpeg_min, self.jpeg_max = int(jpeg_min), int(jpeg_max)

    def draw(self, generator: torch.Generator) -> CameraSettings:
        """One image's camera, drawn from its generator in a fixed order (ISO, gains, demosaic, JPEG)."""
        import math

        import torch

        u = torch.rand(7, generator=generator, dtype=torch.float64).tolist()
        iso = math.exp(math.log(self.iso_min) + u[0] * (math.log(self.iso_max) - math.log(self.iso_min)))
        shot, read = noise_for_iso(iso)
        gains = [low + (high - low) * v for (low, high), v in zip(GAIN_RANGES, u[1:4], strict=True)]
        jpeg = self.jpeg_min + min(int(u[6] * (self.jpeg_max - self.jpeg_min + 1)), self.jpeg_max - self.jpeg_min)
        return CameraSettings(iso, shot, read, *gains, tone=True, demosaic=DEMOSAICS[int(u[4] < 0.5)],
                              jpeg=jpeg if u[5] < self.jpeg_fraction else 0)

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        """Draw each image's camera, then run it through the pipeline, all from that image's generator."""
        drawn = [self.draw(g) for g in generators]  # each generator draws its camera before its noise
        noisy = run_camera(clean, generators, drawn)
        params: dict[str, object] = {"isos": tuple(s.iso for s in drawn), "jpegs": tuple(s.jpeg for s in drawn)}
        if len(drawn) == 1:
            params.update(iso=drawn[0].iso, shot=drawn[0].shot, read=drawn[0].read, jpeg=drawn[0].jpeg,
                          demosaic=drawn[0].demosaic)
        return Degraded(noisy, clean, DegradationInfo(DENOISING, sigma=None, params=params, forward=None, adjoint=None))


def run_camera(clean: torch.Tensor, generators: Sequence[torch.Generator],
               settings: Sequence[CameraSettings]) -> torch.Tensor:
    """Each image through `camera_stages` with its generator and its settings; gray goes through as R = G = B."""
    import torch

    if len(generators) != clean.shape[0]:
        raise ValueError(f"{clean.shape[0]} images but {len(generators)} generators")
    channels = clean.shape[1]
    if channels not in (1, 3):
        raise ValueError(f"camera needs colour (3-channel) or gray images, got {channels} channels")
    out = []
    for image, g, camera in zip(clean, generators, settings, strict=True):
        rgb = image.expand(3, -1, -1) if channels == 1 else image
        last = list(camera_stages(rgb, g, camera).values())[-1]
        if channels == 1:
            weights = torch.tensor([0.299, 0.587, 0.114], dtype=last.dtype).view(3, 1, 1)
            last = (last * weights).sum(0, keepdim=True).clamp(0.0, 1.0)
        out.append(last)
    return torch.stack(out).to(clean.device, torch.float32)


@hookimpl
def register_degradations(register) -> None:
    """Register `camera` (`camera1600` is `camera:iso=1600`) and `camera-range`."""
    register(CameraPipeline, shorthand="iso")
    register(CameraPipelineRange)
