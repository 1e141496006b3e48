"""Scores to sound and pictures: WAV through a General MIDI SoundFont, PNG piano rolls.

Audio is rendered by symusic's built-in synthesizer (symusic 0.5.8; 0.6.0's ``render`` is broken,
see docs/decisions/0007-rendering.md) with a SoundFont that is already on disk: no download ever
happens at run time. :func:`find_soundfont` looks, in order, at

1. the ``soundfont=`` argument,
2. the ``CONTINUO_SOUNDFONT`` environment variable,
3. ``TimGM6mb.sf2``, the 6 MB General MIDI SoundFont bundled inside the ``pretty_midi`` package
   (a dependency, so it is always there and output is the same on every machine),
4. a Debian/Ubuntu SoundFont (``/usr/share/sounds/sf2/FluidR3_GM.sf2`` and friends).

General MIDI conventions hold: a track's ``program`` picks the instrument (program 0, the default
of every codec, is the acoustic grand piano) and ``is_drum`` tracks play on MIDI channel 10, the
GM percussion kit. Files are written by :func:`continuo.atomic.atomic_file` (temporary file beside
the target, then a rename), so an interrupted run never leaves a half-written WAV or PNG behind.
"""

from __future__ import annotations

import io
import os
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import symusic

from continuo.atomic import atomic_file
from continuo.errors import ConfigError, ContinuoError
from continuo.io.soundfont import in_tune_soundfont
from continuo.score import Score

__all__ = [
    "DEFAULT_SAMPLE_RATE",
    "SOUNDFONT_ENV",
    "find_soundfont",
    "pianoroll_png_bytes",
    "to_waveform",
    "wav_bytes",
    "write_pianoroll_png",
    "write_wav",
]

DEFAULT_SAMPLE_RATE = 22050
#: Environment variable naming a SoundFont file to use instead of the bundled one.
SOUNDFONT_ENV = "CONTINUO_SOUNDFONT"
#: Seconds of sound kept after the last note ends, so that releases ring out instead of clicking.
DEFAULT_TAIL = 1.0
#: Peak level of normalised audio: -1 dBFS, a little headroom below full scale.
PEAK_LEVEL = 10.0 ** (-1.0 / 20.0)
#: Audio whose peak is below this is treated as silence and never amplified.
SILENCE_FLOOR = 1e-4
#: Length of the linear fade applied to the very end of the audio (seconds).
FADE_SECONDS = 0.02

_DEBIAN_DIRS = ("/usr/share/sounds/sf2", "/usr/share/soundfonts", "/usr/share/sounds/sf3")
_DEBIAN_PREFERRED = ("FluidR3_GM.sf2", "default-GM.sf2", "TimGM6mb.sf2", "FluidR3_GM.sf3")
_RENDER_LOCK = threading.Lock()


# -- SoundFont ---------------------------------------------------------------------------------
def find_soundfont(soundfont: str | os.PathLike[str] | None = None) -> Path:
    """The General MIDI SoundFont to render with (see the module docstring for the search order).

    Raises :class:`ConfigError` when ``soundfont`` (or ``$CONTINUO_SOUNDFONT``) names a missing
    file, and :class:`ContinuoError` when no SoundFont is found anywhere.
    """
    if soundfont is not None:
        return _existing_soundfont(Path(soundfont), "soundfont")
    from_env = os.environ.get(SOUNDFONT_ENV)
    if from_env:
        return _existing_soundfont(Path(from_env), f"${SOUNDFONT_ENV}")
    bundled = _pretty_midi_soundfont()
    if bundled is not None:
        return bundled
    for directory in map(Path, _DEBIAN_DIRS):
        if not directory.is_dir():
            continue
        for name in _DEBIAN_PREFERRED:
            if (directory / name).is_file():
                return directory / name
        found = sorted([*directory.glob("*.sf2"), *directory.glob("*.sf3")])
        if found:
            return found[0]
    raise ContinuoError(
        "no General MIDI SoundFont found (pretty_midi's TimGM6mb.sf2 is missing and "
        f"{', '.join(_DEBIAN_DIRS)} hold none): pass soundfont=PATH or set {SOUNDFONT_ENV}"
    )


def _existing_soundfont(path: Path, where: str) -> Path:
    if not path.is_file():
        raise ConfigError(f"{path}: no such SoundFont file (given by {where})")
    return path


def _pretty_midi_soundfont() -> Path | None:
    try:
        candidate = resources.files("pretty_midi").joinpath("TimGM6mb.sf2")
    except ModuleNotFoundError:
        return None
    path = Path(str(candidate))
    return path if path.is_file() else None


@lru_cache(maxsize=4)
def _synthesizer(path: str, sample_rate: int) -> symusic.core.Synthesizer:
    # symusic.Synthesizer with an explicit path never downloads; quality 0 is its default.
    return symusic.Synthesizer(path, sample_rate=sample_rate, quality=0)


# -- audio -------------------------------------------------------------------------------------
def to_waveform(
    score: Score,
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    soundfont: str | os.PathLike[str] | None = None,
    stereo: bool = True,
    tail: float = DEFAULT_TAIL,
    normalize: bool = True,
) -> np.ndarray:
    """Render ``score`` to audio with a General MIDI SoundFont.

    Returns float32 of shape ``(channels, samples)``: channels is 2 (``stereo``) or 1, and
    samples is ``round((end + tail) * sample_rate)`` where ``end`` is when the last note (or
    pedal/controller event) of any track ends, in seconds under the score's tempo map (120 qpm
    when it has none). An empty score gives ``tail`` seconds of silence.

    ``normalize`` scales the peak to -1 dBFS; audio quieter than -80 dBFS is left alone (never
    blown up), and without ``normalize`` audio is only scaled down if it would clip. The last
    20 ms fade out linearly so that a cut release does not click.
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int):
        raise ConfigError(f"sample rate must be an integer number of Hz, got {sample_rate!r}")
    if not 8000 <= sample_rate <= 192000:
        raise ConfigError(f"sample rate must be between 8000 and 192000 Hz, got {sample_rate}")
    if not (np.isfinite(tail) and tail >= 0):
        raise ConfigError(f"tail must be a non-negative number of seconds, got {tail!r}")
    channels = 2 if stereo else 1
    seconds = score.to("second") if score.ttype != symusic.TimeUnit.second else score.copy()
    sounding = [track for track in seconds.tracks if track.note_num() > 0]
    end = max((track.end() for track in sounding), default=0.0)
    n_samples = round((max(end, 0.0) + tail) * sample_rate)
    if not sounding:
        return np.zeros((channels, n_samples), dtype=np.float32)

    seconds.tracks = sounding
    # The synthesizer stops at the last event: a silent (velocity 0) note marks the end of the
    # tail so that releases ring out.
    marker = symusic.core.TrackSecond("continuo-tail", 0, False)
    marker.notes.append(symusic.core.NoteSecond(end + tail, 0.001, 0, 0))
    seconds.tracks.append(marker)
    synth = _synthesizer(str(in_tune_soundfont(find_soundfont(soundfont))), sample_rate)
    with _RENDER_LOCK:
        rendered = synth.render(seconds, stereo=stereo)
    audio = np.zeros((channels, n_samples), dtype=np.float32)
    rendered = np.nan_to_num(
        np.asarray(rendered, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0
    )
    length = min(n_samples, rendered.shape[1])
    audio[:, :length] = rendered[:channels, :length]

    fade = min(n_samples, round(FADE_SECONDS * sample_rate))
    if fade:
        audio[:, n_samples - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    peak = float(np.abs(audio).max(initial=0.0))
    if (normalize and peak > SILENCE_FLOOR) or peak > PEAK_LEVEL:
        audio *= np.float32(PEAK_LEVEL / peak)
    return audio


def write_wav(
    score: Score,
    path: str | os.PathLike[str],
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    soundfont: str | os.PathLike[str] | None = None,
    stereo: bool = True,
    tail: float = DEFAULT_TAIL,
) -> Path:
    """Render ``score`` (see :func:`to_waveform`) into a 16-bit PCM WAV file, atomically.

    Parent directories are created. Returns the path written.
    """
    data = wav_bytes(score, sample_rate=sample_rate, soundfont=soundfont, stereo=stereo, tail=tail)
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def wav_bytes(
    score: Score,
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    soundfont: str | os.PathLike[str] | None = None,
    stereo: bool = True,
    tail: float = DEFAULT_TAIL,
) -> bytes:
    """``score`` rendered (see :func:`to_waveform`) as the bytes of a 16-bit PCM WAV file."""
    import soundfile

    audio = to_waveform(
        score, sample_rate=sample_rate, soundfont=soundfont, stereo=stereo, tail=tail
    )
    buffer = io.BytesIO()
    soundfile.write(buffer, audio.T, sample_rate, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


# -- piano roll --------------------------------------------------------------------------------
def write_pianoroll_png(
    score: Score,
    path: str | os.PathLike[str],
    *,
    seed_end_tick: int | None = None,
    title: str | None = None,
    dpi: int = 110,
) -> Path:
    """Draw ``score`` as a piano roll into a PNG file, atomically.

    Notes starting before ``seed_end_tick`` are drawn as the seed, the rest as the continuation,
    with a dashed line at the seed's end; see :func:`continuo.io.pianoroll_plot.pianoroll_figure`.
    Returns the path written.
    """
    data = pianoroll_png_bytes(score, seed_end_tick=seed_end_tick, title=title, dpi=dpi)
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def pianoroll_png_bytes(
    score: Score, *, seed_end_tick: int | None = None, title: str | None = None, dpi: int = 110
) -> bytes:
    """``score``'s piano roll (as :func:`write_pianoroll_png` draws it) as the bytes of a PNG."""
    from continuo.io.pianoroll_plot import pianoroll_figure

    figure = pianoroll_figure(score, seed_end_tick=seed_end_tick, title=title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
