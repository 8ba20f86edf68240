"""The camera-pipeline figure of docs/degradations.md: one crop through every stage of `camera`.

    python benchmarks/camera_stages.py --out docs/_static/camera-stages.png

Takes a 96x96 crop of scikit-image's astronaut, runs it through `camera_stages` of the `camera`
degradation (preset `phone-low-light`, JPEG at quality 80, the generator the benchmark would give
the crop at seed 0) and tiles every stage, enlarged twice, in one PNG with a label above each: the
sRGB input, linear light, raw (white balance and gain undone), the RGGB mosaic (each sample shown in
its own colour), the noisy mosaic, the demosaiced image, gains and clip, the tone curve (the camera's
output) and the JPEG. Linear stages are shown as they are, without a gamma, so they look dark.
Prints each displayed stage's PSNR against the clean crop where it is comparable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: the crop shown: the astronaut's face, rows and columns (even offsets keep the Bayer phase)
CROP = (slice(60, 156), slice(180, 276))
#: labels of the stages `camera_stages` returns, in order
LABELS = {
    "srgb": "1 sRGB input",
    "linear": "2 linear (inverse tone)",
    "raw": "3 raw (inverse gains)",
    "mosaic": "4 RGGB mosaic",
    "noisy": "5 + shot/read noise",
    "demosaiced": "6 demosaiced",
    "balanced": "7 gains, clip",
    "output": "8 tone curve, sRGB",
    "jpeg": "9 JPEG",
}
ZOOM, COLUMNS, GAP, BAND = 2, 5, 6, 16


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/_static/camera-stages.png"))
    parser.add_argument("--spec", default="camera:preset=phone-low-light,jpeg=80")
    args = parser.parse_args()

    import skimage.data
    from restore_builtins.camera_pipeline import bayer_masks, camera_stages

    from restore_core import default_host
    from restore_core.data.seeding import image_generator
    from restore_core.imaging.io import to_tensor

    camera = default_host().registry("degradation").build(args.spec)
    clean = to_tensor(skimage.data.astronaut())[0, :, CROP[0], CROP[1]].contiguous()
    stages = camera_stages(clean, image_generator(0, "astronaut-crop", camera.spec()), camera.settings)
    masks = bayer_masks(*clean.shape[-2:])

    tiles = []
    for key, image in stages.items():
        shown = image * masks if image.shape[0] == 1 else image  # a mosaic: each sample in its colour
        if key in ("output", "jpeg"):
            mse = float(((image.double() - clean.double()) ** 2).mean())
            print(f"{LABELS[key]}: PSNR {10 * np.log10(1 / mse):.2f} dB against the clean crop")
        array = (shown.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        tile = Image.fromarray(array).resize((array.shape[1] * ZOOM, array.shape[0] * ZOOM), Image.Resampling.NEAREST)
        tiles.append((LABELS[key] + (f" q{camera.settings.jpeg}" if key == "jpeg" else ""), tile))

    size = tiles[0][1].width
    rows = -(-len(tiles) // COLUMNS)
    sheet = Image.new("RGB", (COLUMNS * (size + GAP) - GAP, rows * (size + BAND + GAP) - GAP), "white")
    draw, font = ImageDraw.Draw(sheet), ImageFont.load_default()
    for i, (label, tile) in enumerate(tiles):
        x, y = (i % COLUMNS) * (size + GAP), (i // COLUMNS) * (size + BAND + GAP)
        draw.text((x + 2, y + 2), label, fill="black", font=font)
        sheet.paste(tile, (x, y + BAND))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(f"{camera.spec()}: iso {camera.settings.iso:g}, shot {camera.settings.shot:.2e}, "
          f"read {camera.settings.read:.2e}, gains {camera.settings.gains()}")
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
