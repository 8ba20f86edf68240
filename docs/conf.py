"""Sphinx configuration of the restore docs site (MyST Markdown, Furo, autodoc, sphinx-click)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "restore"
author = "the restore developers"
copyright = "2026, the restore developers"
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx_click",
    "restore_tables",
]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
html_theme = "furo"
html_title = "restore"
html_static_path = ["_static"]
# wide result tables: smaller type, sideways scrolling (docs/_static/restore.css)
html_css_files = ["restore.css"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# the one-line docstrings are the documentation; inherited members would repeat torch's
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
nitpicky = False
# commands quote options as `--out`; smart quotes would print them with an en dash
smartquotes = False
