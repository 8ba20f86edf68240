"""Spec strings, aliases, strict registration and helpful errors."""

from __future__ import annotations

import pytest

from restore_core.errors import DuplicateNameError, SpecError, UnknownNameError
from restore_core.plugins.registry import Registration, Registry


class Noise:
    name = "noise"
    description = "test noise"

    def __init__(self, sigma: float = 25.0, clip: bool = False, mode: str = "a") -> None:
        self.sigma, self.clip, self.mode = sigma, clip, mode


def registry() -> Registry:
    reg = Registry("degradation")
    reg.add(Registration("degradation", "noise", Noise, "p1", shorthand="sigma", aliases=("n",)))
    return reg


@pytest.mark.parametrize(
    ("spec", "sigma"),
    [("noise25", 25.0), ("noise-15", 15.0), ("noise:sigma=50", 50.0), ("n7.5", 7.5), ("NOISE", 25.0)],
)
def test_spec_forms_configure_the_component(spec: str, sigma: float) -> None:
    assert registry().build(spec).sigma == sigma


def test_parameters_are_typed() -> None:
    obj = registry().build("noise:sigma=5,clip=true,mode=b")
    assert (obj.sigma, obj.clip, obj.mode) == (5.0, True, "b")


def test_unknown_name_offers_close_matches() -> None:
    with pytest.raises(UnknownNameError, match="did you mean noise"):
        registry().build("noize")


def test_unknown_parameter_lists_the_real_ones() -> None:
    with pytest.raises(SpecError, match=r"no parameter 'sgma' \(parameters: sigma, clip, mode\)"):
        registry().build("noise:sgma=3")


@pytest.mark.parametrize("spec", ["noise:sigma=abc", "noise:clip=maybe", "noise:sigma"])
def test_bad_values_are_spec_errors(spec: str) -> None:
    with pytest.raises(SpecError):
        registry().build(spec)


def test_duplicate_names_both_plugins() -> None:
    reg = registry()
    with pytest.raises(DuplicateNameError, match=r"'p2'.*'p1'"):
        reg.add(Registration("degradation", "noise", Noise, "p2"))
    with pytest.raises(DuplicateNameError):
        reg.add(Registration("degradation", "other", Noise, "p2", aliases=("n",)))


def test_builtin_shorthands(host) -> None:
    deg = host.registry("degradation")
    assert deg.build("gaussian25").spec() == "gaussian:sigma=25,clip=false"
    assert deg.build("gaussian15").short_spec() == "gaussian:sigma=15"
    assert deg.build("x3").spec() == deg.build("bicubic-down:scale=3").spec()
    assert deg.build("x3").spec() == "bicubic-down:scale=3,quantize=true"
    assert deg.build("bicubic-down4").scale == 4
