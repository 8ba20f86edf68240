"""Docs tables generated from the live registries at build time, so they cannot drift:
`{restore-table} datasets` (and degradations, restorers, metrics, backends, models)."""

from __future__ import annotations

from pathlib import PurePosixPath

from docutils import nodes
from docutils.parsers.rst import Directive


def _table(head: list[str], rows: list[list[str]]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(head))
    table += group
    for _ in head:
        group += nodes.colspec(colwidth=1)
    thead = nodes.thead()
    group += thead
    thead += _row(head)
    body = nodes.tbody()
    group += body
    for row in rows:
        body += _row(row)
    return table


def _row(cells: list[str]) -> nodes.row:
    row = nodes.row()
    for text in cells:
        entry = nodes.entry()
        entry += nodes.paragraph(text=text)
        row += entry
    return row


def dataset_label(recorded: str) -> str:
    """Name the data a model was trained on without the trainer's local paths.

    A card records `--dataset` as it was given: a registered name, or a folder such as
    `../shared/datasets/train/cbsd432`, which in the `RESTORE_DATA` layout (`train/NAME`,
    `test/NAME`) is the set NAME; a folder is shown by its own name.
    """
    return PurePosixPath(recorded.replace("\\", "/")).name or recorded


class RestoreTable(Directive):
    """Render one registry (or the shipped models) as a table."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        from restore_core import default_host
        from restore_core.data.datasets import PublicDataset

        kind = self.arguments[0].rstrip("s")
        host = default_host()
        if kind == "model":
            import json
            import subprocess
            import sys

            out = subprocess.run([sys.executable, "-m", "restore_core", "models", "--format", "json"],
                                 capture_output=True, text=True, check=True).stdout
            rows = [[r["key"], str(r["spec"]), str(r["degradation"]), dataset_label(str(r["dataset"])),
                     f"{r['val_psnr']:.2f}",
                     f"{r['bytes'] / 1e6:.2f} MB"] for r in json.loads(out)]
            return [_table(["weights", "restorer", "trained under", "data", "val PSNR", "size"], rows)]
        if kind == "dataset":
            rows = []
            for reg in host.registry("dataset"):
                entry = reg.factory
                if isinstance(entry, PublicDataset):
                    checks = "per-file SHA-256" if entry.verifiable and all(
                        str(c).startswith("sha256:") for c in entry.files.values()) else (
                        "publisher's MD5" if entry.verifiable else "none recorded")
                    rows.append([reg.name, str(entry.count), entry.mode, entry.layout, entry.source, checks,
                                 "yes" if entry.download_url and entry.verifiable else "no", entry.citation])
                else:
                    rows.append([reg.name, str(getattr(entry, "count", "-")), str(getattr(entry, "mode", "-")),
                                 "(embedded)", reg.description, "-", "-", "scikit-image (BSD-3)"])
            return [_table(["name", "images", "mode", "local layout", "source", "checksums", "download",
                            "citation / licence"], rows)]
        rows = [[reg.name, ", ".join(reg.aliases) or "-", reg.description, reg.plugin] for reg in host.registry(kind)]
        return [_table(["name", "aliases", "description", "plugin"], rows)]


def setup(app) -> dict[str, object]:
    """Register the directive."""
    app.add_directive("restore-table", RestoreTable)
    return {"parallel_read_safe": True}
