"""Property-based tests (hypothesis): the spec grammar, the results store and image round trips.

- A built component's `spec()` parses back to the same component; junk never raises anything but
  SpecError or UnknownNameError (both UsageErrors, exit code 2).
- The store: whatever byte a crash cuts `results.jsonl` at, and however appends, crashes and
  resumed runs interleave, `read_records` returns exactly the records whose lines were complete.
- Images: every mode and bit depth the reader accepts reads back exactly what was written.

Each property keeps `max_examples` small and has no deadline, so the file runs in a few seconds.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from restore_core.bench.records import CellKey, Record
from restore_core.bench.store import RESULTS, RunStore, read_records
from restore_core.errors import SpecError, UnknownNameError
from restore_core.imaging.io import read_array, read_image, to_array, to_tensor, write_png
from restore_core.plugins.host import default_host

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# ------------------------------------------------------------------------------------------ specs

_FLOAT = st.floats(0, 255, allow_nan=False).map(lambda v: round(v, 3))
# name -> parameter strategies, each within the range its component documents
COMPONENTS = {
    ("degradation", "gaussian"): {"sigma": _FLOAT, "clip": st.booleans()},
    ("degradation", "bicubic-down"): {"scale": st.integers(2, 16), "quantize": st.booleans()},
    ("restorer", "dncnn"): {"layers": st.integers(3, 30), "features": st.integers(1, 128), "blind": st.booleans()},
    ("restorer", "identity"): {},
    ("metric", "psnr"): {"channel": st.sampled_from(["auto", "rgb", "y"]), "crop": st.integers(0, 64)},
    ("metric", "ssim"): {"channel": st.sampled_from(["auto", "rgb", "y"]), "crop": st.integers(0, 64),
                         "window": st.sampled_from(["uniform", "gaussian"])},
}


@st.composite
def component_specs(draw: st.DrawFn) -> tuple[str, str]:
    kind, name = draw(st.sampled_from(sorted(COMPONENTS)))
    options = COMPONENTS[(kind, name)]
    chosen = draw(st.lists(st.sampled_from(sorted(options)), unique=True)) if options else []
    values = {key: draw(options[key]) for key in chosen}
    text = ",".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in values.items())
    return kind, name + (f":{text}" if text else "")


@FAST
@given(component_specs())
def test_a_spec_parses_back_to_the_same_component(case):
    kind, spec = case
    registry = default_host().registry(kind)
    built = registry.build(spec)
    again = registry.build(built.spec())
    assert type(again) is type(built) and again.params() == built.params(), (spec, built.spec())
    assert again.spec() == built.spec()


_JUNK = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="gaussian:=,+.-0123456789eE xscalerpnd", max_size=40),
    st.builds(lambda n, k, v: f"{n}:{k}={v}", st.sampled_from(["gaussian", "dncnn", "psnr", "x", "bicubic-down"]),
              st.text(alphabet="abcdefgilnorstuwxyz_", max_size=8), st.text(max_size=8)),
)


@FAST
@given(st.sampled_from(["degradation", "restorer", "metric"]), _JUNK)
def test_junk_specs_raise_only_spec_errors(kind, junk):
    with contextlib.suppress(SpecError, UnknownNameError):  # anything else fails the test
        default_host().registry(kind).build(junk)


# ------------------------------------------------------------------------------------------ store

_CELL = CellKey("identity", None, "gaussian25", "set")


def _record(i: int, score: float) -> Record:
    return Record(_CELL, "image", f"img{i}", {"psnr": score}, {"psnr": score - 1.0}, 0.01, 64, 0.5)


@FAST
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=12), st.floats(0, 1))
def test_a_cut_at_any_byte_keeps_exactly_the_complete_lines(tmp_path, scores, where):
    run = tmp_path / f"cut-{os.urandom(4).hex()}"
    with RunStore.create(run, {"matrix": {}}, resume=False) as store:
        for i, score in enumerate(scores):
            store.append(_record(i, score))
    data = (run / RESULTS).read_bytes()
    cut = int(where * len(data))
    (run / RESULTS).write_bytes(data[:cut])
    complete = data[:cut].count(b"\n") + (1 if data[:cut + 1].endswith(b"\n") and cut < len(data) else 0)
    got = read_records(run)
    assert [r.image for r in got] == [f"img{i}" for i in range(complete)]
    assert [r.metrics["psnr"] for r in got] == scores[:complete]


_STEPS = st.lists(st.one_of(st.tuples(st.just("append"), st.floats(0, 100, allow_nan=False)),
                            st.tuples(st.just("crash"), st.floats(0, 1))), min_size=1, max_size=16)


@FAST
@given(_STEPS)
def test_appends_crashes_and_resumes_never_lose_a_complete_record(tmp_path, steps):
    run = tmp_path / f"mix-{os.urandom(4).hex()}"
    store = RunStore.create(run, {"matrix": {}}, resume=False)
    kept: list[str] = []  # images whose lines the file holds completely, in order
    n = 0
    for op, value in steps:
        if op == "append":
            store.append(_record(n, value))
            kept.append(f"img{n}")
            n += 1
            continue
        # a crash tears the last line at a random byte (or not at all), then a resumed run opens it
        store.close()
        data = (run / RESULTS).read_bytes()
        if kept:
            start = data.rstrip(b"\n").rfind(b"\n") + 1
            cut = start + int(value * (len(data) - start))
            (run / RESULTS).write_bytes(data[:cut])
            if cut < len(data):  # a line without its newline is torn: the resumed run cuts it and redoes it
                kept.pop()
        store = RunStore.create(run, {"matrix": {}}, resume=True)
    store.close()
    assert [r.image for r in read_records(run)] == kept


# ------------------------------------------------------------------------------------------ images

_SHAPES = st.tuples(st.integers(1, 9), st.integers(1, 9), st.sampled_from([None, 3]))


def _arrays(dtype: type) -> st.SearchStrategy[np.ndarray]:
    return _SHAPES.flatmap(lambda s: hnp.arrays(dtype, s[:2] if s[2] is None else s))


@FAST
@given(st.one_of(_arrays(np.uint8), _arrays(np.uint16)))
def test_write_png_then_read_gives_the_same_values(tmp_path, array):
    bits = 8 if array.dtype == np.uint8 else 16
    path = write_png(tmp_path / f"{os.urandom(4).hex()}.png", to_tensor(array), bits=bits)
    assert np.array_equal(to_array(read_image(path), bits), array)


def _save_pil(fmt: str, **options: object):
    def save(path: Path, array: np.ndarray) -> None:
        Image.fromarray(array).save(path, format=fmt, **options)
    return save


# (suffix, how to write, dtype, channel choices): every kind of file the reader reads losslessly
FORMATS = {
    "png8": (".png", _save_pil("PNG"), np.uint8),
    "bmp": (".bmp", _save_pil("BMP"), np.uint8),
    "tiff8": (".tif", _save_pil("TIFF"), np.uint8),
    "tiff16": (".tif", lambda p, a: tifffile.imwrite(p, a, photometric="rgb" if a.ndim == 3 else None), np.uint16),
    "tiff-float": (".tif", lambda p, a: tifffile.imwrite(p, a, photometric="rgb" if a.ndim == 3 else None),
                   np.float32),
    "webp-lossless": (".webp", _save_pil("WEBP", lossless=True), np.uint8),
}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_lossless_format_reads_back_exactly(tmp_path, fmt):
    suffix, save, dtype = FORMATS[fmt]

    @FAST
    @given(_SHAPES.flatmap(lambda s: _elements(dtype, s[:2] if s[2] is None else s)))
    def check(array: np.ndarray) -> None:
        if fmt == "webp-lossless" and array.ndim == 2:
            array = np.stack([array] * 3, axis=2)  # WebP stores colour only
        path = tmp_path / f"{os.urandom(4).hex()}{suffix}"
        save(path, array)
        scale = 1.0 if dtype == np.float32 else float(np.iinfo(dtype).max)
        assert np.array_equal(read_array(path), array.astype(np.float64) / scale)

    check()


def _elements(dtype: type, shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    if dtype == np.float32:  # the reader's range for float files, [0, 1]
        return hnp.arrays(dtype, shape, elements=st.floats(0, 1, width=32))
    return hnp.arrays(dtype, shape)


@FAST
@given(hnp.arrays(np.bool_, st.tuples(st.integers(1, 9), st.integers(1, 9))))
def test_one_bit_images_read_as_zero_and_one(tmp_path, array):
    path = tmp_path / f"{os.urandom(4).hex()}.png"
    Image.fromarray(array).save(path)
    assert np.array_equal(read_array(path), array.astype(np.float64))
