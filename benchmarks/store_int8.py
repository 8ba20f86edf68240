"""Re-store trained weights as int8 (one fp32 scale per output slice): a quarter of the bytes.

    python benchmarks/store_int8.py runs/unet-32f-3lv-2b-gray-sigma25.safetensors \\
        plugins/restore_builtins/weights/unet-32f-3lv-2b-gray-sigma25.safetensors

Used for shipped weights too large for the repository; the model card's measured figures are then
taken from the int8 file, so they include the rounding.
"""

from __future__ import annotations

import argparse

from restore_core.train.weights import read_metadata, read_state, save_state


def main() -> None:
    """Convert one weights file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("target")
    args = parser.parse_args()
    metadata = {**read_metadata(args.source), "storage": "int8, one fp32 scale per output slice"}
    save_state(args.target, read_state(args.source), metadata, int8=True)


if __name__ == "__main__":
    main()
