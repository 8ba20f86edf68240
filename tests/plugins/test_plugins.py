"""Plugins: discovery through the entry-point group, isolation of broken plugins, strict mode,
and a real third-party package installed with pip and used through the `restore` command."""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import re
import subprocess
import sys
import textwrap
import types
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from restore_core import DENOISING, Restorer, hookimpl
from restore_core.cli import cli
from restore_core.errors import PluginError, UnknownNameError
from restore_core.plugins.host import PluginHost, PluginWarning

ROOT = Path(__file__).resolve().parents[2]
BUILTINS = {"gaussian_noise", "bicubic_downsampling", "identity", "bicubic_upsampling", "dncnn", "srcnn",
            "psnr", "ssim"}


class Halver(Restorer):
    name = "halver"
    tasks = frozenset({DENOISING})

    def restore(self, degraded, info):
        return degraded / 2


def _plugin(**hooks) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{k: hookimpl(v) for k, v in hooks.items()})


def test_builtins_arrive_through_the_entry_point_group():
    eps = {ep.name: ep.value for ep in md.entry_points(group="restore.plugins")}
    assert set(eps) >= BUILTINS
    assert all(eps[name].startswith("restore_builtins.") for name in BUILTINS)
    host = PluginHost(strict=True)
    host.load_entry_points()
    assert {p.name for p in host.plugins()} >= BUILTINS
    assert all(p.distribution == "restore-framework" and not p.failures for p in host.plugins()
               if p.name in BUILTINS)


def test_core_never_imports_the_builtins():
    for path in (ROOT / "restore_core").rglob("*.py"):
        assert "restore_builtins" not in path.read_text(), path


def test_hook_that_raises_is_isolated(fresh_host):
    def register_restorers(register):
        register(Halver)
        raise RuntimeError("boom in the hook")

    fresh_host.add_plugin(_plugin(register_restorers=register_restorers), "explosive")
    with pytest.warns(PluginWarning, match="explosive.*boom in the hook"):
        restorers = fresh_host.registry("restorer")
    assert "dncnn" in restorers.names()
    with pytest.raises(UnknownNameError):
        restorers.build("halver")  # all or nothing: the half-registered component is not kept
    info = {p.name: p for p in fresh_host.plugins()}["explosive"]
    assert info.failures and "RuntimeError: boom in the hook" in info.failures[0]


def test_import_failure_is_isolated(fresh_host):
    ep = md.EntryPoint(name="ghost", value="restore_no_such_module_xyz", group="restore.plugins")
    with pytest.warns(PluginWarning, match="ghost.*import failed.*ModuleNotFoundError"):
        fresh_host.load_entry_points([ep])
    assert "identity" in fresh_host.registry("restorer").names()
    assert "import failed" in {p.name: p for p in fresh_host.plugins()}["ghost"].failures[0]


def test_plugin_that_exits_is_isolated(fresh_host, monkeypatch, tmp_path):
    (tmp_path / "restore_quitter_xyz.py").write_text("raise SystemExit('plugin bailed')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = md.EntryPoint(name="quitter", value="restore_quitter_xyz", group="restore.plugins")
    with pytest.warns(PluginWarning, match="quitter.*import failed.*SystemExit.*plugin bailed"):
        fresh_host.load_entry_points([ep])

    def register_metrics(register):
        raise SystemExit(3)

    fresh_host.add_plugin(_plugin(register_metrics=register_metrics), "exiter")
    with pytest.warns(PluginWarning, match="exiter.*SystemExit"):
        assert "psnr" in fresh_host.registry("metric").names()


def test_plugin_text_is_shown_verbatim_not_as_markup(fresh_host):
    class Bracketed(Restorer):
        name = "bracketed"
        description = "weights in [models/x] dir [/x] closing"
        tasks = frozenset({DENOISING})

        def restore(self, degraded, info):
            return degraded

    def register_metrics(register):
        raise RuntimeError("bad config key [/metrics] in file")

    fresh_host.add_plugin(_plugin(register_restorers=lambda register: register(Bracketed),
                                  register_metrics=register_metrics), "brackets")
    with warnings.catch_warnings():
        warnings.simplefilter("always", PluginWarning)  # the CLI shows it as one line on stderr
        listing = CliRunner().invoke(cli, ["list"], obj=fresh_host)
    assert listing.exit_code == 0 and "weights in [models/x] dir [/x] closing" in listing.stdout
    assert "bad config key [/metrics] in file" in listing.stderr
    plugins = CliRunner().invoke(cli, ["plugins"], obj=fresh_host)
    shown = " ".join(plugins.stdout.replace("│", " ").split())  # the status cell may wrap in the table
    assert plugins.exit_code == 0 and "bad config key [/metrics] in file" in shown


def test_duplicate_name_from_a_plugin_is_refused_not_fatal(fresh_host):
    # named to sort before every built-in: precedence must not depend on the name
    fresh_host.add_plugin(_plugin(register_restorers=lambda register: register(Halver, name="dncnn")), "aaa")
    with pytest.warns(PluginWarning, match="'aaa'.*dncnn"):
        reg = fresh_host.registry("restorer")
    assert reg.lookup("dncnn").plugin == "dncnn"


def test_misspelled_hook_is_reported(fresh_host):
    bad = types.SimpleNamespace(register_restorer=hookimpl(lambda register: None))
    with pytest.warns(PluginWarning, match="typo.*register_restorer"):
        fresh_host.add_plugin(bad, "typo")
    assert "invalid plugin" in {p.name: p for p in fresh_host.plugins()}["typo"].failures[0]
    assert "identity" in fresh_host.registry("restorer").names()


def test_strict_mode_raises():
    host = PluginHost(strict=True)
    host.load_entry_points()
    host.add_plugin(_plugin(register_metrics=lambda register: 1 / 0), "divider")
    with pytest.raises(PluginError, match=r"divider.*ZeroDivisionError"):
        host.registry("metric")


def test_a_working_plugin_is_usable(fresh_host):
    fresh_host.add_plugin(_plugin(register_restorers=lambda register: register(Halver)), "halving")
    assert fresh_host.registry("restorer").lookup("halver").plugin == "halving"


# ----------------------------------------------------------------- a real pip-installed plugin


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Install the example plugin and a broken one with pip into a folder of their own."""
    root = tmp_path_factory.mktemp("thirdparty")
    broken = root / "broken-src"
    (broken / "restore_broken").mkdir(parents=True)
    (broken / "pyproject.toml").write_text(textwrap.dedent("""
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "restore-plugin-broken"
        version = "9.9"
        [project.entry-points."restore.plugins"]
        broken = "restore_broken"
        [tool.setuptools]
        packages = ["restore_broken"]
    """))
    (broken / "restore_broken" / "__init__.py").write_text("import restore_missing_dependency_xyz\n")
    target = root / "site"
    for source in (ROOT / "examples" / "restore-plugin-median", broken):
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                        "--no-build-isolation", "--target", str(target), str(source)],
                       check=True, capture_output=True, cwd=root)
    return target


def _restore(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    env.pop("RESTORE_STRICT_PLUGINS", None)
    return subprocess.run([sys.executable, "-m", "restore_core", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_pip_installed_plugin_is_listed_and_benchmarked(site):
    listing = _restore(site, "list")
    assert listing.returncode == 0, listing.stderr
    assert "median" in listing.stdout and "third-party example plugin" in listing.stdout
    bench = _restore(site, "bench", "-r", "median,median5,identity", "-d", "gaussian25", "--limit", "2",
                     "--format", "json")
    assert bench.returncode == 0, bench.stderr
    rows = {r["restorer"]: r for r in json.loads(bench.stdout)}
    assert rows["median"]["psnr"] > rows["identity"]["psnr"] + 2  # a median filter does denoise
    assert rows["median5"]["psnr"] != rows["median"]["psnr"]


def test_broken_installed_plugin_warns_once_and_shows_in_plugins(site):
    listing = _restore(site, "list")
    warnings = [line for line in listing.stderr.splitlines() if line.strip()]
    assert listing.returncode == 0
    assert warnings == [line for line in warnings if line.startswith("restore: warning: plugin 'broken'")]
    assert len(warnings) == 1 and "restore_missing_dependency_xyz" in warnings[0]
    plugins = _restore(site, "plugins")
    assert plugins.returncode == 0 and "Traceback" not in plugins.stderr
    line = next(x for x in plugins.stdout.splitlines() if "broken" in x)
    assert "restore-plugin-broken" in line and "failed" in line
    assert "restore-plugin-median" in plugins.stdout


def test_example_plugin_passes_the_conformance_kit(site):
    example = ROOT / "examples" / "restore-plugin-median"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(example),
                           "-c", str(example / "pyproject.toml"), str(example / "tests")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and not re.search(r"\d+ failed", summary), summary


def test_scaffolded_plugin_installs_and_passes_the_kit(tmp_path):
    result = CliRunner().invoke(cli, ["plugin", "new", "my-blur", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    root = tmp_path / "restore-plugin-my-blur"
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "--target", str(target), str(root)], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(root),
                           "-c", str(root / "pyproject.toml"), str(root / "tests")],
                          capture_output=True, text=True, env=env, timeout=600)
    summary = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 0 and re.search(r"\d+ passed", summary), done.stdout[-2000:]
    again = CliRunner().invoke(cli, ["plugin", "new", "my-blur", "--dir", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.stderr
    bad = CliRunner().invoke(cli, ["plugin", "new", "My Blur", "--dir", str(tmp_path)])
    assert bad.exit_code == 2 and "lowercase" in bad.stderr
