"""The notebook-style scripts in docs/notebooks run as they stand and print what they promise."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "docs" / "notebooks").glob("*.py"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(path), run_name="__main__")
    printed = capsys.readouterr().out
    assert "dncnn" in printed and "| restorer |" in printed  # the cells' lines and the Markdown table


def test_there_is_a_notebook():
    assert NOTEBOOKS, "docs/notebooks holds the API's notebook-style walk-through"
