"""Exception types: each is something a user can act on; the CLI turns them into one line."""

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


class IncompatibleError(RestoreError):
    """A restorer cannot serve a degradation or an image (task, channels or size)."""


class DatasetError(RestoreError):
    """A dataset cannot be found or read."""


class PluginError(RestoreError):
    """A plugin failed to load or misbehaved (raised only in strict mode)."""
