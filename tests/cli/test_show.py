"""`restore show NAME` and `restore list -v`: what a component is and which parameters it takes."""

from __future__ import annotations

import json
import types
from typing import Literal

import pytest
from click.testing import CliRunner, Result

from restore_core import DENOISING, Degradation, Metric, hookimpl
from restore_core.cli import cli
from restore_core.plugins.describe import describe, find, type_text
from restore_core.plugins.registry import KINDS


def invoke(*args: str, host=None) -> Result:
    return CliRunner().invoke(cli, list(args), obj=host, catch_exceptions=False)


def shown(*args: str, host=None) -> list[dict]:
    result = invoke("show", *args, "--format", "json", host=host)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


class Sharpness(Metric):
    """A lower-is-better metric whose name a degradation also takes (test only)."""

    name = "identity"
    description = "a stand-in metric named like the identity restorer"
    higher_is_better = False
    unit = "px"

    def __init__(self, window: int, border: Literal["reflect", "zero"] | None = "reflect",
                 exact: bool = True) -> None:
        self.window, self.border, self.exact = window, border, exact

    def measure(self, restored, target, info):
        """Never called: describing builds nothing."""
        raise AssertionError("describe must not build or run a component")


class Smudge(Degradation):
    """A degradation annotated with a name only a type checker would import (test only)."""

    name = "smudge"
    description = "test only"
    task = DENOISING

    def __init__(self, strength: NotImportedHere = 2.0) -> None:  # noqa: F821 - unresolvable on purpose
        self.strength = strength

    def degrade(self, clean, generators):
        """Never called."""
        raise AssertionError


@pytest.fixture
def extra_host(fresh_host):
    plugin = types.SimpleNamespace(register_metrics=hookimpl(lambda register: register(Sharpness)),
                                   register_degradations=hookimpl(lambda register: register(Smudge)))
    fresh_host.add_plugin(plugin, "showcase")
    try:
        yield fresh_host
    finally:
        fresh_host.remove_plugin("showcase")


def test_show_a_restorer_names_plugin_task_channels_and_parameters():
    result = invoke("show", "dncnn")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for needle in ("restorer", "dncnn", "restore-framework", "denoising", "1, 3", "layers", "int", "7",
                   "blind", "true, false", "weights", "str | None", "none"):
        assert needle in out, needle


def test_show_json_of_a_metric_has_direction_unit_and_literal_choices():
    (psnr,) = shown("psnr")
    assert (psnr["kind"], psnr["plugin"], psnr["distribution"]) == ("metric", "psnr", "restore-framework")
    assert psnr["higher_is_better"] is True and psnr["unit"] == "dB"
    params = {p["name"]: p for p in psnr["parameters"]}
    assert params["channel"] == {"name": "channel", "type": "'auto' | 'rgb' | 'y'", "default": "auto",
                                 "required": False, "choices": ["auto", "rgb", "y"]}
    assert params["crop"]["type"] == "int | None" and params["crop"]["default"] is None


def test_show_a_degradation_by_alias_or_shorthand():
    (by_alias,), (by_shorthand,) = shown("awgn"), shown("gaussian25")
    assert by_alias == by_shorthand
    assert by_alias["name"] == "gaussian" and by_alias["tasks"] == [DENOISING] and by_alias["shorthand"] == "sigma"
    assert {"name": "sigma", "type": "float", "default": 25.0, "required": False, "choices": []} \
        in by_alias["parameters"]
    assert "gaussian25 is gaussian:sigma=25" in invoke("show", "gaussian").stdout


def test_a_name_several_kinds_take_shows_each_and_kind_slash_name_picks_one(extra_host):
    assert [d["kind"] for d in shown("identity", host=extra_host)] == ["restorer", "metric"]
    (metric,) = shown("metric/identity", host=extra_host)
    assert metric["higher_is_better"] is False and metric["unit"] == "px"
    params = {p["name"]: p for p in metric["parameters"]}
    assert params["window"]["required"] and params["window"]["default"] is None
    assert params["border"]["type"] == "'reflect' | 'zero' | None"
    assert params["border"]["choices"] == ["reflect", "zero", "none"]
    text = invoke("show", "metric/identity", host=extra_host).stdout
    assert "lower is better" in text and "(required)" in text and "showcase" in text


def test_an_unresolvable_annotation_is_shown_as_written(extra_host):
    (smudge,) = shown("smudge", host=extra_host)
    assert smudge["parameters"] == [{"name": "strength", "type": "NotImportedHere", "default": 2.0,
                                     "required": False, "choices": []}]


@pytest.mark.parametrize(("args", "needle"), [
    (["dncn"], "did you mean restorer/dncnn, restorer/dncnn-jpeg, restorer/dncnn-real, restorer/fdncnn?"),
    (["restorer/dncn"], "did you mean dncnn, fdncnn, dncnn-real?"),
    (["restorers/dncnn"], "unknown kind 'restorers'"),
])
def test_unknown_names_are_one_line_usage_errors_with_close_matches(args, needle):
    result = invoke("show", *args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("restore: error: ") and needle in lines[0], result.stderr


def test_every_registered_component_can_be_described(host):
    for kind in KINDS:
        for reg in host.registry(kind):
            description = describe(host, kind, reg.name)
            assert (description.kind, description.name, description.plugin) == (kind, reg.name, reg.plugin)
            assert description.distribution, f"{kind} {reg.name}: no distribution recorded"
            json.dumps(description.to_dict())
            assert description in find(host, reg.name)


def test_list_verbose_adds_compact_parameters():
    plain, verbose = invoke("list"), invoke("list", "-v")
    assert plain.exit_code == verbose.exit_code == 0
    assert "parameters" not in plain.stdout
    assert "sigma: float = 25" in verbose.stdout and "layers: int = 7" in verbose.stdout


def test_type_text_reads_as_written():
    assert type_text(int) == "int" and type_text(float | None) == "float | None"
    assert type_text(Literal["centre", "corner"]) == "'centre' | 'corner'"
    assert type_text(tuple[int, ...]) == "tuple[int, ...]"
