"""The codec interface: a score <-> a list of token ids, invertible within a stated quantisation.

A codec is a class with a dataclass ``Config``, a ``name`` and a ``version``, and four hooks
(plus :meth:`Codec.check_config`, which validates the options):

- :meth:`Codec.build_vocab` lists the token strings (the id of a token is its index);
- :meth:`Codec.encode` turns one piece into ids (no separators), raising :class:`CodecError` when
  the piece cannot be represented (the corpus builder skips it and reports the reason);
- :meth:`Codec.decode` turns ids back into a score;
- :meth:`Codec.quantize` says what a score looks like after the codec's quantisation, so that
  ``decode(encode(s))`` can be compared with ``quantize(s)`` in the round-trip tests.

Pieces are joined by the codec's :attr:`Codec.separator` token in datasets and in generation: a
model learns that a piece starts after it and ends with it.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from continuo.errors import ConfigError
from continuo.score import Score

__all__ = ["Codec"]


class Codec(ABC):
    """Base class of every codec; see the module docstring for the hooks."""

    name: ClassVar[str]
    version: ClassVar[int]
    Config: ClassVar[type]
    #: The token that stands between pieces ("/" in the folk-melody seed).
    separator: ClassVar[str]
    #: Whether a piece may sound several notes at once (chords, voices); other layers ask this
    #: instead of checking a codec's name.
    polyphonic: ClassVar[bool] = True
    #: Whether a seed may be written as melody text (``"67 _ 65 64"``, see
    #: :func:`continuo.codecs.melody.parse_melody_text`); else seeds are files or scores.
    text_seed: ClassVar[bool] = False

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        if config is None:
            config = self.Config()
        if overrides:
            config = _replace_config(config, overrides, self.name)
        self.config = config
        self.check_config()
        self.vocab: list[str] = self.build_vocab()
        self._ids = {token: i for i, token in enumerate(self.vocab)}
        if len(self._ids) != len(self.vocab):
            raise AssertionError(f"codec {self.name}: duplicate tokens in the vocabulary")

    # -- hooks -------------------------------------------------------------------------------
    def check_config(self) -> None:
        """Raise :class:`ConfigError` for option values that cannot work (called before
        :meth:`build_vocab`, also when a codec is rebuilt from a saved dict)."""
        return None

    @abstractmethod
    def build_vocab(self) -> list[str]:
        """All token strings; the separator among them."""

    @abstractmethod
    def encode(self, score: Score) -> list[int]:
        """One piece as token ids (without separators). Raises ``CodecError`` to skip it."""

    @abstractmethod
    def decode(self, ids: Sequence[int]) -> Score:
        """Token ids (separators allowed and ignored at the ends) back into a score."""

    @abstractmethod
    def quantize(self, score: Score) -> Score:
        """``score`` as this codec represents it: what ``decode(encode(score))`` must equal."""

    def transposition(self, score: Score) -> int:
        """Semitones that :meth:`encode` shifts ``score`` by (0 unless the codec normalises keys)."""
        return 0

    def length_in_quarters(self, ids: Sequence[int]) -> float:
        """How long ``ids`` last in quarter notes (grid codecs override this with a count)."""
        score = self.decode(ids)
        return score.end() / score.ticks_per_quarter if score.note_num() else 0.0

    def length_counter(self) -> Callable[[int], float]:
        """A function fed the ids of a sequence one at a time that returns, after each, how long
        the ids so far last: :meth:`length_in_quarters` of the prefix.

        The generator asks after every token it writes, so codecs whose length is a running
        count override this to answer in constant time and memory; this default keeps the
        prefix and measures it again each time (time proportional to its length).
        """
        prefix: list[int] = []

        def push(token: int) -> float:
            prefix.append(int(token))
            return self.length_in_quarters(prefix)

        return push

    def pitch_shift_table(self, semitones: int) -> np.ndarray | None:
        """Token id -> the id of the same token ``semitones`` higher, -1 where that leaves range.

        Shape ``(vocab_size,)``, int64. Used for transposition augmentation at training time
        (``table[ids]``); ``None`` (the default) means the codec cannot transpose its tokens.
        """
        return None

    def note_token_ids(self) -> list[int] | None:
        """Ids of the tokens that each begin exactly one note of the decoded score (the pitch
        tokens), so that a piece's notes can be counted in its tokens; ``None`` when notes are
        not single tokens. Bits per note, the unit that compares tokenizations, is a piece's
        summed token log-loss over this count."""
        return None

    @property
    def steps_per_quarter(self) -> int:
        """The codec's time grid: steps per quarter note of onsets and durations."""
        return int(self.config.steps_per_quarter)

    # -- shared ------------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def separator_id(self) -> int:
        return self._ids[self.separator]

    def token_id(self, token: str) -> int:
        """The id of ``token``; ``KeyError`` if the vocabulary has no such token."""
        return self._ids[token]

    def tokens_to_ids(self, tokens: Sequence[str]) -> list[int]:
        return [self._ids[token] for token in tokens]

    def ids_to_tokens(self, ids: Sequence[int]) -> list[str]:
        return [self.vocab[i] for i in ids]

    def to_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild this codec: saved with every dataset and checkpoint."""
        return {
            "name": self.name,
            "version": self.version,
            "config": dataclasses.asdict(self.config),
            "vocab": list(self.vocab),
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"


def _replace_config(config: Any, overrides: dict[str, Any], codec_name: str) -> Any:
    fields = {field.name: field for field in dataclasses.fields(config)}
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise ConfigError(
            f"codec {codec_name!r} has no option {', '.join(unknown)} "
            f"(options: {', '.join(sorted(fields))})"
        )
    return dataclasses.replace(config, **overrides)
