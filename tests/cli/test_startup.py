"""Start-up: `restore --version`, `--help`, `list` and `plugins` never import torch.

Each command runs in a fresh interpreter (an import already made by another test would hide one),
with every installed plugin loaded strictly, the third-party examples included: a plugin that
imports torch at import time fails here. The check is on `sys.modules`, not on a timing, so it is
deterministic; benchmarks/startup.py measures what it saves.
"""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from restore_core.cli import COMMANDS, cli

PROBE = """
import sys
from restore_core.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    if exc.code not in (0, None):
        raise
heavy = sorted(m for m in ("torch", "torchvision", "skimage", "scipy") if m in sys.modules)
print("HEAVY:" + ",".join(heavy), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["list"], ["plugins"]], ids=" ".join)
def test_listing_commands_do_not_import_torch(args, monkeypatch):
    monkeypatch.setenv("RESTORE_STRICT_PLUGINS", "1")  # a plugin that fails to load fails the test
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    heavy = done.stderr.strip().splitlines()[-1]
    assert heavy.startswith("HEAVY:"), done.stderr
    assert "torch" not in heavy.removeprefix("HEAVY:").split(","), (
        f"`restore {' '.join(args)}` imported torch; `python -X importtime -c 'from restore_core.cli import "
        f"main; main({args!r})'` shows which module did")


def test_help_lists_every_command_without_importing_it():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = result.stdout.split("Commands:")[1]
    for name in COMMANDS:
        assert f"\n  {name} " in listed


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_help_table_matches_each_command(name):
    command = cli.get_command(click.Context(cli), name)
    assert isinstance(command, click.Command) and command.name == name
    first_paragraph = " ".join((command.help or "").split("\n\n")[0].split())
    assert COMMANDS[name][1] == first_paragraph, "restore_core.cli.COMMANDS holds an outdated help line"
    stand_in = click.Command(name, help=COMMANDS[name][1])  # what `restore --help` shortens
    for limit in (30, 45, 80, 200):
        assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit)


def test_every_top_level_command_is_in_the_table():
    import importlib
    import pkgutil

    import restore_core.cli as package

    defined = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"restore_core.cli.{info.name}")
        commands = [v for v in vars(module).values() if isinstance(v, click.Command)]
        nested = {id(c) for g in commands if isinstance(g, click.Group) for c in g.commands.values()}
        defined |= {f"{info.name}:{k}" for k, v in vars(module).items()
                    if isinstance(v, click.Command) and id(v) not in nested and v is not cli}
    assert defined == {target for target, _ in COMMANDS.values()}


def test_unknown_command_is_still_a_usage_error():
    result = CliRunner().invoke(cli, ["lisst"])
    assert result.exit_code == 2 and "No such command 'lisst'" in result.stderr


def test_tensorrt_without_its_package_is_unavailable_without_asking_torch(monkeypatch):
    """`restore list` asks every backend whether it can run; where torch-tensorrt is not installed,
    the answer must not need torch (CUDA is asked about only when the package is there)."""
    from restore_builtins import tensorrt_backend

    from restore_core import default_host

    monkeypatch.setattr(tensorrt_backend, "torch_tensorrt_installed", lambda: False)
    reason = default_host().registry("backend").build("tensorrt").unavailable()
    assert reason is not None and reason.startswith("torch-tensorrt is not installed")
