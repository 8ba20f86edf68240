"""The `restore` command line: click for parsing, rich for display, one-line errors.

Every RestoreError becomes one line on standard error and exit code 1 (2 for usage errors);
no traceback reaches a user unless RESTORE_DEBUG=1 is set.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import click

import restore_core
from restore_core.errors import RestoreError


class RestoreGroup(click.Group):
    """The command group; its `main` turns every expected error into one line and an exit code."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             **extra: Any) -> Any:
        """Run a command; never show a traceback unless RESTORE_DEBUG=1."""
        debug = os.environ.get("RESTORE_DEBUG") == "1"
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
def cli() -> None:
    """restore: benchmark, run and train image restorers; every component is a plugin."""


def _add_commands() -> None:
    from restore_core.cli.bench import bench
    from restore_core.cli.catalogue import datasets, list_components, models, plugins
    from restore_core.cli.plugin import plugin
    from restore_core.cli.run import run
    from restore_core.cli.train import train

    for command in (bench, list_components, datasets, models, plugin, plugins, run, train):
        cli.add_command(command)


_add_commands()

# ---------------------------------------------------------------------------------------- entry


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `restore` console script."""
    cli.main(args=list(argv) if argv is not None else None)
