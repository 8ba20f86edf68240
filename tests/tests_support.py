"""Constants the test modules share (conftest.py holds the fixtures)."""

from __future__ import annotations

import os
from pathlib import Path

#: the shared public datasets: RESTORE_DATA when set, else ../shared/datasets beside the checkout
SHARED = Path(os.environ.get("RESTORE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "datasets")
