"""The report's plots of a score against whatever parameter a suite sweeps (sigma, peak, quality...)."""

from __future__ import annotations

from types import SimpleNamespace

from restore_core.bench.report import _sweeps


def _cell(degradation: str, score: float, label: str = "identity") -> SimpleNamespace:
    return SimpleNamespace(degradation=degradation, label=label, dataset="set12", mean=lambda _m: score)


def test_each_family_is_plotted_against_the_parameter_it_sweeps():
    cells = [_cell("gaussian15", 30.0), _cell("gaussian25", 28.0), _cell("poisson:peak=10", 20.0),
             _cell("poisson:peak=50", 25.0), _cell("jpeg:quality=10", 27.0), _cell("jpeg30", 30.0),
             _cell("gaussian15+jpeg:quality=30", 26.0), _cell("gaussian25+jpeg:quality=30", 25.0),
             _cell("blur:kernel=gaussian,sigma=1.6", 25.0), _cell("blur:kernel=gaussian,sigma=3", 22.0),
             _cell("salt-pepper:amount=0.1", 15.0)]  # one strength only: nothing to plot
    sweeps = _sweeps(cells, "psnr")
    assert set(sweeps) == {"sigma", "peak", "quality", "kernel_sigma"}
    assert set(sweeps["sigma"]) == {"gaussian", "gaussian+jpeg"}
    assert sweeps["peak"]["poisson"][("identity", "set12")] == [(10.0, 20.0), (50.0, 25.0)]
    assert sorted(sweeps["quality"]["jpeg"][("identity", "set12")]) == [(10.0, 27.0), (30.0, 30.0)]


def test_two_parameters_varying_at_once_give_no_plot():
    cells = [_cell("poisson-gaussian:peak=10,sigma=5", 20.0), _cell("poisson-gaussian:peak=50,sigma=10", 22.0)]
    assert _sweeps(cells, "psnr") == {}
