"""Build a tokenised corpus: sources -> pieces -> token ids in a memory-mapped array + manifest.

``prepare_corpus`` reads every file once (in parallel over all cores; every parse cached by the
file's content hash), encodes each piece with a codec, and writes ``OUT/tokens.npy`` (the pieces'
ids back to back, memory-mappable, no separators) and ``OUT/manifest.json`` (codec config and
vocabulary, each piece's name, offset, length, split and fold, the skipped files with reasons).

A source may also be a dataset that ``prepare`` wrote (a shard, prepared on another machine
from part of a corpus): its pieces join the build as they are, with nothing parsed again, so a
corpus too large for one machine is prepared in shards and merged (README, "Corpora of any
size").

Memory stays flat as the corpus grows: the files, their encodings and the pieces are rows of a
scratch SQLite database on disk (:class:`_WorkTable`), the tokens are written a piece at a time,
the split is made in the database (:func:`continuo.data.splits.split_table`), and so is the
manifest.

A file that cannot be read, or a piece the codec cannot represent, is skipped and reported by
name and reason; it never aborts the build. A build in which no piece at all could be read is an
error, and writes nothing. The output is written to a temporary folder and renamed into place, so
an interrupted build never leaves a half-written dataset and never destroys an earlier one.

Splits (:func:`continuo.data.splits.assign_splits`): a source's own split is kept (the JSB
chorales' ``file#test/12``); identical pieces (by encoded content) share one split; the rest fall
by a hash of the piece's name, topped up so that valid and test each get a fair share. Files that
hold the same JSB chorales at several time grids are read at one grid per build
(:func:`_one_rendering`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from continuo.atomic import atomic_dir
from continuo.codecs import Codec
from continuo.data.cache import ParseCache, pack, unpack
from continuo.data.sources import SourceFile, iter_sources
from continuo.data.splits import SPLITS, create_piece_table, source_split, split_table
from continuo.data.workers import ERROR, SKIP, Task, encode_files, file_key
from continuo.errors import ConfigError, ReadError
from continuo.progress import progress_bar

__all__ = ["MANIFEST_VERSION", "BuildSummary", "prepare_corpus"]

MANIFEST_VERSION = 1


@dataclass
class BuildSummary:
    """What a build did; ``continuo prepare --json`` prints :meth:`to_dict`."""

    out: str
    files: int = 0
    pieces: int = 0
    tokens: int = 0
    splits: dict[str, int] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the build decided that a user should know (e.g. which JSB grid it read)."""
    parsed: int = 0
    cached: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def prepare_corpus(
    sources: list[str],
    codec: Codec,
    out: Path,
    *,
    jobs: int | None = None,
    cache_dir: Path | None = None,
    trust_pickle: bool = False,
    valid_fraction: float = 0.05,
    test_fraction: float = 0.05,
    progress: bool | None = None,
    jsb_grid: str | None = None,
    source_names: Sequence[str] | None = None,
) -> BuildSummary:
    """Build the dataset ``out`` from ``sources`` with ``codec``; see the module docstring.

    ``cache_dir=None`` disables the cache. ``progress=None``: a bar on a terminal, and a line
    every few seconds when standard error is piped or logged; False: nothing.
    ``jsb_grid`` (``16th``, ``8th``, ``quarter``): the grid at which to read JSB chorales given
    at several; None: the codec's grid where a file has it, else the finest. ``source_names``:
    the sources as the manifest records them (the URLs of sources fetched into the cache).
    Raises :class:`ReadError` when no piece at all could be read (nothing is written then).
    """
    started = time.perf_counter()
    out = Path(out)
    _check_out(out)
    if not 0 <= valid_fraction + test_fraction < 1:
        raise ConfigError("--valid-fraction plus --test-fraction must be in [0, 1)")
    summary = BuildSummary(out=str(out))
    codec_dict = codec.to_dict()
    codec_key = hashlib.blake2b(
        json.dumps(codec_dict, sort_keys=True).encode(), digest_size=16
    ).hexdigest()
    with tempfile.TemporaryDirectory(prefix="continuo-prepare-") as work:
        table = _WorkTable(Path(work) / "build.sqlite")
        try:
            for source in sources:
                if _is_dataset(source):
                    table.add_dataset(Path(source), codec_dict, summary)
                else:
                    table.add_files(iter_sources([source]))
            summary.files = table.count()
            _encode_all(
                table, codec_dict, codec_key, summary, jobs, cache_dir, trust_pickle, progress
            )
            left_out, summary.notes = _one_rendering(table.json_files(), codec, jsb_grid)
            table.leave_out(left_out)
            dtype = np.dtype(np.uint16 if codec.vocab_size < 2**16 else np.int32)
            with atomic_dir(out) as tmp:
                digest = _write_tokens(tmp / "tokens.npy", table, dtype, summary)
                if not summary.pieces:
                    raise _nothing_read(sources, summary)
                split_table(table.db, valid_fraction=valid_fraction, test_fraction=test_fraction)
                header = {
                    "format": "continuo-dataset",
                    "version": MANIFEST_VERSION,
                    "codec": codec_dict,
                    "dtype": dtype.name,
                    "tokens": summary.tokens,
                    "fingerprint": _fingerprint(digest, codec_key, table),
                    "sources": [str(s) for s in (source_names or sources)],
                }
                _write_manifest(tmp / "manifest.json", header, table, summary)
        finally:
            table.close()
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


class _WorkTable:
    """The scratch database of one build: a row per file (its path, name, encoding payload,
    token count, and whether it is kept) and, once the tokens are written, a row per piece
    (:func:`continuo.data.splits.create_piece_table`)."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode = OFF")  # a scratch file: no crash safety needed
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute(
            "CREATE TABLE files (id INTEGER PRIMARY KEY, path TEXT, name TEXT, resolved TEXT "
            "UNIQUE, encoding BLOB, tokens INTEGER DEFAULT 0, kept INTEGER DEFAULT 1)"
        )
        create_piece_table(self.db)

    def add_files(self, files: Iterable[SourceFile]) -> None:
        """Add ``files`` in order, each once (the first of several names for one file)."""
        batch: list[tuple[str, str, str]] = []
        for source in files:
            batch.append((str(source.path), source.name, os.path.realpath(source.path)))
            if len(batch) >= 2048:
                self._insert_files(batch)
        self._insert_files(batch)

    def _insert_files(self, batch: list[tuple[str, str, str]]) -> None:
        self.db.executemany(
            "INSERT OR IGNORE INTO files (path, name, resolved) VALUES (?, ?, ?)", batch
        )
        batch.clear()

    def add_dataset(self, folder: Path, codec_dict: dict[str, Any], summary: BuildSummary) -> None:
        """Add the pieces of the dataset ``folder`` (a shard prepared elsewhere) with their
        encodings, as they are: nothing is parsed again. Its skipped files join ``summary``'s.
        Raises :class:`ConfigError` when it was prepared with another codec."""
        manifest = json.loads((folder / "manifest.json").read_text())
        if manifest.get("codec") != codec_dict:
            raise ConfigError(
                f"{folder}: a dataset prepared with other codec settings "
                f"({manifest.get('codec', {}).get('name', '?')}); shards merge only when they "
                "were prepared alike (the same --codec and -o, or --like)"
            )
        tokens = np.load(folder / "tokens.npy", mmap_mode="r", allow_pickle=False)
        batch = []
        for piece in manifest["pieces"]:
            name, start = piece["name"], piece["offset"]
            ids = np.asarray(tokens[start : start + piece["length"]], dtype=np.int32)
            cut = name.find("#") if "#" in name else len(name)  # file name, piece label
            payload = pack([(name[cut:], ids.tobytes())])
            batch.append((str(folder / "tokens.npy"), name[:cut], f"dataset:{name}", payload))
            if len(batch) >= 2048:
                self._insert_encoded(batch)
        self._insert_encoded(batch)
        summary.skipped.extend(manifest.get("skipped", []))

    def _insert_encoded(self, batch: list[tuple[str, str, str, bytes]]) -> None:
        self.db.executemany(
            "INSERT OR IGNORE INTO files (path, name, resolved, encoding, tokens) "
            "VALUES (?, ?, ?, ?, ?)",
            ((*row, _token_count(row[3])) for row in batch),
        )
        batch.clear()

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM files").fetchone()[0]

    def chunks(self, size: int = 512) -> Iterator[list[tuple[int, str]]]:
        """``[(id, path), ...]`` of every file still to encode, ``size`` at a time, in order."""
        last = 0
        while rows := self.db.execute(
            "SELECT id, path FROM files WHERE id > ? AND encoding IS NULL ORDER BY id LIMIT ?",
            (last, size),
        ).fetchall():
            yield rows
            last = rows[-1][0]

    def put(self, rows: list[tuple[int, bytes]]) -> None:
        """Store the encoding payload of each ``(id, payload)``, and empty ``rows``."""
        self.db.executemany(
            "UPDATE files SET encoding = ?, tokens = ? WHERE id = ?",
            ((payload, _token_count(payload), id_) for id_, payload in rows),
        )
        rows.clear()

    def json_files(self) -> list[tuple[Path, str, list[str]]]:
        """``(path, name, piece labels)`` of the ``.json`` files (the JSB chorales' format)."""
        rows = self.db.execute(
            "SELECT path, name, encoding FROM files WHERE lower(path) LIKE '%.json' ORDER BY id"
        )
        return [(Path(p), name, [label for label, _ in unpack(blob)]) for p, name, blob in rows]

    def leave_out(self, names: Iterable[str]) -> None:
        self.db.executemany("UPDATE files SET kept = 0 WHERE name = ?", ((n,) for n in names))

    def kept(self) -> Iterator[tuple[str, bytes]]:
        """``(name, encoding payload)`` of each kept file, in order."""
        yield from self.db.execute("SELECT name, encoding FROM files WHERE kept ORDER BY id")

    def add_pieces(self, rows: list[tuple[str, bytes, int | None, int]]) -> None:
        """Add ``(name, content digest, source's split rank, length)`` rows; empty ``rows``."""
        self.db.executemany(
            "INSERT INTO pieces (name, content, given, length) VALUES (?, ?, ?, ?)", rows
        )
        rows.clear()

    def pieces(self) -> Iterator[tuple[str, int, int, int]]:
        """``(name, length, split rank, fold)`` of each piece, in order (once split)."""
        yield from self.db.execute(
            "SELECT p.name, p.length, g.split, g.fold FROM pieces p "
            "JOIN groups g ON p.content = g.content ORDER BY p.id"
        )

    def close(self) -> None:
        self.db.close()


def _is_dataset(source: str | Path) -> bool:
    """Whether ``source`` is a dataset folder written by ``prepare`` (a shard to merge)."""
    manifest = Path(source) / "manifest.json"
    if not manifest.is_file() or not (Path(source) / "tokens.npy").is_file():
        return False
    try:
        with open(manifest) as handle:
            return '"continuo-dataset"' in handle.read(200)
    except OSError:
        return False


def _token_count(payload: bytes) -> int:
    """The tokens of the pieces in an encoding payload (int32 ids; skips and errors hold none)."""
    return sum(len(blob) // 4 for label, blob in unpack(payload) if not label.startswith("\0"))


def _encode_all(
    table: _WorkTable,
    codec_dict: dict[str, Any],
    codec_key: str,
    summary: BuildSummary,
    jobs: int | None,
    cache_dir: Path | None,
    trust_pickle: bool,
    progress: bool | None,
) -> None:
    """Encode every file of ``table``: from the cache where it has the encoding, else in the
    worker processes (from the cached parse where there is one). New parses and encodings are
    committed to the cache in batches, so a killed build keeps most of its work."""
    cache = ParseCache(cache_dir)
    (count,) = table.db.execute("SELECT COUNT(*) FROM files WHERE encoding IS NULL").fetchone()
    bar = progress_bar(
        total=count, unit="file", desc="reading", enabled=progress if count else False
    )
    done: list[tuple[int, bytes]] = []

    def tasks() -> Iterator[Task]:
        for chunk in table.chunks():
            keys = {id_: file_key(Path(path), trust_pickle) for id_, path in chunk}
            hits = cache.encoded(keys.values(), codec_key)
            parsed = cache.parsed(key for key in keys.values() if key not in hits)
            for id_, path in chunk:
                key = keys[id_]
                if key in hits:
                    done.append((id_, hits[key]))
                    summary.cached += 1
                    bar.update()
                else:
                    summary.parsed += key not in parsed
                    yield (id_, path, key, parsed.get(key), trust_pickle)
            table.put(done)

    new_parses: list[tuple[str, bytes]] = []
    new_encodings: list[tuple[str, bytes]] = []
    try:
        for id_, key, new_parse, new_encoding in encode_files(tasks(), codec_dict, jobs, count):
            done.append((id_, new_encoding))
            new_encodings.append((key, new_encoding))
            if new_parse is not None:
                new_parses.append((key, new_parse))
            if len(new_encodings) >= 256:
                cache.put_parsed(new_parses)
                cache.put_encoded(new_encodings, codec_key)
                new_parses, new_encodings = [], []
            bar.update()
        cache.put_parsed(new_parses)
        cache.put_encoded(new_encodings, codec_key)
        table.put(done)
    finally:
        bar.close()
        cache.close()


def _write_tokens(path: Path, table: _WorkTable, dtype: np.dtype, summary: BuildSummary) -> Any:
    """Write ``path`` (a ``.npy``) a piece at a time from the kept files' encodings, add each
    piece to ``table``, and record the skipped files and pieces in ``summary``. Returns the
    running digest of the token bytes (the start of the dataset's fingerprint)."""
    (total,) = table.db.execute("SELECT SUM(tokens) FROM files WHERE kept").fetchone()
    summary.tokens = int(total or 0)
    digest = hashlib.blake2b(digest_size=16)
    pieces: list[tuple[str, bytes, int | None, int]] = []
    with open(path, "wb") as handle:
        _write_npy_header(handle, dtype, summary.tokens)
        for name, payload in table.kept():
            for label, blob in unpack(payload):
                if label == ERROR:
                    # named as its pieces are: relative to the source given, whatever its form
                    summary.skipped.append({"file": name, "reason": blob.decode()})
                elif label.startswith(SKIP):
                    piece_name = name + label[len(SKIP) :]
                    summary.skipped.append({"file": piece_name, "reason": blob.decode()})
                else:
                    given = source_split(label)
                    rank = None if given is None else SPLITS.index(given)
                    content = hashlib.blake2b(blob, digest_size=16).digest()
                    pieces.append((name + label, content, rank, len(blob) // 4))
                    data = np.frombuffer(blob, dtype=np.int32).astype(dtype).tobytes()
                    digest.update(data)
                    handle.write(data)
                    summary.pieces += 1
                    if len(pieces) >= 4096:
                        table.add_pieces(pieces)
    table.add_pieces(pieces)
    return digest


def _write_npy_header(handle: BinaryIO, dtype: np.dtype, length: int) -> None:
    """The header of a ``.npy`` file of ``length`` values, written before the values are."""
    descr = np.lib.format.dtype_to_descr(dtype)
    header = {"descr": descr, "fortran_order": False, "shape": (length,)}
    np.lib.format.write_array_header_1_0(handle, header)


def _fingerprint(digest: Any, codec_key: str, table: _WorkTable) -> str:
    """The dataset's fingerprint: the token bytes (``digest`` so far), the codec, and
    ``json.dumps([[name, split], ...])`` of the pieces, hashed a piece at a time."""
    digest.update(codec_key.encode())
    digest.update(b"[")
    for i, (name, _, split, _) in enumerate(table.pieces()):
        digest.update(((", " if i else "") + json.dumps([name, SPLITS[split]])).encode())
    digest.update(b"]")
    return digest.hexdigest()


def _write_manifest(
    path: Path, header: dict[str, Any], table: _WorkTable, summary: BuildSummary
) -> None:
    """Write the manifest a piece at a time: ``header``'s entries, then ``pieces``, ``skipped``
    and ``notes``; fills ``summary.splits``."""
    counts = dict.fromkeys(SPLITS, 0)
    with open(path, "w") as handle:
        handle.write("{\n")
        for key, value in header.items():
            handle.write(f" {json.dumps(key)}: {json.dumps(value)},\n")
        handle.write(' "pieces": [')
        offset = 0
        for i, (name, length, rank, fold) in enumerate(table.pieces()):
            split = SPLITS[rank]
            piece = {"name": name, "offset": offset, "length": length, "split": split, "fold": fold}
            handle.write(("," if i else "") + "\n  " + json.dumps(piece))
            offset += length
            counts[split] += 1
        handle.write("\n ],\n")
        handle.write(f' "skipped": {json.dumps(summary.skipped, indent=1)},\n')
        handle.write(f' "notes": {json.dumps(summary.notes)}\n}}\n')
    summary.splits = counts


def _nothing_read(sources: Sequence[str], summary: BuildSummary) -> ReadError:
    """The one-line error of a build in which no piece could be read."""
    from continuo import io

    where = ", ".join(map(str, sources))
    if not summary.files:
        known = " ".join(sorted(io.SUFFIXES))
        return ReadError(where, f"no music files here (continuo reads {known}); nothing written")
    first = summary.skipped[0] if summary.skipped else None
    example = f"; the first: {first['file']}: {first['reason']}" if first else ""
    return ReadError(
        where,
        f"no piece could be read: all {summary.files:,} files or their pieces were skipped"
        f"{example}; nothing written",
    )


def _one_rendering(
    json_files: list[tuple[Path, str, list[str]]], codec: Codec, jsb_grid: str | None
) -> tuple[set[str], list[str]]:
    """JSB files that hold the same chorales (the same number in each of their splits) at several
    grids are one corpus in several renderings: keep one file, at ``jsb_grid`` (None: the codec's
    grid where a file has it, else the finest), the first by name among several there.
    ``json_files``: ``(path, name, piece labels)`` of each ``.json`` file of the build.

    Returns the names of the files left out and the notes that say so.
    """
    from continuo.io.jsb import GRIDS, grid_of

    if jsb_grid is not None and jsb_grid not in GRIDS:
        raise ConfigError(f"--jsb-grid must be one of {', '.join(GRIDS)}, not {jsb_grid!r}")
    renderings: dict[tuple[int, ...], list[tuple[str, SourceFile]]] = {}
    for path, name, piece_labels in json_files:
        grid = grid_of(path)
        labels = [label.removeprefix(SKIP) for label in piece_labels]
        given = [source_split(label) for label in labels]
        if grid is None or not labels or None in given:
            continue
        signature = tuple(given.count(split) for split in SPLITS)
        renderings.setdefault(signature, []).append((grid, SourceFile(path, name)))
    left_out: set[str] = set()
    notes: list[str] = []
    codec_grid = codec.steps_per_quarter
    for group in renderings.values():
        grids = {grid for grid, _ in group}
        if jsb_grid is None and len(grids) == 1 and len(group) == 1:
            continue
        if jsb_grid is not None:
            chosen_grid = jsb_grid
        elif any(GRIDS[grid] == codec_grid for grid in grids):
            chosen_grid = next(grid for grid in grids if GRIDS[grid] == codec_grid)
        else:
            chosen_grid = max(grids, key=GRIDS.__getitem__)
        at_grid = sorted((s for grid, s in group if grid == chosen_grid), key=lambda s: s.name)
        if not at_grid:
            have = ", ".join(sorted(grids, key=GRIDS.__getitem__))
            raise ConfigError(f"--jsb-grid {jsb_grid}: no JSB chorales file at that grid ({have})")
        kept = at_grid[0]
        others = sorted(s.name for _, s in group if s is not kept)
        left_out.update(others)
        if others:
            notes.append(
                f"JSB chorales: read {kept.name} ({chosen_grid} grid, the source's own "
                f"train/valid/test split); left out the same chorales in {', '.join(others)} "
                "(one rendering per build; --jsb-grid chooses the grid)"
            )
    return left_out, notes


# -- output ----------------------------------------------------------------------------------


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: --out must be a folder, and this is a file")
    if out.is_dir() and any(out.iterdir()) and not (out / "manifest.json").exists():
        raise ConfigError(f"{out}: the folder is not empty and is not a continuo dataset")
