"""Read a dataset written by ``continuo prepare`` and serve training windows from it.

``TokenCorpus.open(dir)`` memory-maps ``tokens.npy`` (never loaded whole) and reads the manifest.
``PieceStream`` reads a split's pieces from it a window at a time; ``CausalWindows`` serves the causal objective (predict every next token); ``NextTokenWindows`` the
seeds' window objective (one target after each window).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from continuo.atomic import recover_dir
from continuo.codecs import Codec, codec_from_dict
from continuo.errors import ConfigError, ReadError
from continuo.storage import fetch

__all__ = ["CausalWindows", "NextTokenWindows", "PieceStream", "TokenCorpus", "piece_stream"]

SPLITS = ("train", "valid", "test")


@dataclass
class TokenCorpus:
    """A prepared dataset: the codec, the pieces (manifest entries) and the token array."""

    root: Path
    manifest: dict[str, Any]
    codec: Codec
    tokens: np.ndarray
    location: str = ""
    """Where the dataset was opened from, as given (a path or a URL)."""

    @classmethod
    def open(cls, location: str | Path) -> TokenCorpus:
        """The dataset at ``location``: a folder, or a URL (copied into the cache first, see
        :func:`continuo.storage.fetch`)."""
        root = fetch(location)
        # a `prepare` killed between the two renames of its folder swap left the old one aside
        recover_dir(root, lambda old: (old / "manifest.json").is_file())
        manifest_path = root / "manifest.json"
        if not manifest_path.is_file():
            raise ReadError(root, "not a continuo dataset (no manifest.json; run continuo prepare)")
        try:
            manifest = json.loads(manifest_path.read_text())
            tokens = np.load(root / "tokens.npy", mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as error:
            raise ReadError(root, f"damaged dataset: {error}") from None
        if manifest.get("format") != "continuo-dataset":
            raise ReadError(manifest_path, "not a continuo dataset manifest")
        return cls(root, manifest, codec_from_dict(manifest["codec"]), tokens, str(location))

    @property
    def fingerprint(self) -> str:
        return self.manifest["fingerprint"]

    def pieces(self, split: str | None = None, folds: set[int] | None = None) -> list[dict]:
        """Manifest entries of one split (or all), optionally only those in ``folds``."""
        if split is not None and split not in SPLITS:
            raise ConfigError(f"unknown split {split!r} (splits: {', '.join(SPLITS)})")
        return [
            p
            for p in self.manifest["pieces"]
            if (split is None or p["split"] == split) and (folds is None or p["fold"] in folds)
        ]

    def piece_ids(self, piece: dict) -> np.ndarray:
        """The token ids of one piece, int64 of shape ``(length,)``."""
        start = piece["offset"]
        return np.asarray(self.tokens[start : start + piece["length"]], dtype=np.int64)


class PieceStream:
    """Pieces joined by the separator, with one before the first and after the last
    (``/ p1 / p2 / ... /``), read from the memory-mapped tokens a window at a time: a split of
    any size costs 8 bytes per piece in memory, never its tokens.

    ``len(stream)`` is ``sum(lengths) + len(pieces) + 1``; ``stream[a:b]`` is an int64 array of
    shape ``(b - a,)`` (clipped to the stream, as a slice of an array is); ``stream[i]`` an int.
    """

    def __init__(self, tokens: np.ndarray, pieces: list[dict], separator: int) -> None:
        self.tokens, self.separator = tokens, separator
        self.offsets = np.array([p["offset"] for p in pieces], dtype=np.int64)
        self.lengths = np.array([p["length"] for p in pieces], dtype=np.int64)
        #: Where each piece starts in the stream.
        self.starts = 1 + np.concatenate([[0], np.cumsum(self.lengths + 1)[:-1]]).astype(np.int64)
        self.length = int(self.lengths.sum()) + len(pieces) + 1

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int | slice) -> np.ndarray | int:
        if isinstance(index, slice):
            start, stop, step = index.indices(self.length)
            if step != 1:
                raise IndexError("a piece stream is read in contiguous windows")
            return self._window(start, max(start, stop))
        position = index + self.length if index < 0 else index
        if not 0 <= position < self.length:
            raise IndexError(index)
        return int(self._window(position, position + 1)[0])

    def _window(self, start: int, stop: int) -> np.ndarray:
        out = np.full(stop - start, self.separator, dtype=np.int64)
        first = max(0, int(np.searchsorted(self.starts, start, side="right")) - 1)
        for k in range(first, len(self.starts)):
            piece_start = int(self.starts[k])
            if piece_start >= stop:
                break
            lo, hi = max(start, piece_start), min(stop, piece_start + int(self.lengths[k]))
            if lo < hi:
                source = int(self.offsets[k]) + lo - piece_start
                out[lo - start : hi - start] = self.tokens[source : source + hi - lo]
        return out


def piece_stream(corpus: TokenCorpus, pieces: list[dict]) -> PieceStream:
    """The stream of ``pieces`` (:class:`PieceStream`), read from ``corpus``'s tokens."""
    return PieceStream(corpus.tokens, pieces, corpus.codec.separator_id)


class CausalWindows(Dataset):
    """Windows of ``block_size + 1`` tokens over a stream; every position is a target.

    Item ``i``: ``(x, y)`` LongTensors of shape ``(block_size,)``, ``y`` = ``x`` shifted by one.
    Windows start every ``block_size`` tokens from ``offset`` (vary it per epoch so that the
    boundaries move); the last window is padded with the separator and its targets with -100.
    """

    def __init__(self, stream: PieceStream | np.ndarray, block_size: int, offset: int = 0) -> None:
        if len(stream) < 2:
            raise ConfigError("the split has no tokens to train on")
        self.stream = stream
        self.block_size = block_size
        self.offset = offset % max(1, min(block_size, len(stream) - 1))
        usable = len(stream) - 1 - self.offset
        self.length = max(1, -(-usable // block_size))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = self.offset + i * self.block_size
        chunk = torch.from_numpy(np.asarray(self.stream[start : start + self.block_size + 1]))
        x, y = chunk[:-1], chunk[1:].clone()
        if len(x) < self.block_size:
            pad = self.block_size - len(x)
            x = torch.cat([x, x.new_full((pad,), int(self.stream[0]))])
            y = torch.cat([y, y.new_full((pad,), -100)])
        return x, y


class NextTokenWindows(Dataset):
    """The seeds' objective: a window of ``window`` tokens and the one token after it.

    Item ``i``: ``(x, y)`` with ``x`` of shape ``(window,)`` and ``y`` of shape ``(window,)``
    holding -100 everywhere except the last position (the token after the window), so that the
    same ``forward(idx, targets)`` serves both objectives. Windows start at every position of the
    stream (with ``stride`` 1, as in the seeds).
    """

    def __init__(self, stream: PieceStream | np.ndarray, window: int, stride: int = 1) -> None:
        if len(stream) <= window:
            raise ConfigError(f"the split has fewer than window + 1 = {window + 1} tokens")
        self.stream = stream
        self.window, self.stride = window, stride
        self.length = (len(stream) - window - 1) // stride + 1

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = i * self.stride
        chunk = np.asarray(self.stream[start : start + self.window + 1], dtype=np.int64)
        x = torch.from_numpy(chunk[:-1])
        y = torch.full((self.window,), -100, dtype=torch.long)
        y[-1] = int(chunk[-1])
        return x, y
