"""`restore plugin new`: refuses taken names, pins the framework's minor series, ignores build output."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

import restore_core
from restore_core.cli import cli
from restore_core.errors import UsageError
from restore_core.plugins.scaffold import framework_requirement, new_plugin


@pytest.mark.parametrize(("name", "owner"), [("dncnn", "dncnn"), ("bicubic", "bicubic_upsampling")])
def test_a_name_taken_by_a_registered_restorer_is_refused(tmp_path, name, owner):
    result = CliRunner().invoke(cli, ["plugin", "new", name, "--dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert f"restorer name {name!r} is already registered by plugin {owner!r}" in lines[0]
    assert not list(tmp_path.iterdir())


def test_a_name_taken_by_an_installed_plugin_is_refused(tmp_path, fresh_host):
    with pytest.raises(UsageError, match="plugin name 'psnr' is already taken by restore-framework"):
        new_plugin("psnr", tmp_path, host=fresh_host)


def test_the_package_pins_the_minor_series_and_ignores_build_output(tmp_path, fresh_host):
    root = new_plugin("my-sharpener", tmp_path, host=fresh_host)
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == [framework_requirement(restore_core.__version__)]
    ignored = (root / ".gitignore").read_text().split()
    assert {"build/", "dist/", "*.egg-info/", "__pycache__/", ".pytest_cache/", ".venv/"} <= set(ignored)


@pytest.mark.parametrize(("version", "requirement"), [
    ("0.1.0", "restore-framework>=0.1,<0.2"),
    ("0.3.2.dev4+g1234", "restore-framework>=0.3,<0.4"),
    ("1.4.0", "restore-framework>=1.4,<2"),
])
def test_framework_requirement(version, requirement):
    assert framework_requirement(version) == requirement
