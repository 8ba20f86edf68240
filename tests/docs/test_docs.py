"""The docs cannot drift: the site builds with warnings as errors, and every example in the README
and the docs runs or is checked against the code.

What the examples follow, and this file enforces:

- Every ```python block runs (one whose first line is `# in the plugin's own tests` runs in that
  plugin's test suite instead, through tests/plugins/test_plugins.py).
- Every `restore ...` command of a ```bash block runs, in order, page by page, in a scratch folder
  holding the repository's files and the inputs the examples name (`photo.png`, `photo.jpg`,
  `mask.png`, `small/`, `path/to/Set5`, ...). A command a test cannot run (a GPU, a download, a long training) ends
  with `# not run by tests: REASON`; it must still parse, and the files it names must exist.
  A `restore bench` over a dataset runs on its first 2 images cropped to 64 px unless it says
  `--limit` itself or the docs show what it prints.
- pip, pytest and ruff lines name extras, tools and paths that exist.
- A ```toml block parses, and a suite or recipe loads with the project's loader; a block whose
  first line is `# NAME.toml` is written to NAME.toml for the commands after it. Included TOML
  files are checked the same way.
- A ```text block shows what the last `restore` command named before it prints: the same
  columns, rows and figures, timings aside.
- An included benchmark record (`Command: restore bench ...`) has the columns and rows its command
  produces: figure by figure when the command runs on the embedded images, by structure (on 1
  image cropped to 48 px) when it needs the public sets.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
import shlex
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.requirements import Requirement
from tests_support import SHARED

from restore_core import PluginHost, default_host
from restore_core.cli import cli
from restore_core.system.toml_files import tomllib

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(?P<lang>[\w{}-]+)[^\n]*\n(?P<body>.*?)^```", re.S | re.M)
INLINE_COMMAND = re.compile(r"`(restore [^`]+)`")

#: first line of an example that belongs to another package's test suite (run by tests/plugins/test_plugins.py)
ELSEWHERE = "# in the plugin's own tests"
#: how a shown command says that no test runs it, and why (anywhere in its trailing comment)
NOT_RUN = re.compile(r" #.*?\bnot run by tests:\s*(?P<reason>\S.*)$")
#: a bench over a dataset runs this small unless it says --limit or the docs show its output
SHRINK = ["--limit", "2", "--crop", "64"]
#: what a scratch folder links to, so relative paths in commands resolve: only what commands read.
#: benchmarks/ is copied, not linked: a recipe's `out` is relative to the recipe, and a recipe run
#: by mistake must not reach the shipped weights
REPO_LINKS = ("examples", "pyproject.toml")
#: datasets every machine has: the embedded photographs
EMBEDDED = {"skimage", "skimage-gray", "default", "default-gray"}

#: printed output known to be out of date, with what brings it back; an entry that passes again
#: shows as XPASS: delete it then
STALE: dict[str, str] = {}


def _stale(name: str) -> list[pytest.MarkDecorator]:
    return [pytest.mark.xfail(reason=STALE[name], strict=False)] if name in STALE else []


# ------------------------------------------------------------------------------ reading pages


@dataclass(frozen=True)
class Block:
    """One fenced block of a page, with the prose that precedes it."""

    page: str
    lang: str
    body: str
    before: str  # the text between the previous block and this one


def _blocks(page: Path) -> list[Block]:
    text, out, last = page.read_text(), [], 0
    for m in FENCE.finditer(text):
        out.append(Block(page.name, m["lang"], m["body"], text[last : m.start()]))
        last = m.end()
    return out


def _all_blocks(lang: str) -> list[Block]:
    return [b for page in PAGES for b in _blocks(page) if b.lang == lang]


@dataclass(frozen=True)
class Command:
    """One command of a bash block: its words and, when no test runs it, why."""

    words: tuple[str, ...]
    not_run: str | None = None

    @property
    def text(self) -> str:
        return shlex.join(self.words)


def _commands(body: str) -> list[Command]:
    out = []
    for line in body.replace("\\\n", " ").splitlines():
        marker = NOT_RUN.search(line)
        code = line.split(" #", 1)[0].strip()
        for part in filter(None, (p.strip() for p in code.split("&&"))):
            out.append(Command(tuple(shlex.split(part)), marker["reason"] if marker else None))
    return out


def _restore_commands() -> list[tuple[str, Command]]:
    return [(b.page, c) for b in _all_blocks("bash") for c in _commands(b.body) if c.words[0] == "restore"]


def _shown_output_commands() -> set[str]:
    """The commands whose printed output a ```text block shows: they run exactly as shown."""
    return {_command_before(b) for b in _all_blocks("text")}


def _command_before(block: Block) -> str:
    named = INLINE_COMMAND.findall(block.before)
    assert named, f"{block.page}: a text block must follow the `restore ...` command whose output it shows"
    return shlex.join(shlex.split(named[-1]))


# ---------------------------------------------------------------------------- running commands


_full_runs: dict[str, tuple[int, str, str]] = {}


def _invoke(args: list[str], host: PluginHost | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args, obj=host)
    return result.exit_code, result.stdout, result.stderr


def _bench_over_datasets(args: list[str]) -> bool:
    return args[:1] == ["bench"] and (len(args) < 2 or args[1] not in ("report", "compare", "merge"))


def _datasets(args: list[str]) -> list[str]:
    names = []
    for flag, value in itertools.pairwise(args):
        if flag == "--dataset":
            names += value.split(",")
    return names


def _needs_shared_data(args: list[str], cwd: Path) -> bool:
    if "--suite" in args or "--recipe" in args:
        return True
    return any(name not in EMBEDDED and not (cwd / name).exists() for name in _datasets(args))


def _scratch_inputs(folder: Path) -> None:
    """The files the examples name as the reader's own: small crops of the embedded photographs."""
    import skimage.data
    import torch

    from restore_core.imaging.io import to_tensor, write_png

    photos = [to_tensor(getattr(skimage.data, name)()) for name in ("astronaut", "chelsea", "coffee")]
    crops = [p[..., 100:196, 100:196] for p in photos]
    write_png(folder / "photo.png", crops[0])
    from PIL import Image

    from restore_core.imaging.io import to_array

    # what a camera or the web hands over: the same crop as a JPEG at quality 20
    Image.fromarray(to_array(crops[0][0])).save(folder / "photo.jpg", quality=20)
    mask = torch.zeros(1, 1, 96, 96)
    mask[..., 24:72, 32:80] = 1  # what `--mask mask.png` restores in photo.png
    write_png(folder / "mask.png", mask)
    write_png(folder / "huge.png", photos[0][..., :192, :160])
    for name, size in (("small", 32), ("path/to/Set5", 48), ("path/to/images", 64)):
        (folder / name).mkdir(parents=True)
        for i, crop in enumerate(crops):
            write_png(folder / name / f"{i}.png", crop[..., :size, :size])


@dataclass
class Session:
    """A page's commands, run in order in one scratch folder."""

    page: str
    cwd: Path
    full: set[str]
    host: PluginHost | None = None  # set once the page installs a plugin of its own
    local_paths: list[str] = field(default_factory=list)

    def run(self, command: Command) -> None:
        """Run or check one command of the page."""
        words = list(command.words)
        tool = words[0]
        if tool == "restore":
            self._restore(command)
        elif tool == "pip" or words[:3] in (["python", "-m", "pip"], ["python3", "-m", "pip"]):
            self._pip(words[words.index("install") + 1 :])
        elif tool in ("pytest", "ruff") or words[1:3] == ["-m", "pytest"]:
            self._tool("pytest" if "pytest" in words[:3] else "ruff", words)
        elif tool in (".", "source") or words[1:3] == ["-m", "venv"]:
            pass  # making and entering a virtual environment
        elif tool in ("python", "python3") and words[1].endswith(".py"):
            assert (self.cwd / words[1]).is_file(), f"{self.page}: {command.text}: no such script"
        elif tool == "torchrun" and "restore_core" in words:
            # the restore command torchrun starts in each process: it must parse and name real files
            # (tests/train/test_distributed.py runs torchrun itself)
            assert command.not_run is not None, f"{self.page}: {command.text}: say why no test runs it"
            _check_parses(self.page, words[words.index("restore_core") + 1 :], self.cwd)
        else:
            raise AssertionError(f"{self.page}: the docs test cannot check `{command.text}`; teach "
                                 "tests/docs/test_docs.py how, or end the line with `# not run by tests: REASON`")

    def _restore(self, command: Command) -> None:
        args = list(command.words[1:])
        reason = command.not_run
        if reason is not None:
            _check_parses(self.page, args, self.cwd)
            return
        if command.text in self.full:  # the docs show what it prints: run it as shown, once per test run
            if command.text not in _full_runs:
                _full_runs[command.text] = _invoke(args, self.host)
            code, _, err = _full_runs[command.text]
        else:
            if _bench_over_datasets(args) and "--limit" not in args:
                args += SHRINK
            code, _, err = _invoke(args, self.host)
        assert code == 0, f"{self.page}: {command.text} exited {code}: {err.strip()[-2000:]}"

    def _pip(self, words: list[str]) -> None:
        editable = words[:1] == ["-e"]
        for spec in (w for w in words if not w.startswith("-")):
            if spec.startswith((".", "/")):
                path, _, extras = spec.partition("[")
                pyproject = _project(self.cwd / path)
                wanted = set(filter(None, extras.rstrip("]").split(",")))
                missing = wanted - set(pyproject["project"].get("optional-dependencies", {}))
                assert not missing, f"{self.page}: pip install {spec}: no extra {', '.join(sorted(missing))}"
                if editable and pyproject["project"]["name"] != "restore-framework":
                    self._install(self.cwd / path, pyproject)
            else:
                req = Requirement(spec)
                ours = _project(ROOT)["project"]
                if req.name == ours["name"]:
                    assert req.extras <= set(ours["optional-dependencies"]), f"{self.page}: pip install {spec}"
                else:
                    assert req.name in {Requirement(d).name for d in ours["dependencies"]}, (
                        f"{self.page}: pip install {spec}: not a dependency of {ours['name']}")

    def _install(self, package: Path, pyproject: dict) -> None:
        """What `pip install -e` of a plugin gives the commands after it: its entry points, loaded."""
        self.host = self.host or _fresh_host()
        src = str(package / "src")
        sys.path.insert(0, src)
        self.local_paths.append(src)
        for name, module in pyproject["project"]["entry-points"]["restore.plugins"].items():
            self.host.add_plugin(__import__(module), name)

    def _tool(self, tool: str, words: list[str]) -> None:
        dev = " ".join(_project(ROOT)["project"]["optional-dependencies"]["dev"])
        assert re.search(rf"\b{tool}\b", dev), f"{self.page}: {tool} is not in the dev extra"
        for path in (w for w in words[words.index(tool) + 1 :] if not w.startswith("-") and w != "check"):
            assert (self.cwd / path).exists(), f"{self.page}: {' '.join(words)}: no such path {path}"

    def close(self) -> None:
        """Forget the page's plugins."""
        for src in self.local_paths:
            sys.path.remove(src)
            for name, module in list(sys.modules.items()):
                if (getattr(module, "__file__", None) or "").startswith(src):
                    del sys.modules[name]


def _project(folder: Path) -> dict:
    path = folder / "pyproject.toml"
    assert path.is_file(), f"{folder} holds no pyproject.toml"
    return tomllib.loads(path.read_text())


def _fresh_host() -> PluginHost:
    host = PluginHost(strict=True)
    host.load_entry_points()
    return host


def _check_parses(page: str, args: list[str], cwd: Path) -> None:
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0, f"{page}: restore {shlex.join(args)}: {result.stderr or result.output}"
    for word in args:
        if word.endswith(".toml"):
            assert (cwd / word).is_file(), f"{page}: restore {shlex.join(args)}: no such file {word}"
            _check_toml_file(page, cwd / word)


@pytest.fixture
def scratch(tmp_path, monkeypatch) -> Iterator[Path]:
    """A folder linking to the repository's files, with the examples' inputs, as the working folder."""
    for entry in REPO_LINKS:
        (tmp_path / entry).symlink_to(ROOT / entry)
    for path in (ROOT / "benchmarks").rglob("*"):
        if path.suffix in (".toml", ".py") and "results" not in path.parts:
            copy = tmp_path / path.relative_to(ROOT)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(path.read_bytes())
    _scratch_inputs(tmp_path)
    if SHARED.is_dir():
        monkeypatch.setenv("RESTORE_DATA", str(SHARED))
    monkeypatch.chdir(tmp_path)
    yield tmp_path


# ---------------------------------------------------------------------------------- TOML


def _check_toml(page: str, text: str, path: Path) -> None:
    """Parse a TOML example; load a suite or a recipe the way `restore` does."""
    from restore_core.bench.suites import load_suite
    from restore_core.train.recipes import load_recipe

    data = tomllib.loads(text)
    if "restorers" in data:
        load_suite(path)
    elif "restorer" in data:
        load_recipe(path)
    else:
        assert "project" in data or "tool" in data, f"{page}: a TOML example that is no suite, recipe or pyproject"


def _check_toml_file(page: str, path: Path) -> None:
    _check_toml(page, path.read_text(), path)


def _write_named_toml(block: Block, cwd: Path) -> None:
    first = block.body.splitlines()[0]
    named = re.match(r"#\s*(?P<file>[\w./-]+\.toml)\b", first)
    path = cwd / (named["file"] if named else "example.toml")
    path.write_text(block.body)
    _check_toml(block.page, block.body, path)
    if not named:
        path.unlink()


INCLUDED_TOML = re.compile(r"^```\{literalinclude\} (?P<path>\S+\.toml)\s*$", re.M)


@pytest.mark.parametrize("page", [p for p in PAGES if INCLUDED_TOML.search(p.read_text())], ids=lambda p: p.name)
def test_included_toml_files_load(page):
    for path in INCLUDED_TOML.findall(page.read_text()):
        _check_toml_file(page.name, (page.parent / path).resolve())


# ---------------------------------------------------------------------------------- the tests


def test_docs_site_builds_without_warnings(tmp_path):
    from sphinx.cmd.build import build_main

    assert build_main(["-W", "-q", "-b", "html", str(ROOT / "docs"), str(tmp_path / "html")]) == 0
    index = (tmp_path / "html" / "index.html").read_text()
    assert "restore" in index and (tmp_path / "html" / "plugins.html").is_file()
    cli_page = (tmp_path / "html" / "cli.html").read_text()
    assert "--backend" in cli_page and "restore bench" in cli_page
    models = (tmp_path / "html" / "models.html").read_text()
    table = models[models.index("<table") : models.index("</table>")]
    assert "cbsd432" in table and "shared/datasets" not in table, "the zoo table names data sets, not local paths"
    assert "restore.css" in index  # wide tables scroll (docs/_static/restore.css)


@pytest.mark.parametrize("page", [p for p in PAGES if any(b.lang in ("bash", "toml") for b in _blocks(p))],
                         ids=lambda p: p.name)
def test_shown_commands_run(page, scratch):
    blocks = _blocks(page)
    needing = [c.text for b in blocks if b.lang == "bash" for c in _commands(b.body)
               if c.words[0] == "restore" and c.not_run is None and _needs_shared_data(list(c.words[1:]), scratch)]
    if needing and not SHARED.is_dir():
        pytest.skip(f"needs the shared datasets ({SHARED}): {'; '.join(needing)}")
    session = Session(page.name, scratch, _shown_output_commands())
    try:
        for block in blocks:
            if block.lang == "toml":
                _write_named_toml(block, scratch)
            elif block.lang == "bash":
                for command in _commands(block.body):
                    session.run(command)
    finally:
        session.close()


@pytest.mark.parametrize("page,command", _restore_commands(), ids=lambda v: v.text if isinstance(v, Command) else v)
def test_shown_commands_parse(page, command):
    result = CliRunner().invoke(cli, [*command.words[1:], "--help"])
    assert result.exit_code == 0, f"{page}: {command.text}: {result.stderr or result.output}"


@pytest.mark.parametrize("block", _all_blocks("python"), ids=lambda b: f"{b.page}:{b.body.splitlines()[0][:40]}")
def test_python_examples_run(block, tmp_path, monkeypatch):
    if block.body.startswith(ELSEWHERE):
        pytest.skip("runs in the plugin's own tests (tests/plugins/test_plugins.py)")
    monkeypatch.chdir(tmp_path)
    # a module of its own, so an example may hand itself to a PluginHost as an entry point would
    name = f"docs_example_{abs(hash(block.body))}"
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        exec(compile(block.body, f"<{block.page}>", "exec"), module.__dict__)
    finally:
        del sys.modules[name]


# ------------------------------------------------------------------------------ printed output


def _box_rows(text: str) -> tuple[list[str], list[list[str]], str]:
    """Split a printed rich table into its header cells, its rows' cells and the text after it."""
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("┃"))
    bottom = next(i for i, line in enumerate(lines) if line.startswith("└"))
    cells = [[c.strip() for c in line.strip("┃│").split(line[0])] for line in lines[head:bottom] if line[0] in "┃│"]
    return cells[0], cells[1:], " ".join(" ".join(lines[bottom + 1 :]).split())


@pytest.mark.parametrize("block", [pytest.param(b, id=b.page, marks=_stale(b.page)) for b in _all_blocks("text")])
def test_printed_output_is_what_the_command_prints(block, scratch):
    command = _command_before(block)
    if command not in _full_runs:
        _full_runs[command] = _invoke(shlex.split(command)[1:])
    code, out, err = _full_runs[command]
    assert code == 0, err
    shown_head, shown_rows, shown_after = _box_rows(block.body)
    head, rows, after = _box_rows(out)
    assert shown_head == head, f"{block.page}: the columns differ from what `{command}` prints"
    shown_rows, rows = (_as_auto(head, r, shlex.split(command)) for r in (shown_rows, rows))
    timing = head.index("s/image")
    assert _same_figures([r[:timing] for r in shown_rows], [r[:timing] for r in rows]), \
        f"{block.page}: other rows from `{command}`"
    assert shown_after == after, f"{block.page}: the text under the table differs from what `{command}` prints"


#: how far a shown figure may lie from this machine's: `--backend auto` runs bf16 on a CPU with native
#: bf16 and fp32 elsewhere, which moves PSNR by at most 0.011 dB and SSIM by a few 1e-4
#: (benchmarks/results/precision-cost-amd-epyc.md), so one unit in the last place of a dB figure, a few
#: of an SSIM figure; names, counts and every other cell must match exactly
FIGURE_TOLERANCE = {2: 0.015, 4: 0.0006}
#: the backends `--backend auto` may run on a CPU: `optimized`, or OpenVINO in bf16 where the CPU has
#: bf16 natively and openvino is installed (`OpenVINOBackend.auto_choice`); a command that names no
#: backend shows the recording machine's choice, which another machine may make differently
AUTO_CHOICES = {"optimized", "openvino:precision=bf16"}


def _as_auto(head: list[str], rows: list[list[str]], args: list[str]) -> list[list[str]]:
    """`rows` with the backend `--backend auto` chose written `auto`, when `args` name no backend."""
    if "backend" not in head or {"-b", "--backend"} & set(args) or any(a.startswith("--backend=") for a in args):
        return rows
    column = head.index("backend")
    return [[("auto" if i == column and cell in AUTO_CHOICES else cell) for i, cell in enumerate(row)]
            for row in rows]


def _same_figures(shown: list[list[str]], actual: list[list[str]]) -> bool:
    """Whether two tables' rows agree: text exactly, decimal figures within FIGURE_TOLERANCE."""
    if len(shown) != len(actual) or any(len(a) != len(b) for a, b in zip(shown, actual, strict=True)):
        return False
    for a, b in zip((c for row in shown for c in row), (c for row in actual for c in row), strict=True):
        if a == b:
            continue
        places = len(a.rpartition(".")[2]) if "." in a else None
        try:
            if places not in FIGURE_TOLERANCE or abs(float(a) - float(b)) > FIGURE_TOLERANCE[places]:
                return False
        except ValueError:
            return False
    return True


RECORD = re.compile(r"^```\{include\} (?P<path>\S+/benchmarks/results/\S+\.md)\s*$", re.M)


def _records() -> list[tuple[str, Path]]:
    found = {}
    for page in PAGES:
        for path in RECORD.findall(page.read_text()):
            record = (page.parent / path).resolve()
            if re.search(r"^Command: `restore bench (?!.*--suite)", record.read_text(), re.M):
                found.setdefault(record, page.name)
    return [pytest.param(page, record, id=f"{page}-{record.name}", marks=_stale(record.name))
            for record, page in found.items()]


def _markdown_table(text: str) -> tuple[list[str], list[list[str]]]:
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    cells = [[c.strip() for c in line.strip("| ").split(" | ")] for line in lines]
    return cells[0], cells[1:]


@pytest.mark.parametrize("page,record", _records())
def test_included_records_match_their_command(page, record, scratch):
    text = record.read_text()
    command = re.search(r"^Command: `(?P<c>restore bench [^`]+)`", text, re.M)["c"]
    args = shlex.split(command)[1:]
    for flag in ("-j", "--jobs"):
        if flag in args:  # worker processes: the same rows, slower to start in a test
            del args[args.index(flag) : args.index(flag) + 2]
    figure_by_figure = not _needs_shared_data(args, scratch)
    if not figure_by_figure:
        if not SHARED.is_dir():
            pytest.skip(f"needs the shared datasets ({SHARED})")
        if "--limit" in args:
            del args[args.index("--limit") : args.index("--limit") + 2]
        args += ["--limit", "1", "--crop", "48"]
    key = shlex.join(["restore", *args, "--format", "json"])
    if key not in _full_runs:
        _full_runs[key] = _invoke([*args, "--format", "json"])
    code, out, err = _full_runs[key]
    if code != 0 and "unknown restorer 'bm3d'" in err:
        pytest.skip("the example BM3D plugin is not installed here")
    assert code == 0, f"{record.name}: {command}: {err.strip()[-2000:]}"
    rows = json.loads(out)
    recorder = _load_module(ROOT / "benchmarks" / "record.py")
    metrics = [k for k in rows[0] if f"{k}_input" in rows[0]]
    head, expected = _markdown_table(recorder.markdown(rows, metrics))
    shown_head, shown = _markdown_table(text)
    assert shown_head == head, f"{record.name}: its columns are not those `{command}` produces now"
    shown, expected = _as_auto(head, shown, args), _as_auto(head, expected, args)
    keys = head.index("images")
    assert [r[:keys] for r in shown] == [r[:keys] for r in expected], f"{record.name}: rows differ from `{command}`"
    if figure_by_figure:
        timing = head.index("s/image")
        assert _same_figures([r[:timing] for r in shown], [r[:timing] for r in expected]), \
            f"{record.name}: figures differ"


def _load_module(path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------- lists and names


def test_every_hook_is_documented():
    from restore_core.plugins import hookspecs

    hooks = [name for name in dir(hookspecs) if name.startswith("register_")]
    page = (ROOT / "docs" / "plugins.md").read_text()
    assert hooks and all(f"### {hook}" in page for hook in hooks)
    examples = [b.body for b in _blocks(ROOT / "docs" / "plugins.md") if b.lang == "python"]
    for hook in hooks:
        if hook != "register_restorers":  # the complete example above the hooks is a restorer
            assert any(f"def {hook}(" in body for body in examples), f"plugins.md has no worked example of {hook}"


def test_lists_of_built_ins_match_the_registries():
    host = default_host()
    ours = {p.name for p in host.plugins() if p.distribution == "restore-framework"}
    text = (ROOT / "docs" / "concepts.md").read_text()
    checked = 0
    for term, definition in re.findall(r"^(\w+)\n: (.*?)(?=\n\n)", text, re.S | re.M):
        listed = re.search(r"Built in: (.*?)\.(?:\s|$)", definition, re.S)
        if listed is None:
            continue
        kind = term.lower()
        names = set(re.findall(r"`([^`]+)`", listed[1]))
        assert names == {r.name for r in host.registry(kind) if r.plugin in ours}, f"concepts.md: built-in {kind}s"
        checked += 1
    assert checked >= 4


def test_the_public_api_is_documented():
    import restore_core

    page = (ROOT / "docs" / "api.md").read_text()
    missing = [name for name in restore_core.__all__ if f"`{name}`" not in page]
    assert not missing, f"docs/api.md does not name {missing}"


def test_the_zoo_table_names_data_sets_not_paths():
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    try:
        from restore_tables import dataset_label
    finally:
        sys.path.remove(str(ROOT / "docs" / "_ext"))
    assert dataset_label("cbsd432") == "cbsd432"
    assert dataset_label("../shared/datasets/train/cbsd432") == "cbsd432"
    assert dataset_label("/data/test/set12/") == "set12"



def test_shown_figures_may_differ_only_by_the_default_precision():
    assert _same_figures([["dncnn", "5", "31.30", "0.8692", "+10.73"]], [["dncnn", "5", "31.29", "0.8690", "+10.72"]])
    assert not _same_figures([["dncnn", "31.30"]], [["dncnn", "31.27"]])  # more than bf16 can move it
    assert not _same_figures([["dncnn", "5"]], [["dncnn", "4"]])  # counts are exact
    assert not _same_figures([["dncnn", "31.30"]], [["nlm", "31.30"]])
    assert not _same_figures([["dncnn"]], [["dncnn"], ["nlm"]])


def test_a_record_made_with_backend_auto_matches_another_machines_choice():
    head = ["restorer", "backend", "images"]
    rows = [["dncnn", "optimized", "5"], ["identity", "-", "5"]]
    other = [["dncnn", "openvino:precision=bf16", "5"], ["identity", "-", "5"]]
    assert _as_auto(head, rows, ["bench", "-r", "dncnn"]) == _as_auto(head, other, ["bench", "-r", "dncnn"])
    # a backend the command names must be the one shown
    named = ["bench", "-r", "dncnn", "--backend", "optimized"]
    assert _as_auto(head, rows, named) != _as_auto(head, other, named)
    assert _as_auto(head, [["dncnn", "eager", "5"]], ["bench"]) == [["dncnn", "eager", "5"]]
