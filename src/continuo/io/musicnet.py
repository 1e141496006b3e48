"""Reading MusicNet's note labels: the per-recording CSV files and the ``musicnet.npz`` archive.

Label times are sample positions in recordings at 44.1 kHz. continuo keeps the performance
timing: a sample position becomes a tick at a fixed 120 quarter notes per minute
(``ticks = samples / 44100 * 2 * DEFAULT_TPQ``; the score carries that tempo), so notes line up
with the recording. MusicNet's instrument codes are General MIDI programs counted from 1
(1 piano, 41 violin, 43 cello, 61 horn, 72 clarinet, 74 flute ...); each instrument becomes one
track with program ``code - 1``. The metrical columns (beats, note values) are not used.

``musicnet.npz`` maps a recording id to ``(audio, IntervalTree)`` and can only be read by
unpickling. It is read only when the caller opts in (``trust_pickle=True``, the CLI's
``--trust-pickle``); see :mod:`continuo.io.npz_pickle` for how that is done.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from os import PathLike

import symusic

from continuo.errors import ReadError
from continuo.io._common import check_file, one_line, read_text
from continuo.io.npz_pickle import NpzPickleError, PickleRefused, iter_npz
from continuo.score import DEFAULT_TPQ, UNMARKED_VELOCITY, Piece, Score

__all__ = ["CSV_COLUMNS", "SAMPLE_RATE", "read_musicnet_csv", "read_musicnet_npz"]

SAMPLE_RATE = 44100
#: The columns of a MusicNet label CSV, in MusicNet's order.
CSV_COLUMNS = (
    "start_time",
    "end_time",
    "instrument",
    "note",
    "start_beat",
    "end_beat",
    "note_value",
)
_QPM = 120.0
_NAMES = {
    1: "Piano",
    7: "Harpsichord",
    41: "Violin",
    42: "Viola",
    43: "Cello",
    44: "Contrabass",
    61: "Horn",
    69: "Oboe",
    71: "Bassoon",
    72: "Clarinet",
    74: "Flute",
}


def read_musicnet_csv(path: str | PathLike[str]) -> Score:
    """The score of one MusicNet label CSV (``start_time,end_time,instrument,note,...``)."""
    rows = csv.reader(io.StringIO(read_text(path)))
    header = [column.strip() for column in next(rows, [])]
    missing = [column for column in CSV_COLUMNS if column not in header]
    if missing:
        raise ReadError(
            path,
            f"not a MusicNet label CSV: missing column(s) {', '.join(missing)} "
            f"(expected {','.join(CSV_COLUMNS)})",
        )
    index = {column: header.index(column) for column in CSV_COLUMNS[:4]}
    labels = []
    for line, row in enumerate(rows, 2):
        if not row or not "".join(row).strip():
            continue
        try:
            values = [row[index[column]] for column in CSV_COLUMNS[:4]]
            start, end, instrument, pitch = (int(float(value)) for value in values)
        except (IndexError, ValueError):
            raise ReadError(
                path, f"line {line}: bad label {one_line(','.join(row), 80)!r}"
            ) from None
        labels.append((start, end, instrument, pitch))
    try:
        return _score(labels)
    except ValueError as error:
        raise ReadError(path, str(error)) from None


def read_musicnet_npz(path: str | PathLike[str], *, trust_pickle: bool = False) -> list[Piece]:
    """Every recording of a ``musicnet.npz`` archive, named ``f"{path}#{id}"``.

    Without ``trust_pickle`` the archive is refused with a :class:`ReadError` that says to pass
    ``--trust-pickle`` (unpickling a file can run code it contains).
    """
    check_file(path)
    pieces = []
    try:
        for key, entry in iter_npz(path, trust_pickle=trust_pickle):
            try:
                score = _score(list(_tree_labels(_labels_of(entry))))
            except (TypeError, ValueError, IndexError) as error:
                raise ReadError(path, f"entry {key!r}: {one_line(error)}") from None
            pieces.append(Piece(f"{path}#{key}", score))
    except PickleRefused:
        raise ReadError(
            path,
            "stores Python pickles (audio and IntervalTree labels); pass --trust-pickle to read "
            "it, and only for a file you trust",
        ) from None
    except NpzPickleError as error:
        raise ReadError(path, one_line(error)) from None
    if not pieces:
        raise ReadError(path, "no recordings in the archive")
    return pieces


def _labels_of(entry: object) -> object:
    """The IntervalTree of an entry ``(audio, tree)`` (an object array or a tuple)."""
    items = entry.tolist() if hasattr(entry, "tolist") else entry
    if isinstance(items, tuple | list) and len(items) == 2:
        return items[1]
    raise ValueError("expected (audio, labels)")


def _tree_labels(tree: object) -> Iterable[tuple[int, int, int, int]]:
    """``(start, end, instrument, note)`` of every interval, whatever class holds them."""
    if not isinstance(tree, Iterable):
        raise ValueError(f"labels are a {type(tree).__name__}, not a collection of intervals")
    for interval in tree:
        if hasattr(interval, "begin"):
            start, end, data = interval.begin, interval.end, interval.data
        else:
            start, end, data = interval
        instrument, note = data[0], data[1]
        yield int(start), int(end), int(instrument), int(note)


def _score(labels: list[tuple[int, int, int, int]]) -> Score:
    """One track per instrument, times converted from samples to ticks at 120 qpm."""
    ticks_per_sample = DEFAULT_TPQ * _QPM / 60.0 / SAMPLE_RATE
    tracks: dict[int, symusic.Track] = {}
    for start, end, instrument, pitch in labels:
        if not 1 <= instrument <= 128:
            raise ValueError(f"instrument {instrument} is not a MusicNet code (1..128)")
        if not 0 <= pitch <= 127:
            raise ValueError(f"note {pitch} is not a MIDI pitch")
        if start < 0 or end < start:
            raise ValueError(f"a label runs from sample {start} to {end}")
        track = tracks.get(instrument)
        if track is None:
            name = _NAMES.get(instrument, f"Program {instrument - 1}")
            track = tracks[instrument] = symusic.Track(name, instrument - 1, False)
        onset = round(start * ticks_per_sample)
        duration = max(1, round(end * ticks_per_sample) - onset)
        track.notes.append(symusic.Note(onset, duration, pitch, UNMARKED_VELOCITY))
    score = symusic.Score(DEFAULT_TPQ)
    for instrument in sorted(tracks):
        tracks[instrument].notes.sort()
        score.tracks.append(tracks[instrument])
    score.tempos.append(symusic.Tempo(0, _QPM))
    return score
