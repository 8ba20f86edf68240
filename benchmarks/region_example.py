"""The region-selective example of docs/regions.md: denoise only a masked part of a noisy photo.

    python benchmarks/region_example.py --out docs/_static/region-mask-example.png

Writes scikit-image's astronaut with sigma-25 Gaussian noise (the `gaussian25` degradation, seed 0,
as an 8-bit PNG) and a disc-shaped mask over the face into a scratch folder, runs

    restore run dncnn noisy.png -o restored.png --sigma 25 --mask mask.png

as a user would, then saves a before/after 80x80 crop across the mask's edge, enlarged twice
(noisy on the left, restored on the right; the edge runs down the middle of both) and prints PSNR
inside and outside the mask (the `psnr:mask=...` metric) and whether every pixel beyond the feather
is unchanged in the file. Last,
it runs `restore run dncnn noisy.png -o auto.png --sigma auto`, which prints the estimated sigma.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

#: the mask: a disc over the astronaut's face (row, column, radius in pixels)
DISC = (150, 240, 70)
#: the crop shown, centred on the disc's left edge: rows and columns
CROP = (slice(110, 190), slice(130, 210))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/_static/region-mask-example.png"))
    args = parser.parse_args()

    import skimage.data
    import torch

    from restore_core import DENOISING, DegradationInfo, default_host
    from restore_core.data.seeding import image_generator
    from restore_core.imaging.io import read_image, to_tensor, write_png
    from restore_core.imaging.regions import DEFAULT_FEATHER, feather_weights

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        clean = to_tensor(skimage.data.astronaut())
        noise = default_host().registry("degradation").build("gaussian25")
        noisy = noise.degrade(clean, [image_generator(0, "astronaut", noise.spec())]).image
        write_png(folder / "noisy.png", noisy)
        rows, cols = np.indices(clean.shape[-2:])
        row, col, radius = DISC
        inside = (rows - row) ** 2 + (cols - col) ** 2 < radius**2
        Image.fromarray((inside * 255).astype(np.uint8)).save(folder / "mask.png")

        command = ["restore", "run", "dncnn", "noisy.png", "-o", "restored.png", "--sigma", "25", "--mask", "mask.png"]
        print("$", " ".join(command))
        subprocess.run(command, cwd=folder, check=True)

        before, after = read_image(folder / "noisy.png"), read_image(folder / "restored.png")
        untouched = feather_weights(torch.from_numpy(inside), DEFAULT_FEATHER) == 0
        same = torch.equal(before[..., untouched], after[..., untouched])
        metrics = default_host().registry("metric")
        info = DegradationInfo(DENOISING, sigma=25)  # the metrics' auto view: RGB, no border crop
        for where in ("inside", "outside"):
            psnr = metrics.build(f"psnr:mask={folder / 'mask.png'},where={where}")
            print(f"PSNR {where} the mask: noisy {float(psnr.measure(before, clean, info)[0]):.2f} dB, "
                  f"restored {float(psnr.measure(after, clean, info)[0]):.2f} dB")
        print(f"pixels beyond the {DEFAULT_FEATHER}-pixel feather unchanged in the file: {same}")
        # the same photo with its noise level unknown: estimated from the 8-bit file (clipped at 0 and 255)
        estimate = ["restore", "run", "dncnn", "noisy.png", "-o", "auto.png", "--sigma", "auto"]
        print("$", " ".join(estimate))
        subprocess.run(estimate, cwd=folder, check=True)

        crop = [(t[0, :, CROP[0], CROP[1]].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
                for t in (before, after)]
        gap = np.full((crop[0].shape[0], 4, 3), 255, np.uint8)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        pair = Image.fromarray(np.concatenate([crop[0], gap, crop[1]], axis=1))
        # shown twice as large, pixel for pixel, so the noise and the fade are visible on a page
        pair.resize((pair.width * 2, pair.height * 2), Image.Resampling.NEAREST).save(args.out, optimize=True)
        print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
