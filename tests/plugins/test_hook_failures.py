"""A failing hook call names the hook and the plugin, and registers none of its components."""

from __future__ import annotations

import types
import warnings

import pytest
from click.testing import CliRunner

from restore_core import DENOISING, Restorer, hookimpl
from restore_core.cli import cli
from restore_core.errors import DuplicateNameError, PluginError
from restore_core.plugins.host import PluginHost, PluginWarning
from restore_core.plugins.registry import Registration, Registry


class Extra(Restorer):
    name = "extra-one"
    tasks = frozenset({DENOISING})

    def restore(self, degraded, info):
        return degraded


def _plugin(**hooks) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{k: hookimpl(v) for k, v in hooks.items()})


def _raising(register):
    register(Extra)
    raise ValueError("no config file")


def test_hook_failure_message_names_the_hook_and_the_plugin(fresh_host):
    fresh_host.add_plugin(_plugin(register_restorers=_raising), "extra")
    try:
        with pytest.warns(PluginWarning) as caught:
            restorers = fresh_host.registry("restorer")
        expected = "register_restorers of 'extra' failed; its restorers are disabled: ValueError: no config file"
        assert [str(w.message) for w in caught if "extra" in str(w.message)] == [expected]
        assert restorers.lookup("extra-one") is None
        assert {p.name: p for p in fresh_host.plugins()}["extra"].failures == (expected,)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PluginWarning)
            shown = CliRunner().invoke(cli, ["plugins"], obj=fresh_host).stdout
        assert expected in " ".join(shown.replace("│", " ").split())  # the status cell may wrap
    finally:
        fresh_host.remove_plugin("extra")


def test_strict_mode_error_names_the_hook():
    host = PluginHost(strict=True)
    host.load_entry_points()
    host.add_plugin(_plugin(register_restorers=_raising), "extra")
    try:
        with pytest.raises(PluginError, match=r"^register_restorers of 'extra' failed; its restorers are "
                                              r"disabled: ValueError: no config file$"):
            host.registry("restorer")
    finally:
        host.remove_plugin("extra")


def test_a_clash_half_way_keeps_none_of_the_hook_call(fresh_host):
    def register_restorers(register):
        register(Extra)  # free name, staged first
        register(Extra, name="dncnn")  # taken by the built-in

    fresh_host.add_plugin(_plugin(register_restorers=register_restorers), "clasher")
    try:
        with pytest.warns(PluginWarning, match="register_restorers of 'clasher' failed.*DuplicateNameError.*dncnn"):
            restorers = fresh_host.registry("restorer")
        assert restorers.lookup("extra-one") is None
        assert restorers.lookup("dncnn").plugin == "dncnn"
    finally:
        fresh_host.remove_plugin("clasher")


def test_an_alias_clash_keeps_none_of_the_hook_call(fresh_host):
    def register_restorers(register):
        register(Extra)
        register(Extra, name="extra-two", aliases=("x-two", "identity"))

    fresh_host.add_plugin(_plugin(register_restorers=register_restorers), "aliaser")
    try:
        with pytest.warns(PluginWarning, match="'identity'"):
            restorers = fresh_host.registry("restorer")
        assert restorers.lookup("extra-one") is None and restorers.lookup("x-two") is None
    finally:
        fresh_host.remove_plugin("aliaser")


def test_a_clash_within_one_hook_call_keeps_none(fresh_host):
    def register_restorers(register):
        register(Extra)
        register(Extra, name="extra-two")
        register(Extra, name="extra-three", aliases=("extra-two",))

    fresh_host.add_plugin(_plugin(register_restorers=register_restorers), "twice")
    try:
        with pytest.warns(PluginWarning, match="'extra-two' from plugin 'twice' is already registered by "
                                               "plugin 'twice'"):
            restorers = fresh_host.registry("restorer")
        assert not {"extra-one", "extra-two", "extra-three"} & set(restorers.names())
    finally:
        fresh_host.remove_plugin("twice")


def test_other_hooks_of_the_plugin_keep_working(fresh_host):
    def register_metrics(register):
        raise RuntimeError("metrics broke")

    fresh_host.add_plugin(_plugin(register_restorers=lambda register: register(Extra),
                                  register_metrics=register_metrics), "partial")
    try:
        with pytest.warns(PluginWarning, match="register_metrics of 'partial' failed; its metrics are disabled"):
            metrics = fresh_host.registry("metric")
        assert "psnr" in metrics.names()
        assert fresh_host.registry("restorer").lookup("extra-one").plugin == "partial"
    finally:
        fresh_host.remove_plugin("partial")


def test_registry_add_all_is_all_or_nothing():
    registry = Registry("restorer")
    registry.add(Registration("restorer", "taken", Extra, "first"))
    batch = [Registration("restorer", "free", Extra, "second"),
             Registration("restorer", "other", Extra, "second", aliases=("taken",))]
    with pytest.raises(DuplicateNameError, match="'taken' from plugin 'second' is already registered by "
                                                 "plugin 'first'"):
        registry.add_all(batch)
    assert registry.names() == ["taken"]
