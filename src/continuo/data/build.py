"""Build a tokenised corpus: sources -> pieces -> token ids in a memory-mapped array + manifest.

``prepare_corpus`` reads every file once (in parallel over all cores; every parse cached by the
file's content hash), encodes each piece with a codec, and writes ``OUT/tokens.npy`` (the pieces'
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
import json
import math
import os
import re
import time
from collections.abc import Sequence
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
) -> BuildSummary:
    """Build the dataset ``out`` from ``sources`` with ``codec``; see the module docstring.

    ``cache_dir=None`` disables the cache. ``progress=None``: a bar on a terminal, and a line
    every few seconds when standard error is piped or logged; False: nothing.
    ``jsb_grid`` (``16th``, ``8th``, ``quarter``): the grid at which to read JSB chorales given
    at several; None: the codec's grid where a file has it, else the finest. Raises
    :class:`ReadError` when no piece at all could be read (nothing is written then).
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
    keys = [_file_key(f.path, trust_pickle) for f in files]

    cache = ParseCache(cache_dir)
    try:
        encoded = cache.encoded(keys, codec_key)
        todo = sorted({i for i, key in enumerate(keys) if key not in encoded})
        parsed = cache.parsed(keys[i] for i in todo)
        summary.cached = len(files) - len(todo)
        summary.parsed = sum(keys[i] not in parsed for i in todo)
        tasks = [(str(files[i].path), keys[i], parsed.get(keys[i]), trust_pickle) for i in todo]
        new_parses, new_encodings = [], []
        for key, new_parse, new_encoding in _run(tasks, codec_dict, jobs, progress):
            encoded[key] = new_encoding
            new_encodings.append((key, new_encoding))
            if new_parse is not None:
                new_parses.append((key, new_parse))
            if len(new_encodings) >= 256:  # commit in batches: a killed build keeps most work
                cache.put_parsed(new_parses)
                cache.put_encoded(new_encodings, codec_key)
                new_parses, new_encodings = [], []
        cache.put_parsed(new_parses)
        cache.put_encoded(new_encodings, codec_key)
    finally:
        cache.close()

    left_out, summary.notes = _one_rendering(files, keys, encoded, codec, jsb_grid)
    found: list[tuple[str, str, str | None]] = []  # (name, content digest, source's split)
    arrays = []
    for source, key in zip(files, keys, strict=True):
        if source.name in left_out:
            continue
        for label, blob in unpack(encoded[key]):
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
            arrays.append(np.frombuffer(blob, dtype=np.int32))
    if not arrays:
        raise _nothing_read(sources, summary)
    splits = assign_splits(found, valid_fraction=valid_fraction, test_fraction=test_fraction)
    pieces, offset = [], 0
    for (name, _, _), ids, (split, fold) in zip(found, arrays, splits, strict=True):
        pieces.append(
            {"name": name, "offset": offset, "length": len(ids), "split": split, "fold": fold}
        )
        offset += len(ids)

    dtype = np.uint16 if codec.vocab_size < 2**16 else np.int32
    tokens = np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)
    summary.pieces, summary.tokens = len(pieces), len(tokens)
    summary.splits = {s: sum(p["split"] == s for p in pieces) for s in ("train", "valid", "test")}
    manifest = {
        "format": "continuo-dataset",
        "version": MANIFEST_VERSION,
        "codec": codec_dict,
        "dtype": np.dtype(dtype).name,
        "tokens": len(tokens),
        "fingerprint": _fingerprint(tokens, codec_key, pieces),
        "sources": [str(s) for s in sources],
        "pieces": pieces,
        "skipped": summary.skipped,
        "notes": summary.notes,
    }
    _write_atomically(out, tokens, manifest)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


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
    keys: list[str],
    encoded: dict[str, bytes],
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
    for source, key in zip(files, keys, strict=True):
        grid = grid_of(source.path) if source.path.suffix.lower() == ".json" else None
        labels = [label.removeprefix(_SKIP) for label, _ in unpack(encoded[key])]
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


def _process(task: tuple[str, str, bytes | None, bool]) -> tuple[str, bytes | None, bytes]:
    """Parse (unless a cached parse is given) and encode one file.

    Returns ``(key, new parse payload or None, encoding payload)``.
    """
    from continuo import io

    path, key, cached_parse, trust_pickle = task
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
    return key, new_parse, pack(encoded)


def _suffix(piece_name: str, path: str) -> str:
    """``file.abc#3`` -> ``#3``: what a piece adds to its file's name."""
    return piece_name[len(path) :] if piece_name.startswith(path) else f"#{piece_name}"


def _reason(error: ContinuoError, path: str) -> str:
    """The message without a leading ``path: `` (the summary names the file itself)."""
    text = str(error)
    return text[len(path) + 2 :] if text.startswith(f"{path}: ") else text


def _run(tasks, codec_dict, jobs, progress):
    """Yield ``_process`` results for ``tasks``, in parallel when there are enough of them."""
    jobs = max(1, jobs or os.cpu_count() or 1)
    # a live bar on a terminal; piped or logged, a line every few seconds
    bar = progress_bar(
        total=len(tasks), unit="file", desc="reading", enabled=progress if tasks else False
    )
    try:
        if jobs == 1 or len(tasks) < 16:
            _init_worker(codec_dict)
            for task in tasks:
                yield _process(task)
                bar.update()
            return
        chunksize = max(1, min(64, len(tasks) // (jobs * 8)))
        with ProcessPoolExecutor(
            jobs, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(codec_dict,)
        ) as pool:
            for result in pool.map(_process, tasks, chunksize=chunksize):
                yield result
                bar.update()
    finally:
        bar.close()


# -- output ----------------------------------------------------------------------------------


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: --out must be a folder, and this is a file")
    if out.is_dir() and any(out.iterdir()) and not (out / "manifest.json").exists():
        raise ConfigError(f"{out}: the folder is not empty and is not a continuo dataset")


def _fingerprint(tokens: np.ndarray, codec_key: str, pieces: list[dict]) -> str:
    digest = hashlib.blake2b(tokens.tobytes(), digest_size=16)
    digest.update(codec_key.encode())
    digest.update(json.dumps([(p["name"], p["split"]) for p in pieces]).encode())
    return digest.hexdigest()


def _write_atomically(out: Path, tokens: np.ndarray, manifest: dict) -> None:
    """Write the dataset folder ``out`` in one step (:func:`continuo.atomic.atomic_dir`)."""
    with atomic_dir(out) as tmp:
        np.save(tmp / "tokens.npy", tokens)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
