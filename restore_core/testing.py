"""The conformance kit: the contract checks the project runs on its own components, for any plugin.

A plugin author adds one line to a test module of their package:

    from restore_core.testing import conformance_suite

    TestConformance = conformance_suite("median")   # the entry-point name of the plugin

and pytest runs every check below against every degradation, restorer, metric, dataset and
backend that plugin registers (with no argument: against everything installed). The check
functions are plain functions, usable without pytest's collection too.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import torch
from torch import nn

from restore_core.components.backends import Backend, ShapeRange
from restore_core.components.interfaces import DENOISING, Degradation, DegradationInfo, Metric, Restorer
from restore_core.data.datasets import Dataset
from restore_core.errors import RestoreError, SpecError, WeightsNotFoundError
from restore_core.plugins.host import PluginHost, default_host
from restore_core.plugins.registry import Registration, parameters


def generators(n: int, seed: int = 0) -> list[torch.Generator]:
    """One seeded generator per image."""
    return [torch.Generator().manual_seed(seed + i) for i in range(n)]


def natural_image(channels: int, size: int = 64) -> torch.Tensor:
    """A crop of a real photograph (scikit-image's astronaut) as (1, C, size, size) in [0, 1]."""
    import skimage.data

    from restore_core.imaging.io import to_tensor

    rgb = to_tensor(skimage.data.astronaut())[..., 180 : 180 + size, 180 : 180 + size]
    if channels == 1:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        return (rgb * weights).sum(1, keepdim=True).contiguous()
    return rgb.contiguous()


def check_registration(reg: Registration, host: PluginHost) -> None:
    """A registered component builds with defaults, describes itself, and rebuilds from its spec."""
    assert reg.description, f"{reg.kind} {reg.name!r} has no description (a `description` or docstring)"
    if reg.kind == "dataset":  # building a dataset opens it: check_dataset does that where it is local
        return
    registry = host.registry(reg.kind)
    component = registry.build(reg.name)
    if not callable(getattr(component, "spec", None)):
        return
    spec = component.spec()
    rebuilt = registry.build(spec).spec()
    assert rebuilt == spec, (
        f"{reg.kind} {reg.name!r}: building its spec() {spec!r} gives spec() {rebuilt!r}; {_SPEC_FIX}"
    )
    given = _default_spec(reg)
    if given is not None:
        missing = [key for key in given[1] if key not in registry.build(given[0]).params()]
        assert not missing, (
            f"{reg.kind} {reg.name!r}: {', '.join(missing)} given in {given[0]!r} but missing from its "
            f"spec(); {_SPEC_FIX}"
        )
    try:
        registry.build(f"{reg.name}:no_such_parameter_xyz=1")
    except SpecError:
        pass
    else:
        raise AssertionError(f"{reg.kind} {reg.name!r}: an unknown parameter must be a SpecError")


_SPEC_FIX = ("store each __init__ parameter unchanged under an attribute of the same name, or build it "
             "through the registry, or override params() to return the constructor parameters")


def _default_spec(reg: Registration) -> tuple[str, list[str]] | None:
    """A spec giving every parameter with a plain default explicitly, and those parameters' names."""
    given = {}
    for key, param in parameters(reg.factory).items():
        value = param.default
        if isinstance(value, bool | int | float) or (isinstance(value, str) and value and not set(value) & set(",:=")):
            given[key] = str(value).lower() if isinstance(value, bool) else str(value)
    if not given:
        return None
    return f"{reg.name}:" + ",".join(f"{k}={v}" for k, v in given.items()), list(given)


def check_degradation(deg: Degradation, channels: int) -> None:
    """Shapes, dtypes, the clean target, determinism, and independence from batch order."""
    clean = natural_image(channels, 50).repeat(2, 1, 1, 1)  # 50 px: a crop to a multiple of 3 or 4 shows
    clean[1] = clean[1].flip(-1)
    out = deg.degrade(clean, generators(2))
    assert out.image.dtype == torch.float32 and out.target.dtype == torch.float32, (
        f"image and target are float32, not {out.image.dtype} and {out.target.dtype}"
    )
    assert out.image.ndim == 4 and out.image.shape[:2] == clean.shape[:2], (
        f"the degraded batch {tuple(out.image.shape)} keeps (N, C) of the clean {tuple(clean.shape)}"
    )
    scale = out.info.scale
    h, w = clean.shape[-2] - clean.shape[-2] % scale, clean.shape[-1] - clean.shape[-1] % scale
    assert out.target.shape == (*clean.shape[:2], h, w), (
        f"the target {tuple(out.target.shape)} is the clean batch cropped to a multiple of x{scale}: "
        f"{(*clean.shape[:2], h, w)}"
    )
    assert torch.equal(out.target, clean[..., :h, :w]), (
        "the target is the clean input (top-left crop to a multiple of the scale), unchanged"
    )
    assert out.image.shape[-2:] == (h // scale, w // scale), (
        f"the degraded image {tuple(out.image.shape[-2:])} is the target's size / x{scale}: {(h // scale, w // scale)}"
    )
    assert torch.equal(out.image, deg.degrade(clean, generators(2)).image), "same generators, same output"
    alone = deg.degrade(clean[1:], generators(1, seed=1))
    assert torch.equal(alone.image[0], out.image[1]), "an image's degradation must not depend on the batch"


def check_restorer(restorer: Restorer, deg: Degradation, channels: int) -> None:
    """Output shape, dtype and range, and determinism, wherever the restorer says it applies."""
    clean = natural_image(channels, 48)
    degraded = deg.degrade(clean, generators(1))
    reason = restorer.supports(degraded.info, channels)
    if reason is not None:
        assert isinstance(reason, str) and reason, "supports() returns None or a reason"
        return
    try:
        restorer.prepare(degraded.info, channels)
    except WeightsNotFoundError as exc:
        assert "restore train" in str(exc), "a missing-weights error names the command that trains them"
        pytest.skip(f"no weights: {exc}")
    out = restorer.restore(degraded.image, degraded.info)
    assert out.shape == degraded.target.shape, f"{tuple(out.shape)} != target {tuple(degraded.target.shape)}"
    assert out.dtype == torch.float32, f"the restored batch is float32, not {out.dtype}"
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0, "outputs are clipped to [0, 1]"
    assert torch.equal(out, restorer.restore(degraded.image, degraded.info)), "restoring is deterministic"


def check_metric(metric: Metric) -> None:
    """One float64 score per image, deterministic, and worse for more noise."""
    clean = natural_image(3, 48).repeat(2, 1, 1, 1)
    info = DegradationInfo(DENOISING, sigma=10)
    gen = generators(1)[0]
    noise = torch.randn(clean.shape, generator=gen)
    mild, strong = (clean + 0.02 * noise).clamp(0, 1), (clean + 0.2 * noise).clamp(0, 1)
    values = metric.measure(mild, clean, info)
    assert values.shape == (2,) and values.dtype == torch.float64, "one float64 value per image"
    assert torch.equal(values, metric.measure(mild, clean, info)), "scoring is deterministic"
    worse = metric.measure(strong, clean, info)
    sign = 1 if metric.higher_is_better else -1
    assert bool((sign * (values - worse) > 0).all()), "more noise must score worse"


def check_dataset(build: object) -> None:
    """A dataset opens (or says clearly why it cannot) and yields float32 (1, C, H, W) images."""
    locate = getattr(build, "locate", None)
    if callable(locate) and locate().path is None:
        pytest.skip("not on this machine (no download in tests)")
    try:
        data = build()  # type: ignore[operator]
    except RestoreError as exc:
        assert "\n" not in str(exc), "errors are one line"
        pytest.skip(f"not available here: {exc}")
    assert isinstance(data, Dataset), f"a dataset factory returns a Dataset, not {type(data).__name__}"
    assert len(data) > 0, "a dataset that opens holds at least one image"
    image = data.load(0)
    assert image.dtype == torch.float32 and image.ndim == 4 and image.shape[0] == 1 and image.shape[1] in (1, 3), (
        f"load() returns float32 (1, C, H, W) with C 1 or 3, not {image.dtype} {tuple(image.shape)}"
    )
    assert 0 <= float(image.min()) <= float(image.max()) <= 1, "load() returns values in [0, 1]"


def check_backend(backend: Backend) -> None:
    """Unavailable with a reason, or agreeing with plain PyTorch within 1e-4 (fp32)."""
    reason = backend.unavailable()
    if reason is not None:
        assert isinstance(reason, str) and reason, "unavailable() returns None or a reason"
        pytest.skip(f"unavailable here: {reason}")
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))
    net.train()
    with torch.no_grad():
        net(torch.rand(4, 3, 16, 16))
    net.eval()
    x = torch.rand(1, 3, 40, 36)
    with torch.no_grad():
        expected = net(x)
    out = backend.prepare(net, ShapeRange.around(x.shape))(x)
    assert out.dtype == torch.float32 and out.device.type == "cpu" and out.shape == expected.shape, (
        f"a prepared runner returns float32 on the CPU shaped {tuple(expected.shape)}, "
        f"not {out.dtype} on {out.device.type} shaped {tuple(out.shape)}"
    )
    tolerance = 1e-4 if backend.precision == "fp32" else 5e-2
    error = float((out - expected).abs().max())
    assert error <= tolerance, f"differs from plain PyTorch by {error:.2g} (tolerance {tolerance:g})"


def _names(host: PluginHost, kind: str, plugin: str | None) -> Sequence[object]:
    names = [r.name for r in host.registry(kind) if plugin is None or r.plugin == plugin]
    return names or [pytest.param(None, marks=pytest.mark.skip(reason=f"the plugin registers no {kind}"))]


def check_plugin_loaded(plugin: str | None, host: PluginHost) -> None:
    """Fail unless `plugin` (every plugin when None) is installed and loaded without failures."""
    infos = {p.name: p for p in host.plugins()}
    if plugin is not None and plugin not in infos:
        installed = ", ".join(sorted(infos)) or "none"
        pytest.fail(f"no installed plugin is named {plugin!r} (the entry-point name `restore plugins` shows; "
                    f"installed: {installed})", pytrace=False)
    failed = {name: info.failures for name, info in infos.items()
              if info.failures and (plugin is None or name == plugin)}
    if failed:
        pytest.fail("; ".join(f"plugin {name!r} failed to load: {'; '.join(why)}" for name, why in failed.items()),
                    pytrace=False)


def conformance_suite(plugin: str | None = None, host: PluginHost | None = None) -> type:
    """Return a pytest test class running every check on what `plugin` registers (all when None)."""
    host = host or default_host()
    all_degradations = [r.name for r in host.registry("degradation")]

    class Conformance:
        """The restore conformance checks (restore_core.testing)."""

        # a plugin that failed to load registers nothing, so every other test would skip: this one fails
        def test_plugin_loaded_without_failures(self) -> None:
            check_plugin_loaded(plugin, host)

        @pytest.mark.parametrize("kind", ["degradation", "restorer", "metric", "dataset", "backend"])
        def test_registration(self, kind: str) -> None:
            for reg in host.registry(kind):
                if plugin is None or reg.plugin == plugin:
                    check_registration(reg, host)

        @pytest.mark.parametrize("channels", [1, 3])
        @pytest.mark.parametrize("name", _names(host, "degradation", plugin))
        def test_degradation(self, name: str, channels: int) -> None:
            check_degradation(host.registry("degradation").build(name), channels)

        @pytest.mark.parametrize("channels", [1, 3])
        @pytest.mark.parametrize("degradation", all_degradations)
        @pytest.mark.parametrize("name", _names(host, "restorer", plugin))
        def test_restorer(self, name: str, degradation: str, channels: int) -> None:
            check_restorer(host.registry("restorer").build(name), host.registry("degradation").build(degradation),
                           channels)

        @pytest.mark.parametrize("name", _names(host, "metric", plugin))
        def test_metric(self, name: str) -> None:
            check_metric(host.registry("metric").build(name))

        @pytest.mark.parametrize("name", _names(host, "dataset", plugin))
        def test_dataset(self, name: str) -> None:
            check_dataset(host.registry("dataset").lookup(name).factory)  # type: ignore[union-attr]

        @pytest.mark.parametrize("name", _names(host, "backend", plugin))
        def test_backend(self, name: str) -> None:
            check_backend(host.registry("backend").build(name))

    return Conformance
