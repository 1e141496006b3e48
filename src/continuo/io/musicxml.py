"""Reading and writing MusicXML (``.xml``, ``.musicxml``, compressed ``.mxl``) with music21."""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

from continuo.atomic import atomic_file
from continuo.errors import ReadError
from continuo.io._common import quiet_music21, read_bytes, reading
from continuo.io.music21_convert import from_music21, to_music21
from continuo.score import Score

__all__ = ["musicxml_bytes", "read_musicxml", "write_musicxml"]


def read_musicxml(path: str | PathLike[str]) -> Score:
    """The score of a MusicXML file: one track per part, ties merged, grace notes dropped."""
    from music21 import converter
    from music21 import stream as m21stream

    data = read_bytes(path)
    compressed = Path(path).suffix.lower() == ".mxl"
    if compressed and not data.startswith(b"PK"):
        raise ReadError(path, "not a compressed MusicXML (.mxl) file: not a zip archive")
    if not compressed and not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise ReadError(path, "not a MusicXML file: no XML markup at the start")
    with reading(path, "MusicXML"), quiet_music21():
        parsed = converter.parseFile(
            Path(path), format="musicxml", forceSource=True, storePickle=False
        )
    if isinstance(parsed, m21stream.Opus):
        raise ReadError(path, f"holds {len(parsed.scores)} scores; continuo reads one per file")
    with reading(path, "MusicXML"):
        return from_music21(parsed)


def write_musicxml(score: Score, path: str | PathLike[str], *, title: str | None = None) -> None:
    """Write ``score`` as MusicXML (compressed when ``path`` ends in ``.mxl``).

    Parts, measures, time and key signatures, tempo marks, rests and ties across barlines come
    from :func:`~continuo.io.music21_convert.to_music21` and music21's ``makeNotation``, so the
    file opens in MuseScore and reads back with music21. Onsets off the notation grid are snapped
    (see ``to_music21``). Written to a temporary file, then renamed.
    """
    target = Path(path)
    stream = _notated(score, title if title is not None else target.stem)
    fmt = "mxl" if target.suffix.lower() == ".mxl" else "musicxml"

    with atomic_file(target) as tmp, quiet_music21():
        stream.write(fmt, fp=tmp)


def musicxml_bytes(score: Score, *, title: str = "") -> bytes:
    """``score`` as the bytes of an uncompressed MusicXML file (what :func:`write_musicxml`
    writes to a ``.musicxml`` path), titled ``title``."""
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    stream = _notated(score, title)
    with quiet_music21():
        return bytes(GeneralObjectExporter(stream).parse())


def _notated(score: Score, title: str) -> Any:
    """``score`` as a music21 score ready to write: titled, measures and ties made, voices
    numbered from 1."""
    from music21 import metadata

    stream = to_music21(score)
    stream.metadata = metadata.Metadata()
    stream.metadata.title = title
    with quiet_music21():
        stream.makeNotation(inPlace=True)
    for measure in stream.recurse().getElementsByClass("Measure"):
        for number, voice in enumerate(measure.voices, 1):
            voice.id = str(number)  # music21 numbers them from 0; MusicXML voices start at 1
    return stream
