"""Errors a user can cause, each with a one-line message that names the file and the problem.

The CLI prints ``str(error)`` of a :class:`ContinuoError` and exits non-zero; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

from os import PathLike

__all__ = ["CodecError", "ConfigError", "ContinuoError", "ReadError", "SeedError", "StorageError"]


class ContinuoError(Exception):
    """Base class of every error that is the user's input, not a bug in continuo."""


class ReadError(ContinuoError):
    """A file could not be read as what its name says it is."""

    def __init__(self, path: str | PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class CodecError(ContinuoError):
    """A score cannot be encoded by a codec (e.g. a chord given to the monophonic melody codec).

    ``reason`` is what is wrong; ``option``, when given, names the codec option that would accept
    the score (``"polyphony='top' keeps the highest line"``). The message is both, the option in
    parentheses; a front end without that option (``generate``) words its own advice from
    ``reason``.
    """

    def __init__(self, reason: str, *, option: str | None = None) -> None:
        self.reason = reason
        self.option = option
        super().__init__(f"{reason} ({option})" if option else reason)


class SeedError(ContinuoError):
    """A seed (text or file) that cannot be turned into tokens."""


class ConfigError(ContinuoError):
    """A configuration value, option or combination of options that cannot work."""


class StorageError(ContinuoError):
    """A URL that cannot be read or written: no package for its scheme, an unreachable endpoint,
    refused credentials, no such bucket or object (see :mod:`continuo.storage`)."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")
