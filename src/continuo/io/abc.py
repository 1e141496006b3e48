"""Reading ABC files with music21: every tune of a file becomes one piece, named ``file#X``.

symusic's ``Score.from_abc`` reads only the first tune of a file, and music21, given a whole
file, merges tunes that share an ``X:`` number. So the file is split at its ``X:`` lines and each
tune is parsed by music21 on its own, with the file's header fields (lines before the first
tune, such as ``L:`` or ``M:`` defaults) in front. A tune music21 cannot parse, or one without
notes, is left out (and logged); a file with no tune left is a :class:`ReadError`.
"""

from __future__ import annotations

import logging
import re
from os import PathLike

from continuo.errors import ReadError
from continuo.io._common import one_line, quiet_music21, read_text
from continuo.io.music21_convert import from_music21
from continuo.score import Piece, Score

__all__ = ["read_abc"]

_log = logging.getLogger(__name__)
_X_LINE = re.compile(r"X:\s*(\S*)")
_FIELD_LINE = re.compile(r"([A-Za-z]:|%%)")


def read_abc(path: str | PathLike[str]) -> list[Piece]:
    """One :class:`Piece` per tune with notes, named ``f"{path}#{X}"`` (``X`` from ``X:``).

    A repeated ``X:`` number gets ``~2``, ``~3``... appended so that names stay unique; a tune
    without a number is named by its position (1, 2, ...).
    """
    text = read_text(path)
    header, tunes = _split_tunes(text)
    if not tunes:
        raise ReadError(path, "not ABC: no X: or K: header line")
    pieces: list[Piece] = []
    seen: dict[str, int] = {}
    problems: list[str] = []
    for position, (number, body) in enumerate(tunes, 1):
        label = number or str(position)
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label}~{seen[label]}"
        try:
            score = _parse_tune(header + body)
        except Exception as error:  # music21 fails in many ways on broken tunes
            problems.append(f"tune {label}: {one_line(error, 100)}")
            _log.warning("%s#%s: tune skipped (%s)", path, label, one_line(error, 200))
            continue
        if score.note_num():
            pieces.append(Piece(f"{path}#{label}", score))
    if not pieces:
        detail = f" ({problems[0]})" if problems else ""
        raise ReadError(path, f"no notes in any of its {len(tunes)} ABC tune(s){detail}")
    return pieces


def _split_tunes(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The file header (its field lines) and ``(X number, tune text)`` for every tune."""
    header: list[str] = []
    tunes: list[tuple[str, list[str]]] = []
    for line in text.splitlines(keepends=True):
        x_line = _X_LINE.match(line)
        if x_line:
            tunes.append((x_line[1], [line]))
        elif tunes:
            tunes[-1][1].append(line)
        elif _FIELD_LINE.match(line):
            header.append(line)
    if not tunes and any(line.startswith("K:") for line in header):
        return "", [("", header)]  # a single tune without X:
    return "".join(header), [(number, "".join(lines)) for number, lines in tunes]


def _parse_tune(text: str) -> Score:
    from music21 import converter
    from music21 import stream as m21stream

    with quiet_music21():
        parsed = converter.parseData(text, format="abc")
    if isinstance(parsed, m21stream.Opus):  # only with an X: line music21 splits on, not ours
        parsed = parsed.scores[0]
    return from_music21(parsed)
