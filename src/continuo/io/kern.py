"""Reading Humdrum ``**kern`` files: the native fast path, music21 for everything else."""

from __future__ import annotations

import re
from os import PathLike
from typing import Literal

from continuo.errors import ReadError
from continuo.io._common import quiet_music21, read_text, reading
from continuo.io.kern_native import KernSyntaxError, KernUnsupported, parse_kern
from continuo.io.music21_convert import from_music21
from continuo.score import Score

__all__ = ["read_kern"]

# music21 reports a token it cannot read as a warning on stderr and drops it; continuo refuses it.
_MUSIC21_BAD_TOKEN = re.compile(
    r"Error in parsing event \('(?P<token>.*?)'\) at line (?P<line>\d+).*?Could not parse"
)


def read_kern(
    path: str | PathLike[str], *, engine: Literal["auto", "native", "music21"] = "auto"
) -> Score:
    """The score of a kern file: one track per ``**kern`` spine, top voice first.

    ``engine="auto"`` parses with the native reader (:mod:`continuo.io.kern_native`) and hands
    the file to music21 when it uses something outside that subset; ``"native"`` refuses such
    files with a :class:`ReadError`, ``"music21"`` always uses music21. Tracks carry program 0 and
    no name on either path. Errors: :class:`ReadError` naming the file and the problem.
    """
    text = read_text(path)
    if engine != "music21":
        try:
            return parse_kern(text)
        except KernSyntaxError as error:
            raise ReadError(path, str(error)) from None
        except KernUnsupported as error:
            if engine == "native":
                raise ReadError(path, f"outside the native kern subset: {error}") from None
    return _read_with_music21(path, text)


def _read_with_music21(path: str | PathLike[str], text: str) -> Score:
    from music21 import converter
    from music21 import stream as m21stream

    if "**kern" not in text:
        raise ReadError(path, "no **kern spine")
    with reading(path, "kern"), quiet_music21() as messages:
        parsed = converter.parseData(text, format="humdrum")
    bad = _MUSIC21_BAD_TOKEN.search(messages.getvalue())
    if bad:
        raise ReadError(path, f"line {bad['line']}: unknown kern token {bad['token']!r}")
    if isinstance(parsed, m21stream.Opus):
        raise ReadError(path, f"holds {len(parsed.scores)} pieces; continuo reads one per file")
    with reading(path, "kern"):
        score = from_music21(parsed)
    for track in score.tracks:
        track.program = 0
        track.name = ""
    return score
