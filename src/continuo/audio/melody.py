"""The ``melody`` extension method: new notes for a recording of one voice or instrument, played
in the recording's own sound.

1. The take is transcribed (:func:`continuo.audio.transcription.transcribe`).
2. A melody model continues the notes: ``continue_notes(seed, seconds)`` returns the seed score
   followed by new notes (the command line and the app pass the bundled ``folk`` model or a run,
   through :meth:`continuo.generation.Generator.note_continuer`, so this layer needs no model
   code).
3. A sampler built from the take's own notes plays the new ones (:func:`play_notes`): each new
   note is the recorded note nearest in pitch (the longest among equals), moved by resampling
   (a take that spans an octave moves none by more than a few semitones), cut to length with a
   release, or held by crossfading loops of its steady middle.
4. The take is kept verbatim up to the first new note, where it fades out over
   :data:`SEAM_S` as the sampler fades in: the seam sits in the breath before a note, where a
   player would have re-articulated anyway.

When to use it (docs/decisions/0016-transcription.md): a melody of one voice or instrument that
should go on with new phrases. ``structure`` is right for music with a groove or harmony to
replay (it writes no new notes), ``neural`` for textures with no clear notes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from continuo.audio.extension import Extension, Splice, fit_length
from continuo.audio.transcription import Transcription, transcribe
from continuo.io.audio import Audio
from continuo.score import Score

__all__ = [
    "SEAM_S",
    "NoteContinuer",
    "extend_melody",
    "new_notes",
    "play_notes",
    "recorded_notes",
    "take_then_notes",
]

#: ``continue_notes(seed, seconds)`` -> (the seed followed by new notes, tick where they start).
NoteContinuer = Callable[[Score, float], tuple[Score, int]]

#: Length of the crossfade from the take into the new notes (seconds).
SEAM_S = 0.03
#: Fade at the start and end of each played note (seconds).
NOTE_FADE_S = 0.012


@dataclass(frozen=True)
class RecordedNote:
    """One note of the take: ``samples`` ``(n, channels)`` from its onset to its offset."""

    pitch: int
    samples: np.ndarray


def extend_melody(
    audio: Audio,
    duration: float,
    continue_notes: NoteContinuer,
    *,
    name: str = "input",
    transcription: Transcription | None = None,
    progress: bool | None = None,
) -> Extension:
    """``audio`` followed by new notes in its own sound, exactly ``duration`` seconds long.

    ``transcription``: the take's, when the caller already has it. :class:`ReadError` (naming
    ``name``) when the take is not one clear melody. Unless ``progress`` is False, a line on
    standard error says when a take over 15 s is being transcribed.
    """
    sr = audio.sample_rate
    if transcription is None and progress is not False and audio.duration > 15.0:
        print(f"continuo: transcribing {name} ({audio.duration:.0f} s)…", file=sys.stderr)
    heard = transcription or transcribe(audio, name=name)
    if duration <= audio.duration:
        samples = fit_length(audio.samples, round(duration * sr), sr)
        return Extension(samples, sr, [], "original", "melody", audio.duration)
    seed_end = heard.score.end()
    score, start_tick = continue_notes(heard.score, duration - heard.seconds_at([seed_end])[0])
    notes = [note for note in new_notes(heard, score, start_tick) if note[0] < duration]
    n_out = round(duration * sr)
    out, seam = take_then_notes(audio, heard, notes, n_out)
    return Extension(
        out,
        sr,
        [Splice(seam, seam, None)],
        "fade",
        "melody",
        audio.duration,
        details={
            "heard": heard.describe(),
            "seed": heard.seed_text(),
            "new_notes": len(notes),
            "notes": [[round(a, 3), round(b, 3), p] for a, b, p in notes],
        },
    )


def take_then_notes(
    audio: Audio, heard: Transcription, notes: list[tuple[float, float, int]], n_samples: int
) -> tuple[np.ndarray, float]:
    """``(samples (n_samples, channels), seam s)``: ``audio`` up to the first of ``notes``
    (fading out over :data:`SEAM_S`), then ``notes`` played from its own notes; scaled down
    only if overlapping releases would clip."""
    sr = audio.sample_rate
    out = play_notes(recorded_notes(audio, heard), notes, sr, n_samples, audio.channels)
    seam = min(notes[0][0] if notes else audio.duration, audio.duration)
    cut = min(round(seam * sr), n_samples)
    kept = audio.samples[:cut].copy()
    fade = min(round(SEAM_S * sr), cut)
    if fade:
        kept[cut - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    out[:cut] += kept
    peak = float(np.abs(out).max(initial=0.0))
    if peak > 1.0:
        out /= peak
    return out, seam


def new_notes(
    heard: Transcription, score: Score, start_tick: int
) -> list[tuple[float, float, int]]:
    """``(onset s, offset s, pitch)`` in the take's time of the notes of ``score`` (a
    continuation of ``heard.score``) from ``start_tick`` on."""
    new = [n for track in score.tracks for n in track.notes if n.time >= start_tick]
    onsets = heard.seconds_at(np.array([n.time for n in new], dtype=float))
    offsets = heard.seconds_at(np.array([n.time + n.duration for n in new], dtype=float))
    return [
        (float(a), float(b), int(n.pitch)) for a, b, n in zip(onsets, offsets, new, strict=True)
    ]


def recorded_notes(audio: Audio, heard: Transcription) -> list[RecordedNote]:
    """The take's notes as sampler voices, each from its onset to its offset."""
    sr = audio.sample_rate
    return [
        RecordedNote(int(p), audio.samples[round(a * sr) : round(b * sr)])
        for a, b, p in zip(heard.onsets, heard.offsets, heard.pitches, strict=True)
        if round(b * sr) - round(a * sr) > 4 * NOTE_FADE_S * sr
    ]


def play_notes(
    bank: list[RecordedNote],
    notes: list[tuple[float, float, int]],
    sample_rate: int,
    n_samples: int,
    channels: int,
) -> np.ndarray:
    """``(n_samples, channels)``: ``notes`` (onset s, offset s, pitch) played from ``bank``."""
    out = np.zeros((n_samples, channels), dtype=np.float32)
    for onset, offset, pitch in notes:
        voice, shift = _nearest(bank, pitch)
        length = max(round((offset - onset) * sample_rate), 1)
        sound = _fit(_shifted(voice.samples, shift), length, sample_rate)
        start = round(onset * sample_rate)
        end = min(start + len(sound), n_samples)
        if end > start:
            out[start:end] += sound[: end - start]
    return out


def _nearest(bank: list[RecordedNote], pitch: int) -> tuple[RecordedNote, int]:
    """The recorded note to play ``pitch`` from (the nearest in pitch, the longest among
    equals: its loop sounds most even) and the semitones to move it by."""
    voice = min(bank, key=lambda note: (abs(pitch - note.pitch), -len(note.samples)))
    return voice, pitch - voice.pitch


def _shifted(samples: np.ndarray, semitones: int) -> np.ndarray:
    """``samples`` played ``semitones`` higher by resampling (shorter when higher)."""
    if semitones == 0:
        return samples
    ratio = 2.0 ** (semitones / 12.0)
    positions = np.arange(0.0, len(samples) - 1, ratio)
    index = np.arange(len(samples))
    return np.stack(
        [np.interp(positions, index, samples[:, c]) for c in range(samples.shape[1])], axis=1
    ).astype(np.float32)


def _fit(sound: np.ndarray, length: int, sample_rate: int) -> np.ndarray:
    """``sound`` made ``length`` samples long: cut, or held by crossfaded loops of its middle
    half; faded in and out over :data:`NOTE_FADE_S`."""
    fade = max(1, round(NOTE_FADE_S * sample_rate))
    if len(sound) < length:
        middle = sound[len(sound) // 4 : 3 * len(sound) // 4]
        overlap = min(fade * 2, len(middle) // 3)
        pieces = [sound[: 3 * len(sound) // 4]]
        total = len(pieces[0])
        ramp = np.linspace(0.0, 1.0, overlap, dtype=np.float32)[:, None]
        while total < length and overlap > 0:
            last = pieces[-1]
            joined = last[-overlap:] * (1 - ramp) + middle[:overlap] * ramp
            pieces[-1] = last[:-overlap]
            pieces += [joined, middle[overlap:]]
            total += len(middle) - overlap
        sound = np.concatenate(pieces)
    sound = sound[:length].copy()
    n = min(fade, len(sound) // 2)
    if n:
        sound[:n] *= np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
        sound[-n:] *= np.linspace(1.0, 0.0, n, dtype=np.float32)[:, None]
    return sound
