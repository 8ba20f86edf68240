"""The visual report on real photographs (no ground truth): side-by-side crops and a no-reference check.

    python benchmarks/real_photos.py --out benchmarks/results/real-photos

Restores public-domain and CC0 photographs that scikit-image ships (their real sensor noise and
JPEG artefacts, at the levels their cameras left) with the real-noise model and the references,
through `restore_image`, and writes into --out:

- `crops.png`: per photo one row of crops, the input first, then each restorer, labelled;
- `report.md` and `report.json`: per photo and restorer, the flat-region noise of input and output
  and the edge contrast (`restore_core.imaging.no_reference`), whether the check passes (less flat
  noise, edge contrast at least 0.8), and the seconds each restore took; plus the machine.

The restorers: `real` (strength 1 and 0.5), the blind AWGN DnCNN-17 with and without pixel-shuffle
down-sampling, NLM and BM3D (when the `bm3d` plugin is installed) with the noise level estimated per
image. A restorer that is unavailable is listed with its reason instead of a crop.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: photo -> (scikit-image file, licence as scikit-image states it, crop rows, crop columns)
PHOTOS = {
    "astronaut": ("astronaut.png", "NASA, public domain", slice(40, 200), slice(160, 320)),
    "rocket": ("rocket.jpg", "SpaceX, public domain", slice(100, 260), slice(180, 340)),
    "chelsea": ("chelsea.png", "CC0, Stefan van der Walt", slice(60, 220), slice(120, 280)),
    "coffee": ("coffee.png", "CC0, Rachel Michetti", slice(40, 200), slice(300, 460)),
    "hubble": ("hubble_deep_field.jpg", "NASA, public domain", slice(200, 360), slice(200, 360)),
}
#: label -> (restorer spec, strength)
RESTORERS = {
    "real": ("real", 1.0),
    "real, strength 0.5": ("real", 0.5),
    "DnCNN-17 blind (AWGN)": ("dncnn:layers=17,blind=true", 1.0),
    "DnCNN-17 blind, pd=2": ("dncnn:layers=17,blind=true,pd=2", 1.0),
    "NLM, sigma auto": ("nlm:sigma=auto", 1.0),
    "BM3D, sigma auto": ("bm3d:sigma=auto", 1.0),
}
GAP, BAND = 4, 14


def _photo(name: str):
    """The float32 (1, 3, H, W) photo, read from scikit-image's data folder through restore's image I/O."""
    import skimage

    from restore_core.imaging.io import read_image

    return read_image(Path(skimage.__file__).parent / "data" / PHOTOS[name][0], mode="rgb")


def _tile(image, rows: slice, cols: slice) -> Image.Image:
    array = (image[0, :, rows, cols].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return Image.fromarray(array)


def main() -> int:
    """Restore every photo with every restorer; write the crops, the check and the machine."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/real-photos"))
    parser.add_argument("--photos", nargs="*", default=list(PHOTOS), choices=list(PHOTOS))
    args = parser.parse_args()

    import torch

    import restore_core
    from restore_core import default_host, restore_image
    from restore_core.errors import RestoreError
    from restore_core.imaging.no_reference import no_reference_check
    from restore_core.restoring import build_restorer, inference_description
    from restore_core.system.atomic_files import atomic_write_text
    from restore_core.system.hardware import cpu_model

    host = default_host()
    built, unavailable, ran_with = {}, {}, {}
    for label, (spec, _) in RESTORERS.items():
        try:
            built[label] = build_restorer(spec, host=host)
            ran_with[label] = inference_description(built[label])
        except RestoreError as error:  # e.g. bm3d without its plugin
            unavailable[label] = str(error)

    rows, sheet_rows = [], []
    for name in args.photos:
        photo = _photo(name)
        _, _, rows_crop, cols_crop = PHOTOS[name]
        tiles = [("input", _tile(photo, rows_crop, cols_crop))]
        for label, model in built.items():
            strength = RESTORERS[label][1]
            start = time.perf_counter()
            restored = restore_image(model, photo, strength=strength)
            seconds = time.perf_counter() - start
            (check,) = no_reference_check(photo, restored)
            rows.append({"photo": name, "restorer": label, "spec": RESTORERS[label][0], "strength": strength,
                         "noise_in": round(check.noise_in, 3), "noise_out": round(check.noise_out, 3),
                         "edge_contrast": round(check.edge_contrast, 3), "passes": check.passes(),
                         "seconds": round(seconds, 2)})
            tiles.append((label, _tile(restored, rows_crop, cols_crop)))
            print(f"{name:10s} {label:24s} flat noise {check.noise_in:5.2f} -> {check.noise_out:5.2f}, "
                  f"edge contrast {check.edge_contrast:.3f}, {seconds:.1f} s", flush=True)
        sheet_rows.append((name, tiles))

    size = sheet_rows[0][1][0][1].width
    columns = max(len(t) for _, t in sheet_rows)
    sheet = Image.new("RGB", (columns * (size + GAP) - GAP, len(sheet_rows) * (size + BAND + GAP) - GAP), "white")
    draw, font = ImageDraw.Draw(sheet), ImageFont.load_default()
    for r, (name, tiles) in enumerate(sheet_rows):
        for c, (label, tile) in enumerate(tiles):
            x, y = c * (size + GAP), r * (size + BAND + GAP)
            draw.text((x + 2, y + 1), f"{name}: {label}" if c == 0 else label, fill="black", font=font)
            sheet.paste(tile, (x, y + BAND))
    args.out.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out / "crops.png", optimize=True)

    record = {
        "command": "python benchmarks/real_photos.py " + " ".join(sys.argv[1:]),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": cpu_model(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "restore": restore_core.__version__, "torch": torch.__version__,
        "photos": {n: {"file": PHOTOS[n][0], "licence": PHOTOS[n][1]} for n in args.photos},
        "ran_with": ran_with, "unavailable": unavailable, "rows": rows,
    }
    atomic_write_text(args.out / "report.json", json.dumps(record, indent=1) + "\n")
    lines = ["# Real photographs: no-reference check\n",
             f"Command: `{record['command']}`. Recorded {record['date']} on {record['machine']} "
             f"({record['cpu_count']} CPUs, {record['torch_threads']} torch threads), restore {record['restore']}, "
             f"torch {record['torch']}.\n",
             "Photos (scikit-image's data folder): " + "; ".join(f"{n} (`{PHOTOS[n][0]}`, {PHOTOS[n][1]})"
                                                                 for n in args.photos) + ".\n",
             "Flat noise: the median standard deviation of luma (0-255) minus its Gaussian-smoothed self over the "
             "input's flattest 16x16 blocks; edge contrast: the restored image's smoothed gradient over the input's "
             "on the input's strongest 5% of edges (1 keeps them). Passes: less flat noise and edge contrast "
             ">= 0.8 (`restore_core.imaging.no_reference`).\n",
             "![crops](crops.png)\n",
             "| photo | restorer | flat noise in | flat noise out | edge contrast | passes | s |",
             "|---|---|---:|---:|---:|---|---:|"]
    lines += [f"| {r['photo']} | {r['restorer']} | {r['noise_in']:.2f} | {r['noise_out']:.2f} | "
              f"{r['edge_contrast']:.3f} | {'yes' if r['passes'] else 'no'} | {r['seconds']:.1f} |" for r in rows]
    if unavailable:
        lines += ["", *[f"- {label}: unavailable ({reason})" for label, reason in unavailable.items()]]
    lines += ["", "Ran with: " + "; ".join(f"{label}: {text}" for label, text in ran_with.items()), ""]
    atomic_write_text(args.out / "report.md", "\n".join(lines))
    print(f"wrote {args.out}/crops.png, report.md, report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
