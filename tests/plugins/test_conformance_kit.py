"""The conformance kit fails, with a message that says what to fix, on plugins that break the contract."""

from __future__ import annotations

import ast
import importlib.metadata as md
import inspect
import types
import warnings
from collections.abc import Sequence

import pytest
import torch

import restore_core.testing as kit
from restore_core import DENOISING, SUPER_RESOLUTION, Degradation, DegradationInfo, Degraded, Restorer, hookimpl
from restore_core.plugins.host import PluginWarning
from restore_core.testing import check_degradation, check_registration, conformance_suite


def _plugin(**hooks) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{k: hookimpl(v) for k, v in hooks.items()})


class Renamed(Restorer):
    """Keeps its `size` parameter as `self.k`."""

    name = "renamed"
    tasks = frozenset({DENOISING})

    def __init__(self, size: int = 3) -> None:
        self.k = size

    def restore(self, degraded, info):
        return degraded.clamp(0, 1)


class Rescaled(Restorer):
    """Keeps its `size` parameter transformed under the same name: spec() cannot rebuild it."""

    name = "rescaled"
    tasks = frozenset({DENOISING})

    def __init__(self, size: int = 3) -> None:
        self.size = size * 2

    def restore(self, degraded, info):
        return degraded.clamp(0, 1)


class Forgetful(Renamed):
    """Reports no parameters at all."""

    name = "forgetful"

    def params(self):
        return {}


class NoisyTarget(Degradation):
    """Scores against the noisy batch instead of the clean one."""

    name = "noisy-target"
    task = DENOISING

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        noisy = (clean + 0.1).clamp(0, 1)
        return Degraded(noisy, noisy, DegradationInfo(DENOISING, sigma=10))


class CentreCrop(Degradation):
    """Down-samples by 4 after a centred crop (the target must be the top-left crop)."""

    name = "centre-crop"
    task = SUPER_RESOLUTION

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        h, w = clean.shape[-2] // 4 * 4, clean.shape[-1] // 4 * 4
        top, left = (clean.shape[-2] - h) // 2, (clean.shape[-1] - w) // 2
        target = clean[..., top : top + h, left : left + w]
        return Degraded(target[..., ::4, ::4], target, DegradationInfo(SUPER_RESOLUTION, scale=4))


class TopLeftCrop(CentreCrop):
    """Down-samples by 4 after the customary top-left crop."""

    name = "top-left-crop"

    def degrade(self, clean: torch.Tensor, generators: Sequence[torch.Generator]) -> Degraded:
        target = clean[..., : clean.shape[-2] // 4 * 4, : clean.shape[-1] // 4 * 4]
        return Degraded(target[..., ::4, ::4], target, DegradationInfo(SUPER_RESOLUTION, scale=4))


@pytest.fixture
def host(fresh_host):
    """The fresh host with a plugin `tiny` registering the components above."""
    fresh_host.add_plugin(_plugin(register_restorers=lambda register: [register(c) for c in (Renamed, Rescaled,
                                                                                            Forgetful)]), "tiny")
    try:
        yield fresh_host
    finally:
        fresh_host.remove_plugin("tiny")


def test_a_parameter_kept_under_another_name_survives_spec(host):
    restorers = host.registry("restorer")
    built = restorers.build("renamed:size=5")
    assert built.spec() == "renamed:size=5" and built.short_spec() == "renamed:size=5"
    assert restorers.build(built.spec()).k == 5
    assert restorers.build("renamed").spec() == "renamed:size=3"
    assert Renamed(size=5).spec() == "renamed"  # built in Python, not by the registry: attributes only
    check_registration(restorers.lookup("renamed"), host)


def test_a_spec_that_does_not_rebuild_fails_with_the_fix(host):
    with pytest.raises(AssertionError, match=r"rescaled.*gives spec\(\) 'rescaled:size=12'.*store each __init__ "
                                             r"parameter unchanged under an attribute of the same name"):
        check_registration(host.registry("restorer").lookup("rescaled"), host)


def test_a_parameter_missing_from_spec_fails_with_the_fix(host):
    with pytest.raises(AssertionError, match=r"forgetful.*size given in 'forgetful:size=3' but missing from its "
                                             r"spec\(\); store each __init__ parameter"):
        check_registration(host.registry("restorer").lookup("forgetful"), host)


def test_the_target_must_be_the_clean_input():
    with pytest.raises(AssertionError, match="the target is the clean input"):
        check_degradation(NoisyTarget(), 3)


def test_a_scaled_target_is_the_top_left_crop():
    check_degradation(TopLeftCrop(), 1)
    with pytest.raises(AssertionError, match=r"top-left crop"):
        check_degradation(CentreCrop(), 1)


def test_a_hook_failure_fails_the_suite(fresh_host):
    def register_restorers(register):
        raise ValueError("broken config")

    fresh_host.add_plugin(_plugin(register_restorers=register_restorers), "badhook")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PluginWarning)
            suite = conformance_suite("badhook", host=fresh_host)
            with pytest.raises(pytest.fail.Exception, match=r"plugin 'badhook' failed to load: register_restorers "
                                                            r"of 'badhook' failed.*ValueError: broken config"):
                suite().test_plugin_loaded_without_failures()
    finally:
        fresh_host.remove_plugin("badhook")


def test_an_import_failure_fails_the_suite(fresh_host):
    ep = md.EntryPoint(name="ghost", value="restore_no_such_module_xyz", group="restore.plugins")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        fresh_host.load_entry_points([ep])
    suite = conformance_suite("ghost", host=fresh_host)
    with pytest.raises(pytest.fail.Exception, match="plugin 'ghost' failed to load: import failed: "
                                                    "ModuleNotFoundError"):
        suite().test_plugin_loaded_without_failures()


def test_a_plugin_that_is_not_installed_fails_the_suite(fresh_host):
    suite = conformance_suite("no-such-plugin", host=fresh_host)
    with pytest.raises(pytest.fail.Exception, match="no installed plugin is named 'no-such-plugin'"):
        suite().test_plugin_loaded_without_failures()


def test_a_healthy_plugin_passes_the_load_check(host):
    conformance_suite("tiny", host=host)().test_plugin_loaded_without_failures()


def test_every_assert_of_the_kit_says_what_failed():
    tree = ast.parse(inspect.getsource(kit))
    bare = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert) and node.msg is None]
    assert not bare, f"asserts without a message in restore_core/testing.py at lines {bare}"
