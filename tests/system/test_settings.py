"""Settings: every environment variable is read in one module, at call time, and documented in one table."""

from __future__ import annotations

import re
from pathlib import Path

from restore_core.system import settings

ROOT = Path(__file__).resolve().parents[2]


def test_values_are_read_when_asked(monkeypatch, tmp_path):
    for name in settings.VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert settings.data_root() is None and not settings.offline() and not settings.debug()
    assert settings.runs_root() == Path("restore-runs") and not settings.strict_plugins()
    assert settings.cache_dir().name == "datasets" and settings.tensorrt_cache_dir().name == "tensorrt"
    monkeypatch.setenv("RESTORE_DATA", str(tmp_path))
    monkeypatch.setenv("RESTORE_CACHE", "~/cache")
    monkeypatch.setenv("RESTORE_OFFLINE", "1")
    monkeypatch.setenv("RESTORE_DEBUG", "maybe")  # a flag is on only for 1, yes, true or on
    assert settings.data_root() == tmp_path and settings.offline() and not settings.debug()
    assert settings.cache_dir() == Path("~/cache").expanduser()


def test_every_variable_is_read_here_and_documented():
    pattern = re.compile(r"\bRESTORE_[A-Z_]+[A-Z]\b")
    sources = [*(ROOT / "restore_core").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]
    named = {m for path in sources for m in pattern.findall(path.read_text())}
    assert named <= set(settings.VARIABLES), "a variable the code names is missing from settings.VARIABLES"
    reads = re.compile(r"os\.environ\.get|os\.environ\[|os\.getenv")  # passing the environment on is fine
    readers = [p.relative_to(ROOT).as_posix() for p in sources if reads.search(p.read_text())]
    assert readers == ["restore_core/system/settings.py"]
    table = (ROOT / "docs" / "troubleshooting.md").read_text().split("## Environment variables", 1)[1]
    assert set(re.findall(r"^\| `(RESTORE_[A-Z_]+)` \|", table, re.M)) == set(settings.VARIABLES)


def test_flags_take_yes_true_on_and_refuse_no_false_off(monkeypatch):
    for value in ("1", "yes", "TRUE", " on ", "True"):
        monkeypatch.setenv("RESTORE_OFFLINE", value)
        assert settings.offline(), value
    for value in ("0", "no", "false", "off", "", "2"):
        monkeypatch.setenv("RESTORE_OFFLINE", value)
        assert not settings.offline(), value
