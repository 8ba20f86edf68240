"""The `restore` command line: click for parsing, rich for display, one-line errors.

Every RestoreError becomes one line on standard error and exit code 1 (2 for usage errors);
no traceback reaches a user unless RESTORE_DEBUG=1 is set.

Command modules load lazily: `restore run` imports `restore_core.cli.run` and nothing of `bench`
or `train`, and `restore --version` and `restore --help` import no command module at all, so none
of them pays torch's start-up (about a second). `--help` takes each command's one-line help from
COMMANDS; tests/cli/test_startup.py checks that table against the commands themselves.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from importlib import import_module
from typing import Any

import click

import restore_core
from restore_core.errors import RestoreError
from restore_core.system import settings

#: command name -> ("module:attribute" under restore_core.cli, the first paragraph of its help)
COMMANDS: dict[str, tuple[str, str]] = {
    "bench": ("bench:bench",
              "Score every restorer x degradation x dataset (x backend) combination; store and print it."),
    "datasets": ("catalogue:datasets",
                 "Show every dataset: local (under RESTORE_DATA), cached, downloadable or missing."),
    "export": ("export:export",
               "Export a network restorer to ONNX (dynamic height and width, BatchNorm folded), checked "
               "against eager."),
    "list": ("catalogue:list_components",
             "List degradations, restorers, metrics, datasets and backends with the plugin each comes from."),
    "models": ("catalogue:models", "List the trained weights plugins ship, with what their model cards record."),
    "plugin": ("plugin:plugin", "Make plugins: `restore plugin new NAME`."),
    "plugins": ("catalogue:plugins", "List plugins: distribution, version, hooks, and why a plugin failed."),
    "run": ("run:run", "Restore images (files or folders) and write PNGs."),
    "show": ("catalogue:show",
             "Show one component: kind, plugin, task, channels and its parameters with types and defaults."),
    "train": ("train:train", "Train a restorer's network; keep the best weights by validation PSNR."),
}


class RestoreGroup(click.Group):
    """The command group; its `main` turns every expected error into one line and an exit code.

    Commands are looked up in COMMANDS and imported on first use; a command added with
    `add_command` is served as click's own groups serve it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # kept apart from `self.commands`: sphinx-click documents `commands` when it is not empty,
        # and it must list every command, not only those a test happened to load first
        self._loaded: dict[str, click.Command] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, sorted, without importing any command module."""
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command `cmd_name`, importing its module the first time it is asked for."""
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self._loaded:
            module, _, attribute = COMMANDS[cmd_name][0].partition(":")
            self._loaded[cmd_name] = getattr(import_module(f"restore_core.cli.{module}"), attribute)
        return self._loaded[cmd_name]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List every command with its one-line help from COMMANDS, importing no command module."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names))
        rows = []
        for name in names:
            if name in self.commands:
                if not self.commands[name].hidden:
                    rows.append((name, self.commands[name].get_short_help_str(limit)))
            else:
                # a stand-in command shortens the help line exactly as the real one would
                rows.append((name, click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             **extra: Any) -> Any:
        """Run a command; never show a traceback unless RESTORE_DEBUG=1."""
        debug = settings.debug()
        previous = warnings.showwarning
        warnings.showwarning = _one_line_warning
        try:
            return super().main(args=args, prog_name=prog_name or "restore", standalone_mode=False,
                                **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            _error(exc.format_message(), exc.exit_code)
        except click.exceptions.Abort:
            _error("aborted", 130)
        except RestoreError as exc:
            if debug:
                raise
            _error(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _error("interrupted", 130)
        except Exception as exc:  # a bug: still one line, with a way to see more
            if debug:
                raise
            _error(f"internal error: {type(exc).__name__}: {exc} (RESTORE_DEBUG=1 shows the traceback)", 1)
        finally:
            warnings.showwarning = previous


def _error(message: str, code: int) -> None:
    first = " ".join(str(message).split())  # one line, whatever the message held
    click.echo(f"restore: error: {first}", err=True)
    sys.exit(code)


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                      file: Any = None, line: str | None = None) -> None:
    click.echo(f"restore: warning: {' '.join(str(message).split())}", err=True)


@click.group(cls=RestoreGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(restore_core.__version__, prog_name="restore")
@click.option("--strict", is_flag=True, help="Refuse settings expected to run far slower (bf16 where the CPU "
              "emulates it) instead of warning; RESTORE_STRICT=1 does the same.")
@click.pass_context
def cli(ctx: click.Context, strict: bool) -> None:
    """restore: benchmark, run and train image restorers; every component is a plugin."""
    if strict:
        # an environment variable for this command only, so --jobs workers started from here refuse too
        ctx.with_resource(settings.strict_mode())


# ---------------------------------------------------------------------------------------- entry


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `restore` console script."""
    cli.main(args=list(argv) if argv is not None else None)
