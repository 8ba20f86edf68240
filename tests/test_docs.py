"""The docs cannot drift: the site builds with warnings as errors, every Python example in the
README and the docs runs, and every `restore ...` command they show parses against the real CLI."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from restore_core.cli import cli

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


#: first line of an example that belongs to another package's test suite (run by tests/test_plugins.py)
ELSEWHERE = "# in the plugin's own tests"


def _blocks(language: str) -> list[tuple[str, str]]:
    out = []
    for page in PAGES:
        for lang, body in FENCE.findall(page.read_text()):
            if lang == language and not body.startswith(ELSEWHERE):
                out.append((page.name, body))
    return out


def _commands() -> list[tuple[str, list[str]]]:
    commands = []
    for page, body in _blocks("bash"):
        for line in body.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            for part in line.split("&&"):
                part = part.strip()
                if part.startswith("restore "):
                    commands.append((page, shlex.split(part)[1:]))
    return commands


def test_docs_site_builds_without_warnings(tmp_path):
    from sphinx.cmd.build import build_main

    assert build_main(["-W", "-q", "-b", "html", str(ROOT / "docs"), str(tmp_path / "html")]) == 0
    index = (tmp_path / "html" / "index.html").read_text()
    assert "restore" in index and (tmp_path / "html" / "plugins.html").is_file()
    cli_page = (tmp_path / "html" / "cli.html").read_text()
    assert "--backend" in cli_page and "restore bench" in cli_page


@pytest.mark.parametrize("page,code", _blocks("python"), ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "")
def test_python_examples_run(page, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"<{page}>", "exec"), {"__name__": f"docs_{page}"})


@pytest.mark.parametrize("page,args", _commands(), ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_shown_commands_parse(page, args):
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0, f"{page}: restore {' '.join(args)}: {result.stderr or result.output}"


def test_every_hook_is_documented():
    from restore_core import hookspecs

    hooks = [name for name in dir(hookspecs) if name.startswith("register_")]
    page = (ROOT / "docs" / "plugins.md").read_text()
    assert hooks and all(hook in page for hook in hooks)
