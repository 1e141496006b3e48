"""Read a dataset written by ``continuo prepare`` and serve training windows from it.

``TokenCorpus.open(dir)`` memory-maps ``tokens.npy`` (never loaded whole) and reads the manifest.
``CausalWindows`` serves the causal objective (predict every next token); ``NextTokenWindows`` the
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

__all__ = ["CausalWindows", "NextTokenWindows", "TokenCorpus", "piece_stream"]

SPLITS = ("train", "valid", "test")


@dataclass
class TokenCorpus:
    """A prepared dataset: the codec, the pieces (manifest entries) and the token array."""

    root: Path
    manifest: dict[str, Any]
    codec: Codec
    tokens: np.ndarray

    @classmethod
    def open(cls, root: str | Path) -> TokenCorpus:
        root = Path(root)
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
        return cls(root, manifest, codec_from_dict(manifest["codec"]), tokens)

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


def piece_stream(corpus: TokenCorpus, pieces: list[dict]) -> np.ndarray:
    """Pieces joined by the separator, with one before the first and after the last.

    Shape ``(sum(lengths) + len(pieces) + 1,)``, int64: ``/ p1 / p2 / ... /``.
    """
    sep = corpus.codec.separator_id
    parts = [np.array([sep], dtype=np.int64)]
    for piece in pieces:
        parts += [corpus.piece_ids(piece), np.array([sep], dtype=np.int64)]
    return np.concatenate(parts)


class CausalWindows(Dataset):
    """Windows of ``block_size + 1`` tokens over a stream; every position is a target.

    Item ``i``: ``(x, y)`` LongTensors of shape ``(block_size,)``, ``y`` = ``x`` shifted by one.
    Windows start every ``block_size`` tokens from ``offset`` (vary it per epoch so that the
    boundaries move); the last window is padded with the separator and its targets with -100.
    """

    def __init__(self, stream: np.ndarray, block_size: int, offset: int = 0) -> None:
        if len(stream) < 2:
            raise ConfigError("the split has no tokens to train on")
        self.stream = torch.from_numpy(np.ascontiguousarray(stream))
        self.block_size = block_size
        self.offset = offset % max(1, min(block_size, len(stream) - 1))
        usable = len(stream) - 1 - self.offset
        self.length = max(1, -(-usable // block_size))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = self.offset + i * self.block_size
        chunk = self.stream[start : start + self.block_size + 1]
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

    def __init__(self, stream: np.ndarray, window: int, stride: int = 1) -> None:
        if len(stream) <= window:
            raise ConfigError(f"the split has fewer than window + 1 = {window + 1} tokens")
        self.stream = torch.from_numpy(np.ascontiguousarray(stream))
        self.window, self.stride = window, stride
        self.length = (len(stream) - window - 1) // stride + 1

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = i * self.stride
        x = self.stream[start : start + self.window]
        y = torch.full((self.window,), -100, dtype=torch.long)
        y[-1] = self.stream[start + self.window]
        return x, y
