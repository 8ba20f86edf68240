"""`restore list`, `restore show`, `restore datasets`, `restore models`, `restore plugins`: what is installed.

Listing loads plugins and reads their registrations; it never imports torch itself (the heavy
imports of `models` and `datasets` sit inside those commands), so `restore list` and `restore
plugins` start as fast as the installed plugins allow. `show` renders
`restore_core.plugins.describe`, which introspects without building anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from restore_core.cli.context import fmt_number, host_of, wide_console
from restore_core.plugins.describe import ComponentDescription, describe_parameters, find, spec_value


@click.command("list")
@click.option("-v", "--verbose", is_flag=True, help="Add each component's parameters with types and defaults.")
@click.pass_context
def list_components(ctx: click.Context, verbose: bool) -> None:
    """List degradations, restorers, metrics, datasets and backends with the plugin each comes from."""
    host = host_of(ctx)
    console = wide_console()
    for kind in ("degradation", "restorer", "metric", "dataset", "backend"):
        table = Table(title=f"{kind}s", title_justify="left")
        for col in ("name", "also", "description", "plugin", *(("parameters",) if verbose else ())):
            table.add_column(col)
        for reg in host.registry(kind):
            also = [*reg.aliases]
            if reg.shorthand:
                also.append(f"{reg.name}<{reg.shorthand}>")
            # plugin text is shown as is: Text never reads "[...]" in it as rich markup
            description = Text(reg.description)
            if kind == "backend":
                reason = host.registry("backend").build(reg.name).unavailable()
                description.append(f" (unavailable: {reason})" if reason else " (available)",
                                   style="red" if reason else "green")
            params = [Text(", ".join(p.compact() for p in describe_parameters(reg.factory)))] if verbose else []
            table.add_row(Text(reg.name), Text(", ".join(also)), description, Text(reg.plugin), *params)
        if kind == "dataset":
            table.add_row("PATH", "", "any folder of PNG, JPEG, BMP or TIFF images", "", *([""] if verbose else []))
        console.print(table)


@click.command()
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def show(ctx: click.Context, name: str, fmt: str) -> None:
    """Show one component: kind, plugin, task, channels and its parameters with types and defaults.

    NAME is a registered name, an alias or a shorthand (`gaussian25`); a name several kinds use
    shows each, and `KIND/NAME` (`restorer/dncnn`) picks one.
    """
    found = find(host_of(ctx), name)
    if fmt == "json":
        click.echo(json.dumps([d.to_dict() for d in found], indent=2))
        return
    console = wide_console()
    for i, d in enumerate(found):
        if i:
            console.print()
        fields = Table.grid(padding=(0, 2))
        fields.add_column(style="bold")
        fields.add_column()
        source = f"{d.plugin} ({d.distribution} {d.version})" if d.distribution else d.plugin
        rows = [("kind", d.kind), ("name", d.name), ("aliases", ", ".join(d.aliases) or "-"),
                ("shorthand", _shorthand(d)),
                ("description", d.description or "-"), ("plugin", source)]
        if d.tasks:
            rows.append(("tasks" if d.kind == "restorer" else "task", ", ".join(d.tasks)))
        if d.channels:
            rows.append(("channels", ", ".join(map(str, d.channels))))
        if d.higher_is_better is not None:
            rows.append(("direction", "higher is better" if d.higher_is_better else "lower is better"))
            rows.append(("unit", d.unit or "-"))
        for key, value in rows:
            fields.add_row(key, Text(value))  # Text: plugin text is never read as rich markup
        console.print(fields)
        params = Table(title=f"parameters of {d.qualified_name}", title_justify="left")
        for col in ("parameter", "type", "default", "allowed values"):
            params.add_column(col)
        for p in d.parameters:
            default = "(required)" if p.required else spec_value(p.default)
            params.add_row(Text(p.name), Text(p.type or "-"), Text(default), Text(", ".join(p.choices) or "-"))
        if d.parameters:
            console.print(params)
        else:
            console.print(f"{d.qualified_name} takes no parameters")


def _shorthand(d: ComponentDescription) -> str:
    """`gaussian<sigma>: gaussian25 is gaussian:sigma=25`, with the parameter's default as the example."""
    if not d.shorthand:
        return "-"
    default = next((p.default for p in d.parameters if p.name == d.shorthand and not p.required), None)
    example = spec_value(default) if isinstance(default, (int, float)) and not isinstance(default, bool) else "2"
    return f"{d.name}<{d.shorthand}>: {d.name}{example} is {d.name}:{d.shorthand}={example}"


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--verify", is_flag=True,
              help="Check every local or cached file against its recorded checksum (reads them all).")
@click.pass_context
def datasets(ctx: click.Context, fmt: str, verify: bool) -> None:
    """Show every dataset: local (under RESTORE_DATA), cached, downloadable or missing."""
    from restore_core.data.datasets import DATA_ENV, PublicDataset, cache_root, data_root

    rows = []
    for reg in host_of(ctx).registry("dataset"):
        entry = reg.factory
        row: dict[str, Any] = {"name": reg.name, "plugin": reg.plugin, "description": reg.description}
        if isinstance(entry, PublicDataset):
            found = entry.locate()
            size = sum((found.path / f).stat().st_size for f in entry.files) if found.path else None
            status = found.where
            if found.path is None:
                status = "downloadable" if entry.download_url and entry.verifiable else "missing"
            elif verify:
                corrupt = entry.corrupt_files(found.path)
                row["corrupt"] = corrupt
                status += (f", {len(corrupt)} corrupt ({corrupt[0]}{', ...' if len(corrupt) > 1 else ''})"
                           if corrupt else ", verified" if entry.verifiable else ", unverified (no checksums)")
            row.update(images=entry.count, mode=entry.mode, status=status,
                       path=str(found.path) if found.path else None, bytes=size, source=entry.source,
                       verified=entry.verifiable, citation=entry.citation)
        else:
            row.update(images=getattr(entry, "count", None), mode=getattr(entry, "mode", None),
                       status="built in", path=None, bytes=None, source=None)
        rows.append(row)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    root = data_root()
    table = Table(title=f"datasets ({DATA_ENV}={root if root else '<unset>'}; cache {cache_root()})",
                  title_justify="left")
    for col in ("name", "images", "mode", "status", "size", "source"):
        table.add_column(col, justify="right" if col in ("images", "size") else "left")
    colours = {"local": "green", "cache": "green", "built in": "green", "downloadable": "yellow",
               "missing": "red"}
    for row in rows:
        size = f"{row['bytes'] / 1e6:.1f} MB" if row["bytes"] else "-"
        state = row["status"].split(",")[0]
        status = Text(row["status"], style="red" if row.get("corrupt") else colours.get(state, "white"))
        table.add_row(Text(row["name"]), str(row["images"] or "-"), Text(row["mode"] or "-"), status, size,
                      Text(row["source"] or row["description"]))
    wide_console().print(table)


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def models(ctx: click.Context, fmt: str) -> None:
    """List the trained weights plugins ship, with what their model cards record."""
    from importlib import resources

    from restore_core.components.flops import flops_per_pixel
    from restore_core.components.network_restorer import NetworkRestorer
    from restore_core.train.weights import read_metadata

    rows = []
    for reg in host_of(ctx).registry("restorer"):
        package = getattr(reg.factory, "weights_package", None)
        if not (isinstance(reg.factory, type) and issubclass(reg.factory, NetworkRestorer) and package):
            continue
        try:
            files = sorted(resources.files(package).iterdir(), key=lambda f: f.name)
        except (ModuleNotFoundError, FileNotFoundError):
            continue
        for file in files:
            if not file.name.endswith(".safetensors"):
                continue
            meta = read_metadata(Path(str(file)))
            if str(meta.get("restorer", "")).split(":")[0] != reg.name:
                continue  # a package may hold the weights of several restorers
            card = Path(str(file)).with_suffix(".md")
            cost = None
            if meta.get("restorer") and meta.get("channels"):
                model = host_of(ctx).registry("restorer").build(str(meta["restorer"]))
                cost = flops_per_pixel(model.build_network(int(meta["channels"]))) / 1e6
            rows.append({"restorer": reg.name, "key": meta.get("key", file.name), "spec": meta.get("restorer"),
                         "degradation": meta.get("degradation"), "dataset": meta.get("dataset"),
                         "channels": meta.get("channels"), "step": meta.get("step"),
                         "val_psnr": meta.get("val_psnr"), "bytes": Path(str(file)).stat().st_size,
                         "mflops_per_pixel": None if cost is None else round(cost, 3),
                         "card": str(card) if card.is_file() else None})
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="shipped models", title_justify="left")
    for col in ("key", "restorer spec", "trained under", "data", "val PSNR", "MFLOP/px", "size", "model card"):
        table.add_column(col)
    for row in rows:
        table.add_row(Text(row["key"]), Text(str(row["spec"])), Text(str(row["degradation"])),
                      Text(str(row["dataset"])), fmt_number(row["val_psnr"], 2), fmt_number(row["mflops_per_pixel"], 2),
                      f"{row['bytes'] / 1e6:.2f} MB", Text(row["card"] or "-"))
    wide_console().print(table)




@click.command()
@click.pass_context
def plugins(ctx: click.Context) -> None:
    """List plugins: distribution, version, hooks, and why a plugin failed."""
    host = host_of(ctx)
    host.registry("restorer")  # run the hooks so hook failures are known
    table = Table(title="plugins", title_justify="left")
    for col in ("plugin", "distribution", "version", "hooks", "status"):
        table.add_column(col)
    unavailable: dict[str, list[str]] = {}  # a loaded plugin whose backend cannot run on this machine
    for reg in host.registry("backend"):
        reason = host.registry("backend").build(reg.name).unavailable()
        if reason:
            unavailable.setdefault(reg.plugin, []).append(f"backend {reg.name} unavailable here: {reason}")
    for info in host.plugins():
        # each failure already says what failed ("import failed: ...", "register_x of 'p' failed; ...")
        status = Text("; ".join(info.failures), style="red") if info.failures else Text("ok")
        if info.name in unavailable and not info.failures:
            status.append("; " + "; ".join(unavailable[info.name]), style="yellow")
        table.add_row(Text(info.name), Text(info.distribution), Text(info.version), Text(", ".join(info.hooks)),
                      status)
    wide_console().print(table)

