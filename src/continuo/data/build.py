"""Build a tokenised corpus: sources -> pieces -> token ids in a memory-mapped array + manifest.

``prepare_corpus`` reads every file once (in parallel over all cores; every parse cached by the
file's content hash; memory flat in the size of the corpus), encodes each piece with a codec, and writes ``OUT/tokens.npy`` (the pieces'
ids back to back, memory-mappable, no separators) and ``OUT/manifest.json`` (codec config and
vocabulary, each piece's name, offset, length, split and fold, the skipped files with reasons).

A file that cannot be read, or a piece the codec cannot represent, is skipped and reported by
name and reason; it never aborts the build. A build in which no piece at all could be read is an
error, and writes nothing. The output is written to a temporary folder and renamed into place, so
an interrupted build never leaves a half-written dataset and never destroys an earlier one.

Splits (:func:`assign_splits`): a source's own split is kept (the JSB chorales'
``file#test/12``); identical pieces (by encoded content) share one split; the rest fall by a hash
of the piece's name, topped up so that valid and test each get a fair share. Files that hold the
same JSB chorales at several time grids are read at one grid per build (:func:`_one_rendering`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import symusic

from continuo.atomic import atomic_dir
from continuo.codecs import Codec, codec_from_dict
from continuo.data.cache import ParseCache, file_digest, pack, unpack
from continuo.data.sources import SourceFile, expand_sources
from continuo.errors import CodecError, ConfigError, ContinuoError, ReadError
from continuo.progress import progress_bar

__all__ = [
    "MANIFEST_VERSION",
    "MIN_HELD_OUT",
    "BuildSummary",
    "assign_split",
    "assign_splits",
    "prepare_corpus",
    "source_split",
]

MANIFEST_VERSION = 1
_ERROR = "\0error"  # label of a file-level failure in a cache payload
_SKIP = "\0skip"  # label prefix of a piece the codec skipped
SPLITS = ("train", "valid", "test")  # in the order of how far a piece is held out
#: Valid and test each get at least this many pieces when the corpus has ten times as many.
MIN_HELD_OUT = 3
_SOURCE_SPLIT = re.compile(r"#(train|valid|test)/")


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


def assign_split(name: str, *, valid_fraction: float, test_fraction: float) -> tuple[str, int]:
    """The split and the fold (0-9) of a piece, from a hash of its name alone.

    Deterministic and stable as the corpus grows: a piece keeps its split whatever else is added.
    A whole corpus is split by :func:`assign_splits`, which starts from this.
    """
    u, fold = _position(name)
    return _split_at(u, valid_fraction, test_fraction), fold


def source_split(label: str) -> str | None:
    """The split a source gives a piece itself, read from what the piece adds to its file's name
    (``#test/12`` for the JSB chorales' ``file#test/12``), or None."""
    match = _SOURCE_SPLIT.match(label)
    return match.group(1) if match else None


def assign_splits(
    pieces: Sequence[tuple[str, str, str | None]],
    *,
    valid_fraction: float,
    test_fraction: float,
) -> list[tuple[str, int]]:
    """The split and fold of every piece of a corpus, each given as ``(name, content, given)``:
    its name, a digest of its encoded content, and the split its source gives it (or None).

    - Identical pieces (the same content) form one group, with the split and fold of the group's
      first name, so that no piece is in two splits.
    - A split given by the source is kept (a group whose sources disagree goes to the most held
      out of their splits: test, then valid).
    - The other groups fall by a hash of their first name (:func:`assign_split`), so a piece
      keeps its split as the corpus grows. When that leaves valid or test with fewer than
      ``fraction * n`` of these groups, or fewer than :data:`MIN_HELD_OUT` where there are ten
      times as many, the training groups whose hashes lie nearest the held-out range move to it.
      The train split is never left empty.
    """
    groups: dict[str, list[int]] = {}
    for i, (_, content, _) in enumerate(pieces):
        groups.setdefault(content, []).append(i)
    split_of: dict[str, str] = {}
    position: dict[str, tuple[float, int]] = {}
    free: list[str] = []  # groups without a split of their source's
    for content, members in groups.items():
        position[content] = _position(min(pieces[i][0] for i in members))
        given = [split for i in members if (split := pieces[i][2])]
        if given:
            split_of[content] = max(given, key=SPLITS.index)
        else:
            split_of[content] = _split_at(position[content][0], valid_fraction, test_fraction)
            free.append(content)
    free.sort(key=lambda content: position[content][0])
    for split, fraction in (("test", test_fraction), ("valid", valid_fraction)):
        if fraction <= 0:
            continue
        want = max(math.floor(fraction * len(free)), min(MIN_HELD_OUT, len(free) // 10))
        short = want - sum(split_of[content] == split for content in free)
        spare = [content for content in free if split_of[content] == "train"]
        for content in spare[: max(0, short)]:
            split_of[content] = split
    if free and "train" not in split_of.values():
        split_of[free[-1]] = "train"
    return [(split_of[content], position[content][1]) for _, content, _ in pieces]


def _position(name: str) -> tuple[float, int]:
    """A name's place in [0, 1) and its fold (0-9), from a hash of the name alone."""
    digest = hashlib.blake2b(name.encode(), digest_size=16).digest()
    u = int.from_bytes(digest[:8], "little") / 2**64
    return u, int.from_bytes(digest[8:], "little") % 10


def _split_at(u: float, valid_fraction: float, test_fraction: float) -> str:
    if u < test_fraction:
        return "test"
    if u < test_fraction + valid_fraction:
        return "valid"
    return "train"


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

    Memory stays flat as the corpus grows: each file's encoding goes to a spill file as it is
    made, and the tokens are written to ``tokens.npy`` piece by piece; what is held is a few
    numbers per file and the manifest's entry per piece.
    """
    started = time.perf_counter()
    out = Path(out)
    _check_out(out)
    if not 0 <= valid_fraction + test_fraction < 1:
        raise ConfigError("--valid-fraction plus --test-fraction must be in [0, 1)")
    files = expand_sources(sources)
    summary = BuildSummary(out=str(out), files=len(files))
    codec_dict = codec.to_dict()
    codec_key = hashlib.blake2b(
        json.dumps(codec_dict, sort_keys=True).encode(), digest_size=16
    ).hexdigest()

    with tempfile.TemporaryFile(
        dir=cache_dir if cache_dir and cache_dir.is_dir() else None
    ) as spill:
        encodings = _Spill(spill, len(files))
        _encode_all(
            files,
            codec_dict,
            codec_key,
            encodings,
            summary,
            jobs,
            cache_dir,
            trust_pickle,
            progress,
        )
        left_out, summary.notes = _one_rendering(files, encodings.labels, codec, jsb_grid)
        kept = [i for i, source in enumerate(files) if source.name not in left_out]
        total = int(sum(int(encodings.tokens[i]) for i in kept))
        dtype = np.dtype(np.uint16 if codec.vocab_size < 2**16 else np.int32)
        with atomic_dir(out) as tmp:
            found, lengths, digest = _write_tokens(
                tmp / "tokens.npy", files, kept, encodings, dtype, total, summary
            )
            if not found:
                raise _nothing_read(sources, summary)
            splits = assign_splits(
                found, valid_fraction=valid_fraction, test_fraction=test_fraction
            )
            pieces, offset = [], 0
            for (name, _, _), length, (split, fold) in zip(found, lengths, splits, strict=True):
                pieces.append(
                    {"name": name, "offset": offset, "length": length, "split": split, "fold": fold}
                )
                offset += length
            del found, lengths, splits
            digest.update(codec_key.encode())
            digest.update(json.dumps([(p["name"], p["split"]) for p in pieces]).encode())
            summary.pieces, summary.tokens = len(pieces), total
            summary.splits = {s: sum(p["split"] == s for p in pieces) for s in SPLITS}
            manifest = {
                "format": "continuo-dataset",
                "version": MANIFEST_VERSION,
                "codec": codec_dict,
                "dtype": dtype.name,
                "tokens": total,
                "fingerprint": digest.hexdigest(),
                "sources": [str(s) for s in (source_names or sources)],
                "pieces": pieces,
                "skipped": summary.skipped,
                "notes": summary.notes,
            }
            with open(tmp / "manifest.json", "w") as handle:
                json.dump(manifest, handle, indent=1)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


class _Spill:
    """Each file's encoding payload (see :func:`_process`), kept in a temporary file as it
    arrives, in any order, with its place and the number of tokens it holds."""

    def __init__(self, handle: Any, count: int) -> None:
        self.handle = handle
        self.offsets = np.zeros(count, dtype=np.int64)
        self.sizes = np.full(count, -1, dtype=np.int64)
        self.tokens = np.zeros(count, dtype=np.int64)
        self.end = 0

    def put(self, index: int, payload: bytes) -> None:
        self.handle.seek(self.end)
        self.handle.write(payload)
        self.offsets[index], self.sizes[index] = self.end, len(payload)
        self.end += len(payload)
        self.tokens[index] = sum(
            len(blob) // 4 for label, blob in unpack(payload) if not label.startswith("\0")
        )

    def get(self, index: int) -> list[tuple[str, bytes]]:
        self.handle.seek(int(self.offsets[index]))
        return unpack(self.handle.read(int(self.sizes[index])))

    def labels(self, index: int) -> list[str]:
        return [label for label, _ in self.get(index)]


def _encode_all(
    files: list[SourceFile],
    codec_dict: dict[str, Any],
    codec_key: str,
    encodings: _Spill,
    summary: BuildSummary,
    jobs: int | None,
    cache_dir: Path | None,
    trust_pickle: bool,
    progress: bool | None,
) -> None:
    """Encode every file into ``encodings``: from the cache where it has the encoding, else in
    the worker processes (from the cached parse where there is one). New parses and encodings
    are committed to the cache in batches, so a killed build keeps most of its work."""
    cache = ParseCache(cache_dir)
    bar = progress_bar(
        total=len(files), unit="file", desc="reading", enabled=progress if files else False
    )

    def tasks() -> Iterator[tuple[int, str, str, bytes | None, bool]]:
        for start in range(0, len(files), 512):
            chunk = range(start, min(len(files), start + 512))
            keys = {i: _file_key(files[i].path, trust_pickle) for i in chunk}
            hits = cache.encoded(keys.values(), codec_key)
            misses = [i for i in chunk if keys[i] not in hits]
            parsed = cache.parsed(keys[i] for i in misses)
            for i in chunk:
                if keys[i] in hits:
                    encodings.put(i, hits[keys[i]])
                    summary.cached += 1
                    bar.update()
                else:
                    summary.parsed += keys[i] not in parsed
                    yield (i, str(files[i].path), keys[i], parsed.get(keys[i]), trust_pickle)

    new_parses: list[tuple[str, bytes]] = []
    new_encodings: list[tuple[str, bytes]] = []
    try:
        for index, key, new_parse, new_encoding in _run(tasks(), codec_dict, jobs, len(files)):
            encodings.put(index, new_encoding)
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
    finally:
        bar.close()
        cache.close()


def _write_tokens(
    path: Path,
    files: list[SourceFile],
    kept: list[int],
    encodings: _Spill,
    dtype: np.dtype,
    total: int,
    summary: BuildSummary,
) -> tuple[list[tuple[str, str, str | None]], list[int], Any]:
    """Write ``path`` (a ``.npy`` of ``total`` tokens) piece by piece from ``encodings``, and
    record the skipped files and pieces in ``summary``.

    Returns each piece's ``(name, content digest, source's split)``, its length, and the
    running digest of the token bytes (the start of the dataset's fingerprint).
    """
    found: list[tuple[str, str, str | None]] = []
    lengths: list[int] = []
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(
            handle,
            {
                "descr": np.lib.format.dtype_to_descr(dtype),
                "fortran_order": False,
                "shape": (total,),
            },
        )
        for i in kept:
            source = files[i]
            for label, blob in encodings.get(i):
                if label == _ERROR:
                    # named as its pieces are: relative to the source given, whatever its form
                    summary.skipped.append({"file": source.name, "reason": blob.decode()})
                    continue
                if label.startswith(_SKIP):
                    piece_name = source.name + label[len(_SKIP) :]
                    summary.skipped.append({"file": piece_name, "reason": blob.decode()})
                    continue
                content = hashlib.blake2b(blob, digest_size=16).hexdigest()
                found.append((source.name + label, content, source_split(label)))
                data = np.frombuffer(blob, dtype=np.int32).astype(dtype).tobytes()
                lengths.append(len(blob) // 4)
                digest.update(data)
                handle.write(data)
    return found, lengths, digest


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
    files: list[SourceFile],
    labels_of: Callable[[int], list[str]],
    codec: Codec,
    jsb_grid: str | None,
) -> tuple[set[str], list[str]]:
    """JSB files that hold the same chorales (the same number in each of their splits) at several
    grids are one corpus in several renderings: keep one file, at ``jsb_grid`` (None: the codec's
    grid where a file has it, else the finest), the first by name among several there.

    Returns the names of the files left out and the notes that say so.
    """
    from continuo.io.jsb import GRIDS, grid_of

    if jsb_grid is not None and jsb_grid not in GRIDS:
        raise ConfigError(f"--jsb-grid must be one of {', '.join(GRIDS)}, not {jsb_grid!r}")
    renderings: dict[tuple[int, ...], list[tuple[str, SourceFile]]] = {}
    for index, source in enumerate(files):
        grid = grid_of(source.path) if source.path.suffix.lower() == ".json" else None
        if grid is None:
            continue
        labels = [label.removeprefix(_SKIP) for label in labels_of(index)]
        given = [source_split(label) for label in labels]
        if grid is None or not labels or None in given:
            continue
        signature = tuple(given.count(split) for split in SPLITS)
        renderings.setdefault(signature, []).append((grid, source))
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


def _file_key(path: Path, trust_pickle: bool) -> str:
    """The cache key of a file: its bytes, those of its companion files, the reader options."""
    from continuo import io

    companions = [p.read_bytes() for p in io.companion_files(path)]
    salt = [hashlib.blake2b(b, digest_size=16).hexdigest() for b in companions]
    return file_digest(path.read_bytes(), f"pickle={trust_pickle}", *salt)


# -- the work done for each file, in a worker process ----------------------------------------

_worker_codec: Codec | None = None


def _init_worker(codec_dict: dict[str, Any]) -> None:
    global _worker_codec
    _worker_codec = codec_from_dict(codec_dict)


def _process(
    task: tuple[int, str, str, bytes | None, bool],
) -> tuple[int, str, bytes | None, bytes]:
    """Parse (unless a cached parse is given) and encode one file.

    Returns ``(index, key, new parse payload or None, encoding payload)``.
    """
    from continuo import io

    index, path, key, cached_parse, trust_pickle = task
    new_parse = None
    if cached_parse is None:
        try:
            pieces = io.read_pieces(path, trust_pickle=trust_pickle)
            items = [(_suffix(piece.name, path), piece.score.dumps_midi()) for piece in pieces]
            if not items:
                raise ContinuoError("no pieces in this file")
        except ContinuoError as error:
            items = [(_ERROR, _reason(error, path).encode())]
        except Exception as error:  # a reader bug must not abort a 5,000-file build
            items = [(_ERROR, f"unexpected {type(error).__name__}: {error}".encode())]
        cached_parse = new_parse = pack(items)

    assert _worker_codec is not None
    encoded: list[tuple[str, bytes]] = []
    for label, blob in unpack(cached_parse):
        if label == _ERROR:
            encoded.append((label, blob))
            continue
        try:
            ids = _worker_codec.encode(symusic.Score.from_midi(blob))
            if not ids:
                raise CodecError("the piece encodes to no tokens")
            encoded.append((label, np.asarray(ids, dtype=np.int32).tobytes()))
        except CodecError as error:
            encoded.append((_SKIP + label, str(error).encode()))
        except Exception as error:
            encoded.append((_SKIP + label, f"unexpected {type(error).__name__}: {error}".encode()))
    return index, key, new_parse, pack(encoded)


def _suffix(piece_name: str, path: str) -> str:
    """``file.abc#3`` -> ``#3``: what a piece adds to its file's name."""
    return piece_name[len(path) :] if piece_name.startswith(path) else f"#{piece_name}"


def _reason(error: ContinuoError, path: str) -> str:
    """The message without a leading ``path: `` (the summary names the file itself)."""
    text = str(error)
    return text[len(path) + 2 :] if text.startswith(f"{path}: ") else text


def _process_batch(tasks: list) -> list[tuple[int, str, bytes | None, bytes]]:
    return [_process(task) for task in tasks]


def _run(tasks: Iterator, codec_dict: dict[str, Any], jobs: int | None, count: int) -> Iterator:
    """Yield ``_process`` results for ``tasks`` (an iterator, consumed as the work goes: at
    most a few batches per worker are in flight), in parallel when there are enough files."""
    jobs = max(1, jobs or os.cpu_count() or 1)
    if jobs == 1 or count < 16:
        _init_worker(codec_dict)
        for task in tasks:
            yield _process(task)
        return
    size = max(1, min(64, count // (jobs * 8)))
    with ProcessPoolExecutor(
        jobs, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(codec_dict,)
    ) as pool:
        pending: deque = deque()
        while True:
            batch = list(itertools.islice(tasks, size))
            if batch:
                pending.append(pool.submit(_process_batch, batch))
            while pending and (len(pending) >= 4 * jobs or not batch):
                yield from pending.popleft().result()
            if not batch:
                return


# -- output ----------------------------------------------------------------------------------


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: --out must be a folder, and this is a file")
    if out.is_dir() and any(out.iterdir()) and not (out / "manifest.json").exists():
        raise ConfigError(f"{out}: the folder is not empty and is not a continuo dataset")
