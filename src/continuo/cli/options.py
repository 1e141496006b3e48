"""Argument helpers shared by the subcommands."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from continuo.errors import ConfigError
from continuo.storage import is_url, join, staged

__all__ = ["parse_key_values", "parse_value", "resolve_out", "staged_out"]


def parse_key_values(pairs: Sequence[str] | None, what: str) -> dict[str, Any]:
    """``["steps_per_quarter=8", "transpose=false"]`` -> ``{"steps_per_quarter": 8, ...}``.

    Values are read as JSON when they parse (numbers, true/false, null, lists), else as strings.
    """
    options: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{what} {pair!r} is not KEY=VALUE")
        options[key.strip()] = parse_value(value)
    return options


def parse_value(text: str) -> Any:
    """A command-line value as JSON when it parses (``8``, ``1e-3``, ``true``), else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def resolve_out(out: str | Path, suffixes: Sequence[str]) -> tuple[Path, bool]:
    """``(path, is_file)`` for an ``--out`` value, by the rule of every command that writes
    music: a name ending in one of the command's output ``suffixes`` is a file; a name without a
    suffix, or an existing folder, is a folder; any other suffix is an error.

    ``suffixes`` are the command's output suffixes (``.wav``, ...). A file's folder, or the
    folder itself, may not exist yet; a path that exists as a file where a folder is needed (the
    folder, or any folder above it) is a :class:`ConfigError`, as is an unknown suffix.
    """
    path = Path(out)
    suffix = path.suffix.lower()
    listed = ", ".join(suffixes)
    if path.is_dir():
        _check_folders(path, path)
        return path, False
    if suffix in suffixes:
        _check_folders(path.parent, path)
        return path, True
    if suffix:
        raise _unknown_suffix(path, suffix, suffixes)
    if path.exists():
        raise ConfigError(
            f"{path}: is a file, not a folder; --out is a folder or a file name ending in {listed}"
        )
    _check_folders(path, path)
    return path, False


def _check_folders(folder: Path, out: Path) -> None:
    """:class:`ConfigError` when ``folder`` or a folder above it exists as something else."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise ConfigError(f"{out}: {candidate} is a file, not a folder")
            return


def _unknown_suffix(out: str | Path, suffix: str, suffixes: Sequence[str]) -> ConfigError:
    listed = ", ".join(suffixes)
    return ConfigError(
        f"{out}: --out cannot write '{suffix}' files; give a file name ending in {listed}, "
        "or a folder"
    )


@contextlib.contextmanager
def staged_out(
    out: str | Path, suffixes: Sequence[str]
) -> Iterator[tuple[Path, Callable[[Path], str]]]:
    """``(local --out, shown)`` for an ``--out`` that may be a URL: the block writes under the
    local ``--out`` (for :func:`resolve_out`), and ``shown(path)`` is what to print for a file
    written there. A URL's files are uploaded (each one upload, atomic on object stores) when the
    block ends without an error; a local ``--out`` is itself, and ``shown`` is ``str``."""
    text = str(out)
    if not is_url(text):
        yield Path(text), str
        return
    stem = text.rstrip("/").rsplit("/", 1)
    suffix = PurePosixPath(stem[-1]).suffix.lower()
    if suffix and suffix not in suffixes:  # as resolve_out says of a local --out
        raise _unknown_suffix(text, suffix, suffixes)
    is_file = bool(suffix)
    folder_url = stem[0] if is_file else text
    with staged(folder_url, versioned=False) as local:
        local.mkdir(parents=True, exist_ok=True)
        yield (
            (local / stem[-1] if is_file else local),
            (lambda path: join(folder_url, Path(path).relative_to(local).as_posix())),
        )
