"""The shipped weights reach the figures the project promises, measured by the benchmark runner.

These are the acceptance figures: DnCNN-7 at sigma 25 gains at least the original study's
+8.97 dB with SSIM >= 0.70 on the embedded default set, and SRCNN x3 beats bicubic on Set5
(Y channel, border cropped) by at least 0.5 dB.
"""

from __future__ import annotations

import pytest

from restore_core.bench.plan import BenchPlan
from restore_core.bench.runner import run_plan
from restore_core.data.datasets import open_dataset
from restore_core.plugins.host import default_host


def _bench(host, restorers: list[str], degradation: str, dataset: str) -> dict[str, object]:
    result = run_plan(BenchPlan.from_specs(restorers, degradation, dataset, "psnr,ssim"), host=host)
    return {c.restorer: c for c in result.cells}


@pytest.mark.parametrize("dataset", ["skimage", "skimage-gray"])
def test_dncnn_beats_the_original_study_on_the_embedded_default(host, dataset):
    data = open_dataset(default_host().registry("dataset"), dataset)
    cells = _bench(host, ["dncnn", "nlm", "identity"], "gaussian25", dataset)
    dncnn = cells["dncnn"]
    gain = dncnn.mean("psnr") - dncnn.mean("psnr", of_input=True)
    assert dncnn.images == len(data)
    assert gain >= 8.97, f"DnCNN gains {gain:.2f} dB on {dataset}"
    assert dncnn.mean("ssim") >= 0.70
    # a learned model counts only when it beats the classical reference on the same images
    assert dncnn.mean("psnr") > cells["nlm"].mean("psnr") + 0.5
    assert cells["identity"].mean("psnr") == pytest.approx(dncnn.mean("psnr", of_input=True))


def test_srcnn_beats_bicubic_on_set5(host, shared_data):
    cells = _bench(host, ["srcnn", "bicubic"], "x3", str(shared_data("test/set5")))
    margin = cells["srcnn"].mean("psnr") - cells["bicubic"].mean("psnr")
    assert cells["bicubic"].mean("psnr") == pytest.approx(30.39, abs=0.1)  # the published bicubic figure
    assert margin >= 0.5, f"SRCNN beats bicubic by only {margin:.2f} dB"
