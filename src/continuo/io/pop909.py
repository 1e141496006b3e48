"""POP909 songs: a MIDI file read with the beat and key annotations that sit beside it.

POP909 (Wang et al., "POP909: A Pop-song Dataset for Music Arrangement Generation", ISMIR 2020;
MIT) keeps each song in a folder ``NNN/`` with ``NNN.mid`` (tracks MELODY, BRIDGE, PIANO at 480
ticks per quarter) and text annotations. The MIDI's tempo map follows the song's beats, but the
first beat falls at an arbitrary tick (a small offset, 0..479 ticks, after tick 0), its time
signatures are placeholders (2/4, 1/4) and it has no key signature. Read plainly, every bar line
of a bar-aware codec would sit in the wrong place. :func:`read_pop909` puts them right:

- ``beat_midi.txt`` (one beat a line: seconds, a beat flag, a downbeat flag) gives the beats. They
  are turned into ticks through the MIDI's tempo map; the bar is the median number of beats
  between downbeats, in quarter notes (POP909's beats are quarters: 480 ticks apart);
- every event moves so that the downbeats land on bar lines and the bar holding the first note
  starts at tick 0 (a pickup keeps its place before the first downbeat; empty intro bars go);
- the time signature becomes ``beats/4`` at tick 0, and the key signature the first key of
  ``key_audio.txt`` (``start end Gb:maj``, one key segment a line).

:func:`read_midi` stays the lossless reader; :func:`~continuo.io.read_pieces` uses this one for
a ``.mid`` file with a ``beat_midi.txt`` beside it (:func:`pop909_annotations`).
"""

from __future__ import annotations

import bisect
import itertools
from os import PathLike
from pathlib import Path

import numpy as np
import symusic

from continuo.errors import ReadError
from continuo.io._common import read_text
from continuo.io.midi import read_midi
from continuo.score import Score

__all__ = ["BEATS_FILE", "KEY_FILE", "parse_key_label", "pop909_annotations", "read_pop909"]

BEATS_FILE = "beat_midi.txt"
KEY_FILE = "key_audio.txt"
_TONICS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def pop909_annotations(path: str | PathLike[str]) -> list[Path]:
    """The annotation files beside a POP909 ``.mid`` that change how it is read ([] if none)."""
    folder = Path(path).parent
    beats = folder / BEATS_FILE
    if not beats.is_file():
        return []
    key = folder / KEY_FILE
    return [beats, key] if key.is_file() else [beats]


def parse_key_label(label: str) -> tuple[int, int]:
    """A POP909 key label as ``(tonic pitch class, mode)``: ``"Gb:maj" -> (6, 0)``,
    ``"C#:min" -> (1, 1)``. Raises ``ValueError`` for anything else."""
    name, _, quality = label.strip().partition(":")
    if not name or name[0].upper() not in _TONICS or quality not in ("maj", "min"):
        raise ValueError(f"not a key label: {label!r}")
    tonic = _TONICS[name[0].upper()] + name[1:].count("#") - name[1:].count("b")
    return tonic % 12, int(quality == "min")


def read_pop909(path: str | PathLike[str]) -> Score:
    """The song in ``path`` with bars and key from its annotations (see the module docstring)."""
    score = read_midi(path)
    folder = Path(path).parent
    beats = _read_beats(folder / BEATS_FILE)
    if score.note_num() == 0:
        return score
    ticks = _seconds_to_ticks(score, beats[:, 0])
    downbeats = np.flatnonzero(beats[:, 2] > 0)
    if len(downbeats) == 0:
        raise ReadError(folder / BEATS_FILE, "no downbeat is marked")
    gaps = np.diff(downbeats)
    beats_per_bar = int(np.median(gaps)) if len(gaps) else 4
    bar = beats_per_bar * score.ticks_per_quarter
    first_downbeat = round(float(ticks[downbeats[0]]))
    first_note = min(track.notes[0].time for track in score.tracks if len(track.notes))
    offset = first_downbeat + ((first_note - first_downbeat) // bar) * bar
    moved = score.shift_time(-offset)
    _keep_from_zero(moved)
    moved.time_signatures = symusic.core.TimeSignatureTickList()
    moved.time_signatures.append(symusic.TimeSignature(0, beats_per_bar, 4))
    key_file = folder / KEY_FILE
    if key_file.is_file():
        tonic, mode = _first_key(key_file)
        sharps = (tonic * 7 + (9 if mode else 0)) % 12  # the major key with this signature
        moved.key_signatures = symusic.core.KeySignatureTickList()
        moved.key_signatures.append(symusic.KeySignature(0, (sharps + 5) % 12 - 5, mode))
    return moved


def _read_beats(path: Path) -> np.ndarray:
    """``beat_midi.txt`` as a float array of shape ``(n_beats, 3)``."""
    rows = []
    for number, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append([float(x) for x in line.split()[:3]])
        except ValueError:
            raise ReadError(path, f"line {number}: not three numbers: {line.strip()!r}") from None
        if len(rows[-1]) != 3:
            raise ReadError(path, f"line {number}: not three numbers: {line.strip()!r}")
    if not rows:
        raise ReadError(path, "no beats")
    return np.asarray(rows)


def _first_key(path: Path) -> tuple[int, int]:
    for number, line in enumerate(read_text(path).splitlines(), 1):
        fields = line.split()
        if len(fields) >= 3:
            try:
                return parse_key_label(fields[2])
            except ValueError as error:
                raise ReadError(path, f"line {number}: {error}") from None
    raise ReadError(path, "no key")


def _seconds_to_ticks(score: Score, seconds: np.ndarray) -> np.ndarray:
    """Times in seconds as (fractional) ticks through the score's tempo map."""
    tempos = sorted((t.time, t.mspq) for t in score.tempos) or [(0, 500_000)]
    if tempos[0][0] > 0:
        tempos.insert(0, (0, 500_000))
    tpq = score.ticks_per_quarter
    starts_tick = [t for t, _ in tempos]
    starts_sec = [0.0]
    for (tick, mspq), (next_tick, _) in itertools.pairwise(tempos):
        starts_sec.append(starts_sec[-1] + (next_tick - tick) * mspq / 1e6 / tpq)
    out = np.empty(len(seconds))
    for i, s in enumerate(seconds):
        j = max(bisect.bisect_right(starts_sec, float(s)) - 1, 0)
        out[i] = starts_tick[j] + (s - starts_sec[j]) * 1e6 * tpq / tempos[j][1]
    return out


def _keep_from_zero(score: Score) -> None:
    """Drop what moved before tick 0 (the tempo in force there moves to 0; notes never do) and
    start the first tempo at 0 when the score moved later."""
    tempos = sorted(score.tempos, key=lambda t: t.time)
    before = [t for t in tempos if t.time <= 0] or tempos[:1]
    kept = [t for t in tempos if t.time > 0 and t is not before[-1]] if before else []
    score.tempos = symusic.core.TempoTickList()
    if before:
        score.tempos.append(symusic.Tempo(0, before[-1].qpm))
    for tempo in kept:
        score.tempos.append(tempo)
    for track in score.tracks:
        controls = [c for c in track.controls if c.time >= 0]
        track.controls = symusic.core.ControlChangeTickList()
        for control in controls:
            track.controls.append(control)
