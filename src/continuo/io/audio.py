"""Audio files <-> waveforms, with soundfile (libsndfile 1.2.2 reads and writes WAV, FLAC, OGG, MP3).

What a browser records in a container libsndfile does not read (WebM, MP4/M4A: Opus or AAC) is
decoded by PyAV, the FFmpeg binding whose wheels carry FFmpeg's libraries
(docs/decisions/0016-transcription.md).

Waveforms are ``float32`` arrays of shape ``(n_samples, n_channels)`` in [-1, 1], always 2-D, even
for mono. Every way a file can be bad (missing, not audio, truncated, empty, an odd sample rate,
NaN samples) raises :class:`~continuo.errors.ReadError` naming the file; :func:`write_audio` never
leaves a partial file behind: it writes a temporary file beside the target and renames it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from continuo.atomic import atomic_file
from continuo.errors import ConfigError, ReadError

__all__ = [
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "WRITABLE_FORMATS",
    "Audio",
    "check_writable",
    "read_audio",
    "resample",
    "to_mono",
    "write_audio",
]

#: Containers read through PyAV instead of libsndfile.
AV_FORMATS = (".webm", ".weba", ".m4a", ".mp4", ".aac")
MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 192_000
#: Output extension -> (libsndfile format, subtype).
WRITABLE_FORMATS: dict[str, tuple[str, str]] = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}
_MP3_RATES = {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000}
_BLOCK = 65_536  # frames per write call (libsndfile's Vorbis encoder dislikes huge blocks)


@dataclass(frozen=True)
class Audio:
    """A waveform: ``samples`` of shape ``(n_samples, n_channels)``, float32, at ``sample_rate`` Hz.

    ``subtype`` is the source's libsndfile subtype (e.g. ``"PCM_24"``) when read from a file.
    """

    samples: np.ndarray
    sample_rate: int
    subtype: str | None = None

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.sample_rate


def read_audio(path: str | os.PathLike[str]) -> Audio:
    """Read a WAV/FLAC/OGG/MP3 file into an :class:`Audio` of shape ``(n_samples, n_channels)``.

    Raises :class:`ReadError` when the file is missing, not audio, truncated (fewer samples decode
    than its header declares), empty, NaN-laden, or at a sample rate outside 8–192 kHz.
    """
    path = Path(path)
    if not path.exists():
        raise ReadError(path, "no such file")
    if path.is_dir():
        raise ReadError(path, "is a directory, not an audio file")
    if path.suffix.lower() in AV_FORMATS:
        return _read_with_av(path)
    try:
        with _quiet_decoder():
            info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        raise ReadError(path, f"not a readable audio file ({_reason(error)})") from None
    if not MIN_SAMPLE_RATE <= info.samplerate <= MAX_SAMPLE_RATE:
        raise ReadError(
            path,
            f"sample rate {info.samplerate} Hz is outside {MIN_SAMPLE_RATE}–{MAX_SAMPLE_RATE} Hz",
        )
    try:
        with _quiet_decoder():
            samples, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        reason = f"cannot decode the audio, truncated or corrupt? ({_reason(error)})"
        raise ReadError(path, reason) from None
    if samples.shape[0] == 0:
        what = "no decodable audio (empty or truncated)" if info.frames else "no audio samples"
        raise ReadError(path, what)
    if info.frames > 0 and samples.shape[0] < 0.99 * info.frames:
        raise ReadError(
            path,
            f"truncated: its header declares {info.frames} samples but only "
            f"{samples.shape[0]} decode",
        )
    if not np.isfinite(samples).all():
        raise ReadError(path, "contains NaN or infinite samples")
    return Audio(np.ascontiguousarray(samples), int(sample_rate), info.subtype)


def _read_with_av(path: Path) -> Audio:
    """A WebM/MP4 file's first audio stream, decoded by PyAV (FFmpeg)."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            if stream is None:
                raise ReadError(path, "has no audio stream")
            chunks = [
                frame.to_ndarray().reshape(-1, frame.layout.nb_channels)
                if frame.format.is_packed
                else frame.to_ndarray().T
                for frame in container.decode(stream)
            ]
            rate = int(stream.rate or stream.codec_context.sample_rate)
    except av.error.FFmpegError as error:
        raise ReadError(path, f"not a readable audio file ({error.strerror or error})") from None
    if not chunks:
        raise ReadError(path, "no decodable audio (empty or truncated)")
    samples = np.concatenate(chunks).astype(np.float32)
    if np.issubdtype(chunks[0].dtype, np.integer):
        samples /= float(np.iinfo(chunks[0].dtype).max)
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise ReadError(
            path, f"sample rate {rate} Hz is outside {MIN_SAMPLE_RATE}–{MAX_SAMPLE_RATE} Hz"
        )
    if not np.isfinite(samples).all():
        raise ReadError(path, "contains NaN or infinite samples")
    return Audio(np.ascontiguousarray(samples), rate, None)


def write_audio(
    path: str | os.PathLike[str],
    samples: np.ndarray,
    sample_rate: int,
    *,
    subtype: str | None = None,
) -> Path:
    """Write ``samples`` (``(n_samples,)`` or ``(n_samples, n_channels)``) atomically.

    The format follows the extension (``.wav``, ``.flac``, ``.ogg``, ``.mp3``); ``subtype`` picks
    the bit depth for WAV/FLAC (``"PCM_16"`` when None). Samples are clipped to [-1, 1]. The data
    goes to a temporary file in the target's folder, renamed over the target only when complete.
    """
    path = Path(path)
    check_writable(path, sample_rate)
    ext = path.suffix.lower()
    fmt, default_subtype = WRITABLE_FORMATS[ext]
    if ext in (".wav", ".flac") and subtype in ("PCM_16", "PCM_24"):
        default_subtype = subtype
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[0] == 0:
        raise ConfigError(f"{path}: nothing to write (samples of shape {data.shape})")
    data = np.clip(np.nan_to_num(data), -1.0, 1.0)
    with (
        atomic_file(path) as tmp,
        sf.SoundFile(
            str(tmp),
            "w",
            samplerate=int(sample_rate),
            channels=data.shape[1],
            format=fmt,
            subtype=default_subtype,
        ) as out,
    ):
        for start in range(0, data.shape[0], _BLOCK):
            out.write(data[start : start + _BLOCK])
    return path


def check_writable(path: str | os.PathLike[str], sample_rate: int | None = None) -> None:
    """:class:`ConfigError` unless ``path``'s extension names a writable format (and, given a
    ``sample_rate``, that format can store it: MP3 takes only the MPEG rates up to 48 kHz)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in WRITABLE_FORMATS:
        raise ConfigError(
            f"{path}: cannot write '{ext or 'no extension'}' audio "
            f"(use one of {', '.join(WRITABLE_FORMATS)})"
        )
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a file name")
    if ext == ".mp3" and sample_rate is not None and sample_rate not in _MP3_RATES:
        raise ConfigError(f"{path}: MP3 cannot store {sample_rate} Hz audio; use .wav or .flac")


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average the channels of ``(n_samples, n_channels)`` into ``(n_samples,)`` float32."""
    samples = np.asarray(samples, dtype=np.float32)
    return samples if samples.ndim == 1 else samples.mean(axis=1, dtype=np.float32)


def resample(samples: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample along axis 0 (``(n,)`` or ``(n, channels)``) with librosa's soxr backend."""
    if orig_sr == target_sr:
        return np.asarray(samples, dtype=np.float32)
    import librosa  # imported late: librosa takes a second to import

    out = librosa.resample(
        np.asarray(samples, dtype=np.float32), orig_sr=orig_sr, target_sr=target_sr, axis=0
    )
    return out.astype(np.float32, copy=False)


@contextlib.contextmanager
def _quiet_decoder() -> Iterator[None]:
    """Silence what the decoders print while a file is read: libsndfile's mpg123 writes notes
    and warnings about a damaged MP3 (``Note: Trying to resync...``) straight to the process's
    standard error, and Python warnings may come too. :func:`read_audio` reports a bad file in
    one line of its own, so the decoder's chatter is dropped (file descriptor 2 points at
    ``/dev/null`` for the duration; where it cannot be redirected, nothing changes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            yield
            return
        try:
            with open(os.devnull, "wb") as devnull:
                os.dup2(devnull.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _reason(error: BaseException) -> str:
    """libsndfile's message without the 'Error opening <path>:' prefix that repeats the path."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if ": " in text and text.startswith("Error opening"):
        text = text.split(": ", 1)[1]
    return text.rstrip(".")
