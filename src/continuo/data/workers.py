"""Reading and encoding files in worker processes, for :func:`continuo.data.build.prepare_corpus`.

A task is one file: ``(id, path, cache key, cached parse or None, trust_pickle)``. A worker parses
the file (unless its parse is cached), encodes each piece with the codec it was started with,
and returns the payloads the cache stores (:func:`continuo.data.cache.pack`): the parse (the
pieces as MIDI bytes, or the reason the file could not be read) and the encoding (each piece's
token ids, or the reason the codec skipped it).
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import symusic

from continuo.codecs import Codec, codec_from_dict
from continuo.data.cache import file_digest, pack, unpack
from continuo.errors import CodecError, ContinuoError

__all__ = ["ERROR", "SKIP", "Task", "encode_files", "file_key"]

ERROR = "\0error"  # label of a file-level failure in a payload
SKIP = "\0skip"  # label prefix of a piece the codec skipped

Task = tuple[int, str, str, "bytes | None", bool]


def file_key(path: Path, trust_pickle: bool) -> str:
    """The cache key of a file: its bytes, those of its companion files, the reader options."""
    from continuo import io

    companions = [p.read_bytes() for p in io.companion_files(path)]
    salt = [hashlib.blake2b(b, digest_size=16).hexdigest() for b in companions]
    return file_digest(path.read_bytes(), f"pickle={trust_pickle}", *salt)


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
            items = [(ERROR, _reason(error, path).encode())]
        except Exception as error:  # a reader bug must not abort a 5,000-file build
            items = [(ERROR, f"unexpected {type(error).__name__}: {error}".encode())]
        cached_parse = new_parse = pack(items)

    assert _worker_codec is not None
    encoded: list[tuple[str, bytes]] = []
    for label, blob in unpack(cached_parse):
        if label == ERROR:
            encoded.append((label, blob))
            continue
        try:
            ids = _worker_codec.encode(symusic.Score.from_midi(blob))
            if not ids:
                raise CodecError("the piece encodes to no tokens")
            encoded.append((label, np.asarray(ids, dtype=np.int32).tobytes()))
        except CodecError as error:
            encoded.append((SKIP + label, str(error).encode()))
        except Exception as error:
            encoded.append((SKIP + label, f"unexpected {type(error).__name__}: {error}".encode()))
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


def encode_files(
    tasks: Iterator[Task], codec_dict: dict[str, Any], jobs: int | None, count: int
) -> Iterator[tuple[int, str, bytes | None, bytes]]:
    """``(id, key, new parse or None, encoding)`` for each of the ``count`` ``tasks`` (an iterator, consumed as the work goes: at
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
