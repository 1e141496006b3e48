"""Standard MIDI Files written byte by byte, and a folder of piano-style files made from
music21's Bach chorales (several tracks and channels, sustain pedal, unusual resolutions)."""

from __future__ import annotations

import struct
from pathlib import Path

#: An event at an absolute tick: ``(tick, status and data bytes)``.
Event = tuple[int, bytes]


def vlq(value: int) -> bytes:
    """A MIDI variable-length quantity."""
    out = [value & 0x7F]
    while value > 0x7F:
        value >>= 7
        out.append((value & 0x7F) | 0x80)
    return bytes(reversed(out))


def track_chunk(events: list[Event], end: int | None = None) -> bytes:
    """An ``MTrk`` chunk of ``events`` (sorted by tick, stable), with its end of track at
    ``end`` (default: the last event)."""
    events = sorted(events, key=lambda e: e[0])
    last = events[-1][0] if events else 0
    events.append((max(last, end or 0), b"\xff\x2f\x00"))
    body, now = b"", 0
    for tick, data in events:
        body += vlq(tick - now) + data
        now = tick
    return b"MTrk" + struct.pack(">I", len(body)) + body


def smf(tracks: list[list[Event]], *, fmt: int = 1, division: int = 480) -> bytes:
    """A whole file: header (type ``fmt``, ``division`` ticks per quarter) and one chunk per
    event list."""
    header = b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks), division & 0xFFFF)
    return header + b"".join(track_chunk(t) for t in tracks)


def note(tick: int, length: int, pitch: int, channel: int = 0, velocity: int = 80) -> list[Event]:
    """Note on and note off."""
    return [
        (tick, bytes([0x90 | channel, pitch, velocity])),
        (tick + length, bytes([0x80 | channel, pitch, 0])),
    ]


def pedal(start: int, end: int, channel: int = 0) -> list[Event]:
    """Sustain pedal (control 64) down at ``start``, up at ``end``."""
    return [(start, bytes([0xB0 | channel, 64, 127])), (end, bytes([0xB0 | channel, 64, 0]))]


def program(tick: int, number: int, channel: int = 0) -> Event:
    return (tick, bytes([0xC0 | channel, number]))


def tempo(tick: int, qpm: float) -> Event:
    return (tick, b"\xff\x51\x03" + round(60_000_000 / qpm).to_bytes(3, "big"))


def chorale_voices(count: int) -> list[list[list[tuple[int, int, int]]]]:
    """The first ``count`` Bach chorales of music21's corpus: per chorale, per voice (soprano
    first), notes ``(onset, duration, pitch)`` in ticks at 480 per quarter."""
    from continuo import io

    chorales = []
    for path in io.music21_corpus_paths("music21:bach")[:count]:
        score = io.read_score(path)
        chorales.append(
            [[(n.time, n.duration, n.pitch) for n in track.notes] for track in score.tracks[:4]]
        )
    return chorales


def write_piano_folder(folder: Path, count: int = 10) -> Path:
    """``count`` chorales as piano-style MIDI, in turn:

    - type 1 at 384 ticks per quarter: a tempo track, then one track with the right hand
      (soprano, alto) on channel 0 under a sustain pedal held for the first half of every bar,
      and the left hand (tenor, bass) on channel 1;
    - type 0 at 96 ticks per quarter, each voice on its own channel and program, a drum hit on
      channel 10 every beat;
    - type 1 at 1000 ticks per quarter, one track per voice.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for index, voices in enumerate(chorale_voices(count)):
        kind = index % 3
        division = (384, 96, 1000)[kind]

        def at(tick: int, division: int = division) -> int:
            return round(tick * division / 480)

        end = max(on + length for voice in voices for on, length, _ in voice)
        if kind == 0:
            piano: list[Event] = []
            for v, voice in enumerate(voices):
                for on, length, pitch in voice:
                    piano += note(at(on), max(1, at(length) - 8), pitch, channel=v // 2)
            for bar in range(0, end, 4 * 480):
                piano += pedal(at(bar), at(bar + 2 * 480) - 1, channel=0)
            tracks = [[tempo(0, 96.0)], piano]
            data = smf(tracks, fmt=1, division=division)
        elif kind == 1:
            events: list[Event] = [tempo(0, 80.0)]
            for v, voice in enumerate(voices):
                events.append(program(0, (0, 6, 19, 32)[v], channel=v))
                for on, length, pitch in voice:
                    events += note(at(on), at(length), pitch, channel=v)
            for beat in range(0, end, 480):
                events += note(at(beat), at(120), 42, channel=9)
            data = smf([events], fmt=0, division=division)
        else:
            tracks = [
                [
                    note_event
                    for on, length, pitch in voice
                    for note_event in note(at(on), at(length), pitch)
                ]
                for voice in voices
            ]
            data = smf(tracks, fmt=1, division=division)
        (folder / f"chorale{index:02d}.mid").write_bytes(data)
    return folder
