"""A monophonic recording (a voice, a whistle, a flute, a trumpet) to a melody.

>>> take = read_audio("hum.wav")
>>> melody = transcribe(take, name="hum.wav")        # a Transcription; ReadError for a bad take
>>> melody.seed_text()                                # '67 _ 67 _ 65 64 _ r ...'
>>> melody.score                                      # on the grid, with tempo, meter and key

The pipeline, each step measured in ``benchmarks/transcription.py`` (choices in
docs/decisions/0016-transcription.md):

1. **Pitch track**: probabilistic YIN (pYIN; M. Mauch and S. Dixon, "pYIN: a fundamental frequency
   estimator using probabilistic threshold distributions", ICASSP 2014) through ``librosa.pyin``
   at 16 kHz, a 10 ms hop and quarter-semitone states.
2. **Tuning**: the take's offset from equal temperament (the circular mean of the deviations
   from the nearest semitone of the pitch averaged over a vibrato cycle) is taken out, so a choir a third of a semitone flat is
   transcribed in tune.
3. **Notes**: each voiced stretch is labelled with semitones by a Viterbi path that pays for
   every change of note (so vibrato and drift stay inside a note), split again where a
   repeated note is struck (a SuperFlux onset after a dip in level); a short scoop into a note
   belongs to it.
4. **Grid**: beats from ``librosa.beat.beat_track`` on the notes' onset envelope (or
   ``tempo=`` when the user knows it), every onset and offset placed on the grid between the
   beats (so a singer's drifting tempo is followed), and the meter (duple or triple) from where
   the long notes fall (:func:`estimate_meter`).
5. **Key**: :func:`continuo.codecs.keys.estimate_key` of the notes on the grid.

Takes that would give a garbage seed are refused with a :class:`ReadError` that says why:
too short, silent, no clear pitch (noise, speech, an orchestra), more than one voice at once (a
pitch with no fundamental of its own), too few notes.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field

import numpy as np

from continuo.codecs.keys import estimate_key
from continuo.codecs.melody import MelodyCodec, format_melody_tokens
from continuo.errors import ConfigError, ReadError
from continuo.io.audio import Audio, resample, to_mono
from continuo.score import DEFAULT_TPQ, Score, make_score

__all__ = [
    "MIN_TAKE_S",
    "Transcription",
    "TranscriptionConfig",
    "estimate_meter",
    "key_signature",
    "transcribe",
    "transcribe_file",
]

#: The shortest take worth transcribing, in seconds.
MIN_TAKE_S = 2.0
#: The Viterbi cost of moving to another semitone (a frame a semitone off costs 4).
CHANGE_COST = 12.0
#: Notes shorter than this (seconds) are dropped as glitches.
MIN_NOTE_S = 0.06
#: Frames more than this far (dB) below the loudest frame are silence.
SILENCE_DB = 35.0
#: A take whose loudest 10 ms is below this (dBFS) is silent.
SILENT_DBFS = -55.0
#: A melody is voiced on at least this share of its sounding frames (below: noise).
MIN_VOICED_SHARE = 0.5
#: One voice sounds its fundamental at least this loud against its strongest harmonic (median
#: over frames); two voices at once leave pYIN's pitch, their common subharmonic, silent.
MIN_FUNDAMENTAL = 0.02
#: A repeated note is struck again where the level rises from a dip by this factor.
ATTACK_RISE = 1.5
#: ... after the note so far has fallen below this share of its peak level.
ATTACK_DIP = 0.6
#: A first pitch this short (frames) and within 2 semitones of the next is the note's scoop.
SCOOP_FRAMES = 15
#: The fewest notes a take must hold to seed a continuation.
MIN_NOTES = 3


@dataclass(frozen=True)
class TranscriptionConfig:
    """Settings of :func:`transcribe`, checked on construction.

    ``tempo``: the take's tempo in quarter notes per minute, when the user knows it (else beat
    tracking finds it); ``steps_per_quarter``: the grid (the melody codec's, 4 = sixteenths);
    ``fmin``/``fmax``: the pitch range searched, in Hz (C2..A6 by default: voices, whistles,
    flutes, trumpets, violins).
    """

    tempo: float | None = None
    steps_per_quarter: int = 4
    fmin: float = 65.406  # C2: pYIN's quarter-semitone states then fall on the semitones
    fmax: float = 1760.0
    sample_rate: int = 16000
    hop: int = 160

    def __post_init__(self) -> None:
        if self.tempo is not None and not 30.0 <= float(self.tempo) <= 300.0:
            raise ConfigError(f"--tempo must be 30 to 300 quarter notes a minute, got {self.tempo}")
        if self.steps_per_quarter not in (1, 2, 3, 4, 6, 8, 12):
            raise ConfigError(
                f"steps per quarter must divide the grid, got {self.steps_per_quarter}"
            )
        if not 30.0 <= self.fmin < self.fmax <= 4000.0:
            raise ConfigError(f"pitch range {self.fmin}..{self.fmax} Hz is not within 30..4000 Hz")


@dataclass
class Transcription:
    """A take as notes: ``onsets``/``offsets`` in seconds of the take and ``pitches`` (MIDI) as
    sung or played, and :attr:`score`, the same notes on the grid (one track, with the take's
    tempo, time signature and key signature; its first bar line at tick 0).

    ``tuning`` is the take's offset from equal temperament in semitones (-0.5..0.5); ``key`` is
    ``(tonic pitch class, mode)``; ``beats`` the beat times in seconds; ``origin_step`` the grid
    step (counted from ``beats[0]``) where :attr:`score` starts.
    """

    onsets: np.ndarray
    offsets: np.ndarray
    pitches: np.ndarray
    score: Score
    tempo: float
    time_signature: tuple[int, int]
    key: tuple[int, int]
    tuning: float
    beats: np.ndarray
    steps_per_quarter: int = 4
    origin_step: int = 0
    details: dict[str, float] = field(default_factory=dict)

    def seed_text(self, *, names: bool = False) -> str:
        """The melody in the seed syntax, ``"67 _ 67 _ 65 64 _ r"`` (one token a grid step), to
        read, correct and give back as a text seed."""
        codec = MelodyCodec(steps_per_quarter=self.steps_per_quarter, transpose=False)
        tokens = codec.ids_to_tokens(codec.encode(self.score))
        if tokens and tokens[0] == "_":  # a pickup: the bar starts with a rest
            tokens[0] = "r"
        return format_melody_tokens(tokens, names=names)

    def seconds_at(self, ticks: np.ndarray) -> np.ndarray:
        """Times in the take (seconds) of ticks of :attr:`score` (or of a continuation of it),
        following the take's beats and, past them, its median beat."""
        tpq = self.score.ticks_per_quarter
        beat = (np.asarray(ticks, dtype=float) / tpq) + self.origin_step / self.steps_per_quarter
        index = np.arange(len(self.beats), dtype=float)
        period = float(np.median(np.diff(self.beats)))
        inside = np.interp(beat, index, self.beats)
        return np.where(beat > index[-1], self.beats[-1] + (beat - index[-1]) * period, inside)

    def describe(self) -> str:
        """One line: notes, tempo, meter, key and tuning."""
        tonic, mode = self.key
        names = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
        return (
            f"{len(self.pitches)} notes, {self.tempo:.0f} bpm, "
            f"{self.time_signature[0]}/{self.time_signature[1]}, "
            f"{names[tonic]} {'minor' if mode else 'major'}, tuning {100 * self.tuning:+.0f} cents"
        )


def transcribe(
    audio: Audio, config: TranscriptionConfig | None = None, *, name: str = "take"
) -> Transcription:
    """The melody of a monophonic ``audio`` take (see the module docstring).

    :class:`ReadError` naming ``name`` when the take is too short, silent, unpitched, holds more
    than one voice at once, or too few notes.
    """
    config = config or TranscriptionConfig()
    if audio.duration < MIN_TAKE_S:
        raise ReadError(
            name, f"the take is {audio.duration:.1f} s long; sing or play at least {MIN_TAKE_S:g} s"
        )
    y = to_mono(audio.samples)
    y = resample(y, audio.sample_rate, config.sample_rate).astype(np.float32)
    sr, hop = config.sample_rate, config.hop
    rms = _frame_rms(y, hop)
    if 20 * np.log10(max(float(rms.max(initial=0.0)), 1e-12)) < SILENT_DBFS:
        raise ReadError(name, "the take is silent (check the microphone)")
    y = y / max(float(np.abs(y).max()), 1e-9)

    import librosa

    f0, voiced, _ = librosa.pyin(
        y,
        fmin=config.fmin,
        fmax=config.fmax,
        sr=sr,
        frame_length=1024,
        hop_length=hop,
        resolution=0.25,
    )
    n = min(len(f0), len(rms))
    f0, voiced, rms = f0[:n], voiced[:n], rms[:n]
    sounding = rms > rms.max() * 10 ** (-SILENCE_DB / 20)
    voiced &= sounding & np.isfinite(f0)
    voiced_share = voiced.sum() / max(int(sounding.sum()), 1)
    if voiced_share < MIN_VOICED_SHARE:
        raise ReadError(
            name,
            f"no single clear pitch in the take (pitched on {100 * voiced_share:.0f}% of it): "
            "noise, speech, percussion or several instruments? Sing, hum, whistle or play one "
            "line",
        )
    power = np.abs(librosa.stft(y, n_fft=2048, hop_length=hop)) ** 2  # (1025, frames)
    fundamental = _fundamental_level(power, sr, f0, voiced)
    if fundamental is not None and fundamental < MIN_FUNDAMENTAL:
        raise ReadError(
            name,
            "the take sounds like more than one voice or instrument at once (its pitches "
            "share no fundamental); record one line alone",
        )

    midi = np.full(n, np.nan)
    midi[voiced] = librosa.hz_to_midi(f0[voiced])
    tuning = _tuning(midi, voiced)
    midi -= tuning
    attacks = _attacks(power, sr, hop, rms)
    frames = _segment(midi, voiced, attacks, rms, min_frames=max(1, round(MIN_NOTE_S * sr / hop)))
    if len(frames) < MIN_NOTES:
        raise ReadError(
            name, f"found {len(frames)} note(s) in the take; a seed needs at least {MIN_NOTES}"
        )
    seconds = hop / sr
    onsets = np.array([start for start, _, _ in frames]) * seconds
    offsets = np.array([end for _, end, _ in frames]) * seconds
    pitches = np.array([pitch for _, _, pitch in frames], dtype=np.int64)

    beats = _beats(onsets, config, duration=n * seconds)
    spq = config.steps_per_quarter
    start_steps = np.round(_beat_position(onsets, beats) * spq).astype(np.int64)
    end_steps = np.round(_beat_position(offsets, beats) * spq).astype(np.int64)
    # a later onset ends the note before; every note lasts at least a step
    end_steps[:-1] = np.minimum(end_steps[:-1], start_steps[1:])
    keep = np.r_[start_steps[1:] > start_steps[:-1], True]
    start_steps, end_steps, pitches = start_steps[keep], end_steps[keep], pitches[keep]
    onsets, offsets = onsets[keep], offsets[keep]
    end_steps = np.maximum(end_steps, start_steps + 1)

    beats_per_bar, phase = estimate_meter(start_steps, end_steps, spq)
    bar = beats_per_bar * spq
    origin = ((int(start_steps[0]) - phase * spq) // bar) * bar + phase * spq
    start_steps, end_steps = start_steps - origin, end_steps - origin
    key = estimate_key(pitches, (end_steps - start_steps).astype(float))
    tempo = float(60.0 / np.median(np.diff(beats))) if len(beats) > 1 else 120.0
    ticks = DEFAULT_TPQ // spq
    score = make_score(
        [
            (int(s) * ticks, int(e - s) * ticks, int(p), 80)
            for s, e, p in zip(start_steps, end_steps, pitches, strict=True)
        ],
        time_signature=(beats_per_bar, 4),
        key=key_signature(*key),
        qpm=tempo,
    )
    return Transcription(
        onsets=onsets,
        offsets=offsets,
        pitches=pitches,
        score=score,
        tempo=tempo,
        time_signature=(beats_per_bar, 4),
        key=key,
        tuning=tuning,
        beats=beats,
        steps_per_quarter=spq,
        origin_step=int(origin),
        details={
            "voiced_share": float(voiced_share),
            "fundamental": float("nan") if fundamental is None else fundamental,
        },
    )


def transcribe_file(
    path: str | os.PathLike[str],
    *,
    tempo: float | None = None,
    steps_per_quarter: int = 4,
    progress: bool = False,
) -> Transcription:
    """:func:`transcribe` of the take in ``path`` (WAV, FLAC, OGG, MP3, or a browser's WebM);
    :class:`ReadError` naming the file for an unreadable file or a bad take. ``progress``: a
    line on standard error before a take longer than 15 s (it takes a second per 6 s or so)."""
    import sys

    from continuo.io.audio import read_audio

    config = TranscriptionConfig(tempo=tempo, steps_per_quarter=steps_per_quarter)
    audio = read_audio(path)
    if progress and audio.duration > 15.0:
        print(
            f"continuo: transcribing {path} ({audio.duration:.0f} s)…", file=sys.stderr, flush=True
        )
    return transcribe(audio, config, name=str(path))


def key_signature(tonic: int, mode: int) -> tuple[int, int]:
    """``(sharps, mode)`` of a key as MIDI writes it, sharps in -5..6 (F# major has 6, Gb none)."""
    major = (tonic + 3 * mode) % 12  # the relative major's tonic
    sharps = (7 * major) % 12
    return (sharps - 12 if sharps > 6 else sharps), mode


def estimate_meter(starts: np.ndarray, ends: np.ndarray, steps_per_quarter: int) -> tuple[int, int]:
    """``(beats per bar, phase in beats)`` of notes on a grid: 4 (duple) or 3 (triple).

    Each note accents the beat it starts on by its length (long notes and notes on strong beats
    go together in tonal melodies; after Lerdahl and Jackendoff's metrical preference rules,
    *A Generative Theory of Tonal Music*, MIT Press 1983, MPR 5). For ``m`` in 3 and 4 and every
    phase, ``score = mean accent on the bar's first beat - mean accent on the other beats``; the
    best ``(m, phase)`` wins, triple needing a clear margin (duple meters are the more common).
    """
    accent = np.zeros(int(ends.max()) // steps_per_quarter + 4)
    on_beat = starts % steps_per_quarter == 0
    np.add.at(accent, starts[on_beat] // steps_per_quarter, (ends - starts)[on_beat] + 1.0)
    best: dict[int, tuple[float, int]] = {}
    for beats in (3, 4):
        for phase in range(beats):
            strong = accent[phase::beats].mean()
            weak = np.delete(accent, np.arange(phase, len(accent), beats)).mean()
            best[beats] = max(best.get(beats, (-np.inf, 0)), (strong - weak, phase))
    margin = 0.1 * float(accent.mean())  # equal notes everywhere say nothing: duple
    beats = 3 if best[3][0] > max(1.15 * best[4][0], best[4][0] + margin) else 4
    return beats, best[beats][1]


# -- steps ---------------------------------------------------------------------------------------
def _frame_rms(y: np.ndarray, hop: int) -> np.ndarray:
    import librosa

    return librosa.feature.rms(y=y, frame_length=1024, hop_length=hop)[0]


def _attacks(power: np.ndarray, sr: int, hop: int, rms: np.ndarray) -> np.ndarray:
    """Frames where a note is struck again: SuperFlux onsets (S. Böck and G. Widmer, "Maximum
    filter vibrato suppression for onset detection", DAFx 2013; ``librosa.onset.onset_strength``
    with ``max_size``), kept where the level rises from a dip (the loudest of the 100 ms after
    is :data:`ATTACK_RISE` times the quietest of the 80 ms before and 30 ms after), so that
    vibrato and tremolo do not split a held note. ``power``: the take's power spectrogram
    (2,048-point frames)."""
    import librosa

    mel = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=138, fmin=27.5, fmax=sr / 2)
    envelope = librosa.onset.onset_strength(
        S=librosa.power_to_db(mel), sr=sr, hop_length=hop, lag=2, max_size=3
    )
    frames = librosa.onset.onset_detect(
        onset_envelope=envelope, sr=sr, hop_length=hop, units="frames", backtrack=False
    )
    kept = [
        f
        for f in frames
        if 8 <= f < len(rms) - 10 and rms[f : f + 10].max() > ATTACK_RISE * rms[f - 8 : f + 3].min()
    ]
    return np.asarray(kept, dtype=np.int64)


def _tuning(midi: np.ndarray, voiced: np.ndarray) -> float:
    """The take's offset from equal temperament, in semitones: the circular mean of the
    deviations from the nearest semitone of the pitch averaged over 190 ms (about one cycle of
    vibrato, whose extremes would otherwise dominate), on steady frames only (the pitch within a
    third of a semitone of that average)."""
    from scipy.ndimage import uniform_filter1d

    if not voiced.any():
        return 0.0
    values = np.where(voiced, np.nan_to_num(midi), 0.0)
    weight = uniform_filter1d(voiced.astype(float), 19, mode="constant")
    mean = uniform_filter1d(values, 19, mode="constant") / np.maximum(weight, 1e-9)
    square = uniform_filter1d(values**2, 19, mode="constant") / np.maximum(weight, 1e-9)
    spread = np.sqrt(np.maximum(square - mean**2, 0.0))
    steady = voiced & (weight > 0.99) & (spread < 0.35)
    if steady.sum() < 10:
        steady = voiced
        mean = np.nan_to_num(midi)
    return float(np.angle(np.mean(np.exp(2j * np.pi * mean[steady]))) / (2 * np.pi))


def _fundamental_level(
    power: np.ndarray, sr: int, f0: np.ndarray, voiced: np.ndarray
) -> float | None:
    """Median, over voiced frames with f0 of at least 110 Hz, of the power within 60 cents of
    f0 over the power of the frame's strongest harmonic (1 to 8); ``None`` when fewer than a
    fifth of the voiced frames are that high (lower fundamentals are lost by small microphones).

    One voice has its fundamental (0.17 to 0.7 for TimGM6mb's choir, flute and trumpet, 0.3 for
    vocadito's singer); two voices a fifth or a third apart make pYIN report their common
    subharmonic, which has no power of its own (0.0). ``power``: the take's power spectrogram
    (2,048-point frames).
    """
    import librosa

    frames = np.flatnonzero(voiced & (np.nan_to_num(f0) >= 110.0))
    if len(frames) < 0.2 * max(int(voiced.sum()), 1):
        return None
    frames = frames[frames < power.shape[1]]
    freqs = librosa.fft_frequencies(sr=sr, n_fft=2048)[1:]
    power = power[1:]
    ratio = freqs[None, :] / f0[frames][:, None]
    harmonic = np.round(ratio)
    near = (
        (harmonic >= 1)
        & (harmonic <= 8)
        & (np.abs(1200 * np.log2(ratio / np.maximum(harmonic, 1))) < 60)
    )
    p = power[:, frames].T * near
    levels = np.stack([(p * (harmonic == k)).sum(axis=1) for k in range(1, 9)], axis=1)
    return float(np.median(levels[:, 0] / np.maximum(levels.max(axis=1), 1e-12)))


def _segment(
    midi: np.ndarray,
    voiced: np.ndarray,
    attacks: np.ndarray,
    rms: np.ndarray,
    *,
    min_frames: int,
) -> list[tuple[int, int, int]]:
    """``(start frame, end frame, pitch)`` of each note.

    Each voiced run is labelled with semitones by Viterbi decoding (:func:`_semitone_path`:
    a frame costs its squared distance from the semitone, a change of semitone costs
    :data:`CHANGE_COST`), so vibrato and drift stay inside one note and a held step of a
    semitone or more starts the next. A run is split again at attacks inside one semitone (a
    repeated note struck again) where the level has dipped. A first piece shorter than
    :data:`SCOOP_FRAMES` and within 2 semitones of the next is the next note's scoop.
    """
    attack = np.zeros(len(midi), dtype=bool)
    attack[attacks[attacks < len(midi)]] = True
    edges = np.flatnonzero(np.diff(np.r_[0, voiced.astype(np.int8), 0]))
    notes: list[tuple[int, int, int]] = []
    for run_start, run_end in zip(edges[::2], edges[1::2], strict=True):
        path = _semitone_path(midi[run_start:run_end])
        changes = np.flatnonzero(np.diff(path)) + 1
        pieces = [0, *changes.tolist(), run_end - run_start]
        run: list[tuple[int, int, int]] = []
        for a, b in itertools.pairwise(pieces):
            start = run_start + a
            pitch = int(path[a])
            scoop = run and start - run[-1][0] < SCOOP_FRAMES and abs(pitch - run[-1][2]) <= 2
            if scoop and not attack[start - 1 : start + 2].any():
                start = run.pop()[0]  # the piece before was this note's scoop
            for i in range(start + min_frames, run_start + b - min_frames):
                struck = attack[i] and rms[i - 3 : i].min() < ATTACK_DIP * rms[start:i].max()
                if struck and i - start >= 2 * min_frames:
                    run.append((start, i, pitch))
                    start = i
            run.append((start, run_start + b, pitch))
        notes.extend(note for note in run if note[1] - note[0] >= min_frames)
    return notes


def _semitone_path(midi: np.ndarray) -> np.ndarray:
    """The semitone of every frame of a voiced run (``midi`` in fractional MIDI pitch), by
    Viterbi over the semitones the run comes near: cost ``min((x - s)^2 / 0.25, 8)`` per frame
    and :data:`CHANGE_COST` per change."""
    low, high = int(np.floor(midi.min())) - 1, int(np.ceil(midi.max())) + 1
    states = np.arange(low, high + 1)
    cost = np.minimum((midi[:, None] - states[None, :]) ** 2 / 0.25, 8.0)
    total = cost[0].copy()
    back = np.zeros(cost.shape, dtype=np.int64)
    for t in range(1, len(midi)):
        best = int(np.argmin(total))
        switch = total[best] + CHANGE_COST
        stay = total <= switch
        back[t] = np.where(stay, np.arange(len(states)), best)
        total = np.minimum(total, switch) + cost[t]
    path = np.empty(len(midi), dtype=np.int64)
    path[-1] = int(np.argmin(total))
    for t in range(len(midi) - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return states[path]


def _beats(onsets: np.ndarray, config: TranscriptionConfig, *, duration: float) -> np.ndarray:
    """Beat times (seconds) covering the take: from ``config.tempo`` starting at the first
    onset, else tracked (``librosa.beat.beat_track``, tempo prior around 110) on an impulse at
    every note onset (equal impulses, not weighted by note length: see decision 0016)."""
    if config.tempo is not None:
        period = 60.0 / float(config.tempo)
        return onsets[0] + period * np.arange(-1, int((duration - onsets[0]) / period) + 3)
    import librosa

    rate = 100.0
    envelope = np.zeros(int(duration * rate) + 2)
    np.add.at(envelope, np.round(onsets * rate).astype(np.int64), 1.0)
    tempo, beats = librosa.beat.beat_track(
        onset_envelope=envelope, sr=int(rate), hop_length=1, start_bpm=110.0, units="time"
    )
    beats = np.asarray(beats, dtype=float)
    if len(beats) < 2:
        period = 60.0 / float(np.atleast_1d(tempo)[0] or 100.0)
        beats = onsets[0] + period * np.arange(0, int(duration / period) + 2)
    period = float(np.median(np.diff(beats)))
    before = beats[0] - period * np.arange(int(beats[0] / period) + 2, 0, -1)
    after = beats[-1] + period * np.arange(1, int((duration - beats[-1]) / period) + 3)
    return np.concatenate([before, beats, after])


def _beat_position(times: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """``times`` in beats from ``beats[0]``, linear between beats."""
    return np.interp(times, beats, np.arange(len(beats), dtype=float))
