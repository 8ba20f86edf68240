"""`restore plugin new NAME`: a new plugin package that installs and passes the conformance kit.

The package holds one working restorer (a box-blur denoiser) to edit, its entry point, and the
one-line conformance test.
"""

from __future__ import annotations

import re
from pathlib import Path

from restore_core import __version__
from restore_core.errors import UsageError
from restore_core.plugins.host import PluginHost, default_host
from restore_core.system.atomic_files import atomic_write_text

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")

_PYPROJECT = '''[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "restore-plugin-{name}"
version = "0.1.0"
description = "A restore plugin: {name}"
requires-python = ">=3.10"
dependencies = ["{requirement}"]

[project.optional-dependencies]
test = ["pytest>=8"]

# this table is what makes `restore` discover the plugin
[project.entry-points."restore.plugins"]
{name} = "{module}"
'''

_MODULE = '''"""The {name} plugin for restore.

torch is imported inside `restore`, not at the top: restore imports every plugin to list what it
registers, and `restore list` should not wait for torch (or any other heavy dependency).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_core import DENOISING, DegradationInfo, Restorer, hookimpl

if TYPE_CHECKING:  # annotations only; postponed by the __future__ import above
    import torch


class {cls}(Restorer):
    """A k x k box blur: replace it with your restorer."""

    name = "{name}"
    description = "k x k box blur (template from restore plugin new)"
    tasks = frozenset({{DENOISING}})

    def __init__(self, size: int = 3) -> None:
        if size < 1 or size % 2 == 0:
            raise ValueError(f"size must be odd and positive, got {{size}}")
        self.size = size

    def restore(self, degraded: torch.Tensor, info: DegradationInfo) -> torch.Tensor:
        """Return the blurred batch, clipped to [0, 1]."""
        import torch.nn.functional as F

        r = self.size // 2
        padded = F.pad(degraded.clamp(0, 1), (r, r, r, r), mode="replicate")
        return F.avg_pool2d(padded, self.size, stride=1)


@hookimpl
def register_restorers(register) -> None:
    """Register `{name}`."""
    register({cls})
'''

_TEST = '''"""restore's conformance kit over this plugin's components."""

from restore_core.testing import conformance_suite

TestConformance = conformance_suite("{name}")
'''

_GITIGNORE = """build/
dist/
*.egg-info/
__pycache__/
.pytest_cache/
.venv/
"""

_README = '''# restore-plugin-{name}

A plugin for `restore`, the image-restoration framework (distribution `restore-framework`), made by
`restore plugin new {name}`.

    pip install -e '.[test]'
    restore list                      # `{name}` appears
    restore bench -r {name},identity -d gaussian25
    pytest                            # the conformance kit

The restorer lives in `src/{module}/__init__.py`. The other hooks, `register_degradations`,
`register_metrics`, `register_datasets` and `register_backends`, add the other kinds of component
in the same way; the conformance test checks whatever the plugin registers.
'''


def framework_requirement(version: str) -> str:
    """The dependency a new plugin declares: the minor series of `version` (0.x minors may break)."""
    match = re.match(r"(\d+)\.(\d+)", version)
    major, minor = (int(match[1]), int(match[2])) if match else (0, 0)
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f"restore-framework>={major}.{minor},<{upper}"


def _check_free(name: str, host: PluginHost) -> None:
    """Refuse a name a registered restorer or an installed plugin has: the new plugin would be refused."""
    owner = host.registry("restorer").lookup(name)
    if owner is not None:
        raise UsageError(f"restorer name {name!r} is already registered by plugin {owner.plugin!r}; "
                         f"choose another name")
    installed = {p.name: p.distribution for p in host.plugins()}
    if name in installed:
        raise UsageError(f"plugin name {name!r} is already taken by {installed[name] or 'an installed plugin'}; "
                         f"choose another name")


def new_plugin(name: str, parent: Path, host: PluginHost | None = None) -> Path:
    """Write the package `restore-plugin-NAME` under `parent`; return its folder."""
    if not _NAME.match(name):
        raise UsageError(f"plugin name {name!r}: use lowercase letters, digits and '-' (e.g. my-denoiser)")
    _check_free(name, host or default_host())
    root = parent / f"restore-plugin-{name}"
    if root.exists():
        raise UsageError(f"{root} already exists; choose another name or folder")
    module = "restore_" + name.replace("-", "_")
    cls = "".join(part.capitalize() for part in name.split("-")) + "Restorer"
    files = {
        root / "pyproject.toml": _PYPROJECT.format(name=name, module=module,
                                                   requirement=framework_requirement(__version__)),
        root / ".gitignore": _GITIGNORE,
        root / "src" / module / "__init__.py": _MODULE.format(name=name, cls=cls),
        root / "tests" / "test_conformance.py": _TEST.format(name=name),
        root / "README.md": _README.format(name=name, module=module),
    }
    for path, text in files.items():
        atomic_write_text(path, text)
    return root
