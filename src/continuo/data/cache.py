"""A content-addressed cache of parsed files and encoded pieces, in one SQLite file.

Parsing is the slow part of building a corpus (music21 manages ~36 kern files/s), so every file
read is stored under the hash of its bytes: a second build re-parses nothing unchanged, wherever
the file lives. Two tables:

- ``parsed``: file hash -> the pieces read from it (each as MIDI bytes, the lossless carrier of a
  :class:`symusic.Score`) or the reason it could not be read;
- ``encoded``: (file hash, codec fingerprint) -> token ids of each piece, or the reason a piece was
  skipped, so a warm build touches neither the readers nor the codec.

Nothing is pickled: payloads are length-prefixed UTF-8 strings and raw bytes.
"""

from __future__ import annotations

import hashlib
import sqlite3
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

from continuo import __version__
from continuo.paths import default_cache_dir

__all__ = ["ParseCache", "default_cache_dir", "file_digest", "pack", "unpack"]

#: Bump when the readers or a codec's encoding change what they produce (without a codec version
#: bump), to invalidate every cached parse and encoding. 2: POP909 read with its annotations, and
#: the shared key finder (codecs/keys.py) rewritten.
CACHE_VERSION = 2


def file_digest(data: bytes, *salt: str) -> str:
    """A key for a file's bytes (and the reader settings that change its parse)."""
    digest = hashlib.blake2b(data, digest_size=20)
    for part in (__version__, str(CACHE_VERSION), *salt):
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()


def pack(items: Sequence[tuple[str, bytes]]) -> bytes:
    """``[(label, blob), ...]`` as one byte string (little-endian u32 lengths)."""
    out = [struct.pack("<I", len(items))]
    for label, blob in items:
        encoded = label.encode()
        out += [struct.pack("<II", len(encoded), len(blob)), encoded, blob]
    return b"".join(out)


def unpack(payload: bytes) -> list[tuple[str, bytes]]:
    """The inverse of :func:`pack`."""
    (count,) = struct.unpack_from("<I", payload, 0)
    offset, items = 4, []
    for _ in range(count):
        label_length, blob_length = struct.unpack_from("<II", payload, offset)
        offset += 8
        label = payload[offset : offset + label_length].decode()
        offset += label_length
        items.append((label, payload[offset : offset + blob_length]))
        offset += blob_length
    return items


class ParseCache:
    """The cache file ``DIR/cache.sqlite``; ``ParseCache(None)`` is a cache that keeps nothing."""

    def __init__(self, directory: Path | None) -> None:
        self._db: sqlite3.Connection | None = None
        if directory is None:
            return
        directory.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(directory / "cache.sqlite", timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS parsed (key TEXT PRIMARY KEY, payload BLOB)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS encoded "
            "(key TEXT, codec TEXT, payload BLOB, PRIMARY KEY (key, codec))"
        )

    def parsed(self, keys: Iterable[str]) -> dict[str, bytes]:
        return self._select("SELECT key, payload FROM parsed WHERE key IN ({})", list(keys))

    def encoded(self, keys: Iterable[str], codec: str) -> dict[str, bytes]:
        return self._select(
            "SELECT key, payload FROM encoded WHERE codec = ? AND key IN ({})", list(keys), codec
        )

    def put_parsed(self, rows: Iterable[tuple[str, bytes]]) -> None:
        if self._db is not None:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO parsed VALUES (?, ?)", rows)

    def put_encoded(self, rows: Iterable[tuple[str, bytes]], codec: str) -> None:
        if self._db is not None:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO encoded VALUES (?, ?, ?)",
                    ((key, codec, payload) for key, payload in rows),
                )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _select(self, sql: str, keys: list[str], *params: str) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        if self._db is None:
            return found
        for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
            chunk = keys[start : start + 500]
            query = sql.format(",".join("?" * len(chunk)))
            found.update(self._db.execute(query, (*params, *chunk)).fetchall())
        return found
