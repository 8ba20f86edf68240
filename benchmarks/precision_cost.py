"""What each backend's precision costs in PSNR against eager fp32, on the shipped weights.

    python benchmarks/precision_cost.py --limit 10 --crop 256 --out benchmarks/results/precision-cost-amd-epyc

For every shipped model (DnCNN-7 and -17, U-Net, gray on BSD68 and colour on CBSD68 at sigma 25;
SRCNN x2/x3/x4 on Set5), each image is degraded once from its own seed and restored by eager fp32,
every available backend in its default precision (optimized and openvino choose per machine), the
explicit reduced precisions (optimized bf16, openvino bf16) and ONNX Runtime int8: static
post-training quantization (QDQ, per-channel weights, MinMax) calibrated on 16 patches of the
model's training set (BSD400 / CBSD432, 96x96, degraded as in training), captured at the network's
input. Reported: mean PSNR and its difference from eager fp32. `precision=int8` is offered only
where it costs at most 0.05 dB; a default precision must cost at most 0.02 dB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
from pathlib import Path

import torch

from restore_core.components.backends import Backend, ShapeRange
from restore_core.components.onnx_export import INPUT, export_onnx, installed
from restore_core.plugins.host import default_host
from restore_core.plugins.specs import split_specs
from restore_core.system.atomic_files import atomic_write_text
from restore_core.system.hardware import cpu_model

#: label -> (restorer spec, degradation spec, test set, training set for int8 calibration)
MODELS = {
    "dncnn7-gray": ("dncnn", "gaussian25", "bsd68", "bsd400"),
    "dncnn17-gray": ("dncnn:layers=17", "gaussian25", "bsd68", "bsd400"),
    "unet-gray": ("unet", "gaussian25", "bsd68", "bsd400"),
    "dncnn7-rgb": ("dncnn", "gaussian25", "cbsd68", "cbsd432"),
    "dncnn17-rgb-blind": ("dncnn:layers=17,blind=true", "gaussian25", "cbsd68", "cbsd432"),
    "srcnn-x2": ("srcnn", "x2", "set5", "bsd400"),
    "srcnn-x3": ("srcnn", "x3", "set5", "bsd400"),
    "srcnn-x4": ("srcnn", "x4", "set5", "bsd400"),
}
BACKENDS = ["optimized", "optimized:precision=fp32", "optimized:precision=bf16", "onnxruntime",
            "openvino", "openvino:precision=bf16"]
INT8_LIMIT_DB, DEFAULT_LIMIT_DB = 0.05, 0.02


class Recorder(Backend):
    """Eager fp32 that keeps a copy of every network input (the int8 calibration data)."""

    name = "recorder"

    def __init__(self) -> None:
        super().__init__("fp32")
        self.inputs: list[torch.Tensor] = []

    def prepare(self, module: torch.nn.Module, shapes: ShapeRange):
        """Run `module` as it is, recording its inputs."""
        def run(x: torch.Tensor) -> torch.Tensor:
            self.inputs.append(x.clone())
            with torch.inference_mode():
                return module(x)
        return run


class OrtInt8(Backend):
    """ONNX Runtime on a statically quantized copy of the exported network (int8 QDQ)."""

    name = "onnxruntime-int8"

    def __init__(self, calibration: list[torch.Tensor]) -> None:
        super().__init__("fp32")
        self.calibration = calibration

    def prepare(self, module: torch.nn.Module, shapes: ShapeRange):
        """Quantize with the calibration inputs and open a session."""
        import onnxruntime as ort
        from onnxruntime.quantization import (
            CalibrationDataReader,
            QuantFormat,
            QuantType,
            quant_pre_process,
            quantize_static,
        )

        batches = iter([{INPUT: x.numpy()} for x in self.calibration])

        class Reader(CalibrationDataReader):
            def get_next(self):
                return next(batches, None)

        with tempfile.TemporaryDirectory() as tmp:
            fp32, pre, int8 = Path(tmp, "fp32.onnx"), Path(tmp, "pre.onnx"), Path(tmp, "int8.onnx")
            fp32.write_bytes(export_onnx(module))
            quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
            quantize_static(str(pre), str(int8), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
            options = ort.SessionOptions()
            options.intra_op_num_threads = torch.get_num_threads()
            session = ort.InferenceSession(str(int8), options, providers=["CPUExecutionProvider"])

        def run(x: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(session.run(None, {INPUT: x.contiguous().numpy()})[0])
        return run


def scores(host, restorer_spec: str, backend: Backend, degraded: list) -> list[float]:
    """PSNR of each degraded image restored through `backend`."""
    restorer = host.registry("restorer").build(restorer_spec)
    restorer.configure_inference(backend, tile=None)
    metric = host.registry("metric").build("psnr")
    return [float(metric.measure(restorer.restore(d.image, d.info), d.target, d.info)[0]) for d in degraded]


def degraded_set(host, dataset: str, degradation: str, limit: int, crop: int | None, seed: int) -> list:
    """Each image of `dataset` degraded once from its own generator."""
    deg = host.registry("degradation").build(degradation)
    data = host.registry("dataset").build(dataset).limit(limit).cropped(crop)
    return [deg.degrade(clean, [torch.Generator().manual_seed(seed + i)]) for i, (_, clean) in enumerate(data)]


def main() -> None:
    """Measure every model's PSNR per backend; write JSON and Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", action="extend", nargs="+", default=None,
                        help=f"models among {','.join(MODELS)} (default: all)")
    parser.add_argument("--int8", action="extend", nargs="+", default=None,
                        help="models to quantize to int8 (default: dncnn7-gray,dncnn7-rgb,srcnn-x2)")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--out", type=Path, required=True, help="path stem for .json and .md")
    ns = parser.parse_args()
    models = split_specs(ns.models or list(MODELS))
    int8_models = split_specs(ns.int8 or ["dncnn7-gray", "dncnn7-rgb", "srcnn-x2"])
    host = default_host()
    rows = []
    for label in models:
        spec, degradation, test, train = MODELS[label]
        degraded = degraded_set(host, test, degradation, ns.limit, ns.crop, seed=0)
        reference = scores(host, spec, host.registry("backend").build("eager:device=cpu"), degraded)
        measured = {}
        for backend_spec in BACKENDS:
            backend = host.registry("backend").build(backend_spec)
            if backend.unavailable() is None:
                measured[f"{backend_spec} ({backend.describe()})"] = scores(host, spec, backend, degraded)
        if label in int8_models and installed("onnxruntime"):
            recorder = Recorder()
            scores(host, spec, recorder, degraded_set(host, train, degradation, 16, 96, seed=10_000))
            measured["onnxruntime int8 (static QDQ)"] = scores(host, spec, OrtInt8(recorder.inputs), degraded)
        base = statistics.fmean(reference)
        row = {"model": label, "restorer": spec, "degradation": degradation, "dataset": test,
               "images": len(degraded), "eager_fp32_psnr": round(base, 4),
               "backends": {name: {"psnr": round(statistics.fmean(v), 4),
                                   "cost_db": round(base - statistics.fmean(v), 4),
                                   "worst_image_cost_db": round(max(r - s for r, s in zip(reference, v, strict=True)),
                                                                4)}
                            for name, v in measured.items()}}
        rows.append(row)
        print(json.dumps(row), flush=True)
    record = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": cpu_model(),
              "torch": torch.__version__, "limit": ns.limit, "crop": ns.crop,
              "command": "python benchmarks/precision_cost.py " + " ".join(sys.argv[1:]), "rows": rows}
    ns.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(ns.out.with_suffix(".json"), json.dumps(record, indent=1) + "\n")
    lines = ["# PSNR cost of each backend's precision", "", f"Command: `{record['command']}`", "",
             f"Recorded {record['date']} on {record['machine']}, torch {record['torch']}; the first "
             f"{ns.limit} images of each test set, centre-cropped to {ns.crop}. `cost` is eager fp32's mean PSNR "
             f"minus the backend's (positive: worse); int8 is offered only at <= {INT8_LIMIT_DB} dB, a default "
             f"precision must cost <= {DEFAULT_LIMIT_DB} dB.", "",
             "| model | dataset | eager fp32 dB | backend | dB | cost dB | worst image cost dB |",
             "|---|---|---:|---|---:|---:|---:|"]
    for r in rows:
        for name, b in r["backends"].items():
            lines.append(f"| {r['model']} | {r['dataset']} | {r['eager_fp32_psnr']:.3f} | {name} | {b['psnr']:.3f} | "
                         f"{b['cost_db']:+.4f} | {b['worst_image_cost_db']:+.4f} |")
    atomic_write_text(ns.out.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
