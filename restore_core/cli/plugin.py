"""`restore plugin new`: scaffold a plugin package."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def plugin() -> None:
    """Make plugins: `restore plugin new NAME`."""


@plugin.command("new")
@click.argument("name")
@click.option("--dir", "parent", type=click.Path(path_type=Path), default=Path("."), show_default=True,
              help="Folder to create the package in.")
def plugin_new(name: str, parent: Path) -> None:
    """Create restore-plugin-NAME: a working restorer, its entry point and the conformance test."""
    from restore_core.plugins.scaffold import new_plugin

    root = new_plugin(name, parent)
    click.echo(f"created {root}; next: pip install -e '{root}[test]' && pytest {root}")

