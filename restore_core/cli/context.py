"""What every command shares: the plugin host of the click context, consoles and the progress bar."""

from __future__ import annotations

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from restore_core.plugins.host import PluginHost, default_host

stderr = Console(stderr=True, highlight=False)

TEXT_COLUMN_WIDTH = 24  # longer names (folder paths) fold onto more lines, never push numbers off


def host_of(ctx: click.Context) -> PluginHost:
    """The host a test put in the context, else the process-wide one."""
    return ctx.obj if isinstance(ctx.obj, PluginHost) else default_host()


def wide_console() -> Console:
    """A console for standard output that does not squeeze tables when piped to a file."""
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=200)


def progress_bar(enabled: bool) -> Progress:
    """A transient progress bar on standard error, shown only in a terminal."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=stderr, transient=True,
                    disable=not enabled or not stderr.is_terminal)


def fmt_number(value: float | None, digits: int) -> str:
    """A number with `digits` decimals, or '-' when there is none."""
    return "-" if value is None else f"{value:.{digits}f}"
