"""Build a tokenised corpus: sources -> pieces -> token ids in a memory-mapped array + manifest.

``prepare_corpus`` reads every file once (in parallel over all cores; every parse cached by the
file's content hash), encodes each piece with a codec, and writes ``OUT/tokens.npy`` (the pieces'
ids back to back, memory-mappable, no separators) and ``OUT/manifest.json`` (codec config and
vocabulary, each piece's name, offset, length, split and fold, the skipped files with reasons).

A file that cannot be read, or a piece the codec cannot represent, is skipped and reported by
name and reason; it never aborts the build. The output is written to a temporary folder and
renamed into place, so an interrupted build never leaves a half-written dataset and never
destroys an earlier one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import symusic
from tqdm import tqdm

from continuo.codecs import Codec, codec_from_dict
from continuo.data.cache import ParseCache, file_digest, pack, unpack
from continuo.data.sources import expand_sources
from continuo.errors import CodecError, ConfigError, ContinuoError

__all__ = ["MANIFEST_VERSION", "BuildSummary", "assign_split", "prepare_corpus"]

MANIFEST_VERSION = 1
_ERROR = "\0error"  # label of a file-level failure in a cache payload
_SKIP = "\0skip"  # label prefix of a piece the codec skipped


@dataclass
class BuildSummary:
    """What a build did; ``continuo prepare --json`` prints :meth:`to_dict`."""

    out: str
    files: int = 0
    pieces: int = 0
    tokens: int = 0
    splits: dict[str, int] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    parsed: int = 0
    cached: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def assign_split(name: str, *, valid_fraction: float, test_fraction: float) -> tuple[str, int]:
    """The split and the fold (0-9) of a piece, from a hash of its name alone.

    Deterministic and stable as the corpus grows: a piece keeps its split whatever else is added.
    """
    digest = hashlib.blake2b(name.encode(), digest_size=16).digest()
    u = int.from_bytes(digest[:8], "little") / 2**64
    fold = int.from_bytes(digest[8:], "little") % 10
    if u < test_fraction:
        return "test", fold
    if u < test_fraction + valid_fraction:
        return "valid", fold
    return "train", fold


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
) -> BuildSummary:
    """Build the dataset ``out`` from ``sources`` with ``codec``; see the module docstring.

    ``cache_dir=None`` disables the cache. ``progress=None`` shows a bar only on a terminal.
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

    pieces, arrays, offset = [], [], 0
    for source, key in zip(files, keys, strict=True):
        for label, blob in unpack(encoded[key]):
            if label == _ERROR:
                summary.skipped.append({"file": str(source.path), "reason": blob.decode()})
                continue
            if label.startswith(_SKIP):
                piece_name = source.name + label[len(_SKIP) :]
                summary.skipped.append({"file": piece_name, "reason": blob.decode()})
                continue
            ids = np.frombuffer(blob, dtype=np.int32)
            name = source.name + label
            split, fold = assign_split(
                name, valid_fraction=valid_fraction, test_fraction=test_fraction
            )
            pieces.append(
                {"name": name, "offset": offset, "length": len(ids), "split": split, "fold": fold}
            )
            arrays.append(ids)
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
    }
    _write_atomically(out, tokens, manifest)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


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
    bar = tqdm(total=len(tasks), unit="file", desc="reading", disable=_no_bar(progress, tasks))
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


def _no_bar(progress: bool | None, tasks: list) -> bool | None:
    if not tasks:
        return True
    return None if progress is None else not progress


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
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        np.save(tmp / "tokens.npy", tokens)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        if out.exists():
            os.replace(out, old)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
