"""Paths that may be URLs: every file or folder a user names may live in object storage.

continuo's readers and writers work on local files. A URL that fsspec understands (``s3://``,
``gs://``, ``az://``, ``memory://``, and ``http(s)://`` for reading) is brought to them and sent
back from them here, and nowhere else:

- :func:`fetch` copies a remote file or folder into the cache (``<cache>/remote/``) and returns
  the local copy. The copy is kept: a second fetch downloads only the files whose size or ETag
  changed, so a corpus in a bucket is read once, and the parse cache (keyed by content) works
  for it as for a local folder.
- :func:`staged` yields a local path to write; when the block ends without an error it is sent
  to the URL (:func:`publish`). A local path is yielded as it is (its writer is atomic already).
- :class:`Mirror` is a local folder kept in step with a remote one, part by part: the run folder
  of a training run, whose checkpoints are published as they are written.

Object stores have no rename, so a folder that must appear whole (a dataset, a checkpoint) is
*versioned*: its files are uploaded under a new prefix ``URL/v<time>-<id>/`` and then the small
pointer ``URL/CURRENT`` is written, naming that prefix (the idea of LevelDB's ``CURRENT`` file).
One object's upload is atomic on S3, GCS and Azure, so a reader sees the old version or the new
one, never a mixture; a process killed during the upload leaves the pointer, and what it names,
as they were. :func:`fetch` follows pointers wherever they are in a folder; older versions are
removed after the pointer moves, keeping the one before it for readers still downloading.

Credentials and endpoints come from where each file system looks: the environment
(``AWS_ENDPOINT_URL``, ``AWS_PROFILE``, fsspec's ``FSSPEC_S3_ENDPOINT_URL``...), profiles and
instance roles. Nothing is stored by continuo. Every failure (no package for the scheme, an
unreachable endpoint, refused credentials, no such bucket) is a one-line
:class:`~continuo.errors.StorageError` naming the URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from continuo.atomic import atomic_file, write_text
from continuo.errors import ContinuoError, StorageError
from continuo.paths import default_cache_dir
from continuo.progress import progress_bar

__all__ = [
    "POINTER",
    "Mirror",
    "check_writable",
    "exists",
    "fetch",
    "filesystem",
    "is_url",
    "join",
    "publish",
    "staged",
]

#: The file that names the complete version of a versioned folder.
POINTER = "CURRENT"
_VERSION = re.compile(r"^v\d{8}T\d{6}-[0-9a-f]{8}$")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
#: Schemes that name files to read but cannot be written or listed reliably.
_READ_ONLY = ("http", "https")


def is_url(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a URL (``scheme://...``) rather than a local path; ``file://`` URLs
    count as local paths."""
    return _scheme(str(path)) != "file"


def _scheme(url: str) -> str:
    """``s3`` for ``s3://...``; ``file`` for a local path."""
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else "file"


def local_path(path: str | os.PathLike[str]) -> Path:
    """A local path, from a plain path or a ``file://`` URL."""
    text = str(path)
    return Path(text[len("file://") :] if text.lower().startswith("file://") else text)


def join(url: str, *parts: str) -> str:
    """``url`` with ``parts`` appended, ``/``-separated."""
    return "/".join([url.rstrip("/"), *(p.strip("/") for p in parts)])


def _name(url: str) -> str:
    return PurePosixPath(url.split("://", 1)[-1].rstrip("/")).name or "root"


# -- file systems and their errors ---------------------------------------------------------------


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec file system for ``url`` and the path within it.

    Raises :class:`StorageError` for an unknown scheme or one whose package is not installed
    (naming the package: ``pip install s3fs``).
    """
    import fsspec
    from fsspec.registry import known_implementations

    scheme = _scheme(url)
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError:
        hint = known_implementations.get(scheme, {}).get("err") or f"no package for {scheme}://"
        raise StorageError(url, f"cannot open {scheme}:// URLs here: {hint}") from None
    except ValueError as error:
        if scheme not in known_implementations:
            raise StorageError(url, f"unknown URL scheme {scheme}://") from None
        raise StorageError(url, str(error)) from None


@contextlib.contextmanager
def _remote(url: str, doing: str) -> Iterator[None]:
    """Turn a storage failure into a one-line :class:`StorageError` about ``url``."""
    try:
        yield
    except ContinuoError:
        raise
    except FileNotFoundError as error:
        raise StorageError(
            url, f"{doing}: no such file, folder or bucket ({_brief(error)})"
        ) from None
    except PermissionError as error:
        raise StorageError(
            url, f"{doing}: access denied; check the credentials ({_brief(error)})"
        ) from None
    except Exception as error:  # botocore, aiohttp, google and azure errors have no common base
        raise StorageError(url, f"{doing}: {_brief(error)}") from None


def _brief(error: BaseException) -> str:
    """An exception as one short line."""
    text = " ".join(str(error).split()) or type(error).__name__
    text = re.sub(r"\?[^\"\s]*", "", text)  # a request's query string says nothing to a user
    cause = error.__cause__ or error.__context__
    if "Could not connect" not in text and cause is not None and "connect" in str(cause).lower():
        text = " ".join(str(cause).split())
    return text if len(text) < 300 else text[:297] + "..."


def exists(url: str) -> bool:
    """Whether ``url`` names something (a file, or a folder with files in it)."""
    if not is_url(url):
        return local_path(url).exists()
    fs, path = filesystem(url)
    with _remote(url, "cannot look"):
        fs.invalidate_cache()
        return bool(fs.exists(path))


# -- reading -------------------------------------------------------------------------------------


def fetch(url: str | os.PathLike[str], *, progress: bool | None = None) -> Path:
    """The local copy of the file or folder ``url`` (a local path is returned as it is).

    The copy is in ``<cache>/remote/<hash of the URL>/<its name>`` and only what changed is
    downloaded again. In a folder, a versioned folder (one with a ``CURRENT`` pointer) appears
    as the files of its current version. Raises :class:`StorageError` when there is nothing at
    ``url`` or it cannot be read.
    """
    text = str(url)
    if not is_url(text):
        return local_path(text)
    fs, root = filesystem(text)
    with _remote(text, "cannot read"):
        fs.invalidate_cache()
        if fs.isfile(root):
            listing = {root: fs.info(root)}
            wanted = {PurePosixPath(_name(text)).as_posix(): root}
            return _download(fs, text, listing, wanted, progress, single=True)
        listing = fs.find(root, detail=True)
        if not listing:
            raise StorageError(text, "no such file or folder")
        return _download(fs, text, listing, _current_files(fs, root, listing), progress)


def _current_files(fs: Any, root: str, listing: dict[str, Any]) -> dict[str, str]:
    """``{relative local path: remote path}`` of a folder's files, each versioned folder in it
    seen as its current version alone."""
    root = root.rstrip("/")
    current: dict[str, str] = {}  # versioned folder (relative) -> its current version
    for path in listing:
        relative = PurePosixPath(path[len(root) :].lstrip("/"))
        if relative.name == POINTER and listing[path].get("size", 0) < 100:
            version = fs.cat_file(path).decode(errors="replace").strip()
            if _VERSION.match(version):
                current[relative.parent.as_posix()] = version
    wanted: dict[str, str] = {}
    for path in listing:
        parts = PurePosixPath(path[len(root) :].lstrip("/")).parts
        local, keep = [], True
        i = 0
        while i < len(parts):
            folder = PurePosixPath(*local).as_posix() if local else "."
            version = current.get(folder)
            if version is not None:
                if i + 1 < len(parts) and parts[i] == version:
                    i += 1  # the current version's files appear in the folder itself
                else:
                    keep = False  # the pointer, and every other version
                    break
            local.append(parts[i])
            i += 1
        if keep and local:
            wanted[PurePosixPath(*local).as_posix()] = path
    return wanted


def _signature(info: dict[str, Any]) -> str:
    tag = info.get("ETag") or info.get("etag") or info.get("md5Hash") or info.get("mtime")
    modified = info.get("LastModified") or info.get("last_modified") or info.get("updated")
    return json.dumps([info.get("size"), str(tag), str(modified)])


def _download(
    fs: Any,
    url: str,
    listing: dict[str, Any],
    wanted: dict[str, str],
    progress: bool | None,
    *,
    single: bool = False,
) -> Path:
    """Bring ``wanted`` into the cache entry of ``url``; returns the local file or folder."""
    from filelock import FileLock

    entry = (
        default_cache_dir() / "remote" / hashlib.blake2b(url.encode(), digest_size=12).hexdigest()
    )
    name = _name(url)
    target = entry / name
    entry.mkdir(parents=True, exist_ok=True)
    with FileLock(entry / ".lock"):
        index_path = entry / "index.json"
        try:
            index = json.loads(index_path.read_text())
        except (OSError, ValueError):
            index = {}
        base = entry if single else target
        stale = {rel for rel in index if rel not in wanted}
        for rel in stale:
            (base / rel).unlink(missing_ok=True)
            index.pop(rel)
        todo = [
            rel
            for rel, path in sorted(wanted.items())
            if index.get(rel) != _signature(listing[path]) or not (base / rel).is_file()
        ]
        sizes = [int(listing[wanted[rel]].get("size") or 0) for rel in todo]
        bar = _transfer_bar(f"downloading {url}", sizes, progress)
        try:
            for count, rel in enumerate(todo, 1):
                with atomic_file(base / rel) as tmp:
                    fs.get_file(wanted[rel], str(tmp), callback=_bytes_moved(bar))
                index[rel] = _signature(listing[wanted[rel]])
                if count % 200 == 0:  # a killed download keeps most of its work
                    write_text(index_path, json.dumps(index))
        finally:
            bar.close()
            write_text(index_path, json.dumps(index))
        if not single:
            target.mkdir(exist_ok=True)
    return target


def _transfer_bar(desc: str, sizes: list[int], progress: bool | None) -> Any:
    """A bar in bytes for a transfer of files of ``sizes``; shown only for a large one (a
    transfer of a few megabytes is over before a bar would say anything)."""
    large = sum(sizes) >= 8 * 2**20 or len(sizes) >= 50
    enabled = progress if large else False
    return progress_bar(total=sum(sizes), desc=desc, unit="B", unit_scale=True, enabled=enabled)


def _bytes_moved(bar: Any) -> Any:
    """An fsspec transfer callback that moves ``bar`` by the bytes sent or received (fsspec is
    imported here, not with this module: every command imports it)."""
    from fsspec.callbacks import Callback

    class Bytes(Callback):
        def relative_update(self, inc: int = 1) -> None:
            bar.update(inc)

    return Bytes()


# -- writing -------------------------------------------------------------------------------------


def publish(local: Path, url: str, *, versioned: bool = True, progress: bool | None = None) -> None:
    """Send the file or folder ``local`` to ``url``.

    A file is one upload (atomic on object stores). A folder is versioned (see the module
    docstring) unless ``versioned`` is False, when its files are uploaded one by one (outputs
    that are separate files, such as generated pieces). A large upload shows its progress.
    """
    fs, root = filesystem(url)
    _check_scheme_writes(url)
    files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
    bar = _transfer_bar(f"uploading to {url}", [f.stat().st_size for f in files], progress)
    try:
        with _remote(url, "cannot write"):
            if local.is_file():
                fs.put_file(str(local), root, callback=_bytes_moved(bar))
                return
            if not versioned:
                for file in files:
                    target = join(root, file.relative_to(local).as_posix())
                    fs.put_file(str(file), target, callback=_bytes_moved(bar))
                return
            fs.invalidate_cache()
            previous = _read_pointer(fs, root)
            version = f"v{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:8]}"
            for file in files:
                target = join(root, version, file.relative_to(local).as_posix())
                fs.put_file(str(file), target, callback=_bytes_moved(bar))
            fs.pipe_file(join(root, POINTER), version.encode())  # the pointer, last
            _remove_old_versions(fs, root, keep={version, previous})
    finally:
        bar.close()


def _check_scheme_writes(url: str) -> None:
    scheme = _scheme(url)
    if scheme in _READ_ONLY:
        raise StorageError(url, f"{scheme}:// URLs are read-only; write to s3://, gs:// or az://")


def _read_pointer(fs: Any, root: str) -> str | None:
    try:
        version = fs.cat_file(join(root, POINTER)).decode(errors="replace").strip()
    except FileNotFoundError:
        return None
    return version if _VERSION.match(version) else None


def _remove_old_versions(fs: Any, root: str, keep: set[str | None]) -> None:
    """Remove the versions under ``root`` other than ``keep`` (and half-uploaded ones)."""
    fs.invalidate_cache()
    for path in fs.ls(root, detail=False):
        name = PurePosixPath(path.rstrip("/")).name
        if _VERSION.match(name) and name not in keep:
            with contextlib.suppress(FileNotFoundError):
                fs.rm(path, recursive=True)


def check_writable(url: str) -> None:
    """Fail now, not after the work, when ``url`` cannot be written (no bucket, read-only
    credentials, a read-only scheme): write a small probe object beside it and remove it."""
    fs, root = filesystem(url)
    _check_scheme_writes(url)
    probe = join(root, f".continuo-probe-{uuid.uuid4().hex[:12]}")
    with _remote(url, "cannot write"):
        fs.pipe_file(probe, b"")
        fs.rm_file(probe)


@contextlib.contextmanager
def staged(url: str | os.PathLike[str], *, versioned: bool = True) -> Iterator[Path]:
    """A local path to write for ``url``; sent there (:func:`publish`) when the block ends
    without an error. For a local path, the path itself."""
    text = str(url)
    if not is_url(text):
        yield local_path(text)
        return
    check_writable(text)  # a missing bucket or package fails before any work
    with tempfile.TemporaryDirectory(prefix="continuo-out-") as folder:
        local = Path(folder) / _name(text)
        yield local
        if local.exists():
            publish(local, text, versioned=versioned)


class Mirror:
    """A local folder that stands for ``url``: :meth:`pull` copies the remote folder here,
    :meth:`push` publishes one part of it (a checkpoint folder, versioned; a file, one upload).

    For a local path the folder is the path itself, and both are no-ops.
    """

    def __init__(self, url: str | os.PathLike[str]) -> None:
        self.url = str(url)
        self.remote = is_url(self.url)
        if self.remote:
            filesystem(self.url)
            digest = hashlib.blake2b(self.url.encode(), digest_size=12).hexdigest()
            rank = os.environ.get("RANK", "0")  # processes of one torchrun keep apart copies
            self.local = default_cache_dir() / "runs" / f"{digest}-{rank}" / _name(self.url)
        else:
            self.local = local_path(self.url)

    def pull(self) -> None:
        """Make the local folder a copy of the remote one (removing what is not there)."""
        if not self.remote:
            return
        check_writable(self.url)
        shutil.rmtree(self.local, ignore_errors=True)
        self.local.parent.mkdir(parents=True, exist_ok=True)
        if exists(self.url):
            shutil.copytree(fetch(self.url), self.local)
        else:
            self.local.mkdir()

    def push(self, part: str = "") -> None:
        """Publish ``local/part`` to ``url/part`` (the whole folder, versioned, by default)."""
        if self.remote and (self.local / part).exists():
            publish(self.local / part, join(self.url, part) if part else self.url)
