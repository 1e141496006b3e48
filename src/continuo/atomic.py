"""Writing files and folders so that a crash never leaves half of one behind.

This is the one place where continuo writes safely; every writer (MIDI, MusicXML, WAV, PNG, audio,
datasets, checkpoints) goes through it.

- :func:`atomic_file` yields a temporary path beside the target (same folder, so the rename stays
  on one file system; same suffix, since some writers choose the format by it). When the block
  ends without an error, the file is flushed to disk (``fsync``), given the mode ``open()`` would
  have given it (0o666 less the process umask; ``mkstemp`` and safetensors make 0o600), renamed
  over the target, and the folder is flushed so that the rename itself survives a power cut. On
  an error the temporary file is removed and the target is untouched.
- :func:`atomic_dir` does the same for a folder: the block fills a temporary folder, whose files
  are flushed; then the old folder is renamed aside (``.NAME.old-PID``), the new one renamed into
  place, and the old one removed. A process killed between the two renames leaves no ``NAME``
  but a complete ``.NAME.old-PID``: :func:`recover_dir` (called by every reader of such folders)
  renames it back.

An ``OSError`` while writing (no permission, disk full, a file where a folder should be) becomes
a one-line :class:`~continuo.errors.ContinuoError` naming the target.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from continuo.errors import ContinuoError

__all__ = [
    "atomic_dir",
    "atomic_file",
    "file_mode",
    "fsync_dir",
    "recover_dir",
    "write_bytes",
    "write_text",
]


def file_mode() -> int:
    """The mode a new file gets from ``open()``: 0o666 less the process umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Flush ``folder``'s entries (renames, new files) to disk; a no-op where folders cannot be
    opened (Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _cannot_write(target: Path, error: OSError) -> ContinuoError:
    return ContinuoError(f"{target}: cannot write ({error.strerror or error})")


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (the file exists, empty); when the block ends
    without an error it replaces ``path`` in one step (see the module docstring). Parent folders
    are made. ``OSError`` becomes a one-line :class:`ContinuoError`."""
    target = Path(path)
    tmp = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:12]}.tmp{target.suffix}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as error:
        raise _cannot_write(target, error) from error
    try:
        yield tmp
        _fsync_file(tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, target)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise _cannot_write(target, error) from error
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`atomic_file`); returns the path."""
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`atomic_file`); returns the path."""
    return write_bytes(path, text.encode("utf-8"))


def _old_name(folder: Path) -> Path:
    return folder.parent / f".{folder.name}.old-{os.getpid()}"


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; when the block ends without an error it
    replaces the folder ``path`` (see the module docstring). On an error the temporary folder is
    removed and ``path`` is untouched. ``OSError`` becomes a one-line :class:`ContinuoError`."""
    folder = Path(path)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    old = _old_name(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
    except OSError as error:
        raise _cannot_write(folder, error) from error
    try:
        yield tmp
        for file in sorted(p for p in tmp.rglob("*") if p.is_file()):
            _fsync_file(file)
        fsync_dir(tmp)
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        fsync_dir(folder.parent)
    except BaseException as error:
        if not folder.exists() and old.exists():  # failed between the renames: put it back
            with contextlib.suppress(OSError):
                os.replace(old, folder)
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(error, OSError):
            raise _cannot_write(folder, error) from error
        raise
    shutil.rmtree(old, ignore_errors=True)


def recover_dir(
    path: str | os.PathLike[str], complete: Callable[[Path], bool] | None = None
) -> bool:
    """Put back the folder ``path`` if a process was killed between :func:`atomic_dir`'s two
    renames (no ``path``, a ``.NAME.old-PID`` beside it); only an old folder that ``complete``
    accepts (any, when None). Returns whether ``path`` exists now."""
    folder = Path(path)
    if folder.exists():
        return True
    for orphan in sorted(folder.parent.glob(f".{folder.name}.old-*")):
        if orphan.is_dir() and (complete is None or complete(orphan)):
            with contextlib.suppress(OSError):
                os.replace(orphan, folder)
                fsync_dir(folder.parent)
                return True
    return False
