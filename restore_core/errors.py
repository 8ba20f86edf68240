"""Exception types: each is something a user can act on; the CLI turns them into one line.

Invariant: every exception class restore defines lives in this module (the modules that raise them
import them from here, and re-export them for older imports), so one file shows everything a user
may see and which exit code it gives. Warnings are not errors and live beside what warns
(`restore_core.plugins.host.PluginWarning`).
"""

from __future__ import annotations


class RestoreError(Exception):
    """Base class for every error restore reports to a user."""

    #: process exit code the CLI uses for this error (2: usage, 1: failure)
    exit_code: int = 1


class UsageError(RestoreError):
    """The command line or a spec string asks for something that cannot be done."""

    exit_code = 2


class UnknownNameError(UsageError):
    """A spec names a component no plugin registered."""


class SpecError(UsageError):
    """A spec string is malformed or gives a parameter the component does not take."""


class DuplicateNameError(RestoreError):
    """Two plugins registered the same name."""


class WeightsNotFoundError(RestoreError):
    """A restorer has no trained weights for the configuration asked for."""


class WeightsError(RestoreError):
    """A weights file is unreadable or was made for another configuration."""


class IncompatibleError(RestoreError):
    """A restorer cannot serve a degradation or an image (task, channels or size)."""


class BackendUnavailableError(RestoreError):
    """A backend cannot run on this machine (no CUDA, a package missing); the message says why."""


class DatasetError(RestoreError):
    """A dataset cannot be found or read."""


class IDXError(DatasetError):
    """An IDX file is malformed or truncated."""


class ImageReadError(RestoreError):
    """An image file is missing, empty, truncated or not an image."""


class ImageWriteError(RestoreError):
    """An image cannot be written where it was asked for."""


class StoreError(RestoreError):
    """A results store is missing, locked by another run, or was made by a different matrix."""


class TrainingError(RestoreError):
    """A training run failed on its own terms (its loss diverged), not because it was asked wrongly."""


class PluginError(RestoreError):
    """A plugin failed to load or misbehaved (raised only in strict mode)."""


class ComponentError(RestoreError):
    """A restorer, degradation or metric raised while a benchmark measured it; the message blames it.

    Raised only with `--fail-fast`; otherwise its cell is recorded as failed and the matrix goes on.
    """


class CellsFailedError(RestoreError):
    """A benchmark finished, but components failed in some of its cells (each named in the output)."""


class OutputError(RestoreError):
    """A restorer returned an unusable result (values that are not finite numbers); nothing is written."""
