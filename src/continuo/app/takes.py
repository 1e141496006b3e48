"""Sing or play a seed on the Melody page: record a take (or upload one), see and correct its
transcription, and hear the take followed by its continuation in the take's own sound.

The transcription (:func:`continuo.audio.transcription.transcribe`) runs once per new take; its
seed text fills an editable box, so a wrong note is fixed by typing. The seed given to the model
is that text, with the take's tempo and meter.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

import streamlit as st

from continuo.app.common import job_folder, plain, run_job, save_upload
from continuo.errors import ContinuoError, ReadError

__all__ = [
    "TAKE_SUFFIXES",
    "TAKE_TEXT_KEY",
    "Take",
    "take_section",
    "take_seed",
    "take_then_continuation",
    "transcribe_upload",
]

#: Takes this page reads: a recording, or what a browser records.
TAKE_SUFFIXES = {
    ".wav": "WAV",
    ".flac": "FLAC",
    ".ogg": "OGG",
    ".mp3": "MP3",
    ".webm": "WebM",
    ".m4a": "M4A",
}
TAKE_KEY = "melody-take"
TAKE_TEXT_KEY = "melody-take-text"
FAILED_KEY = "melody-take-failed"


@dataclass(frozen=True)
class Take:
    """A transcribed take: its name, digest, audio, transcription, and the piano roll of it."""

    name: str
    digest: str
    audio: Any  # continuo.io.audio.Audio
    transcription: Any  # continuo.audio.transcription.Transcription
    png: bytes


def transcribe_upload(upload: Any) -> Take:
    """Read and transcribe an uploaded or recorded take; errors name the user's file."""
    from continuo.app.compose import pianoroll_png
    from continuo.audio.transcription import transcribe
    from continuo.io.audio import read_audio

    name = str(getattr(upload, "name", "") or "recording.wav")
    data = upload.getvalue()
    with job_folder() as folder:
        path = save_upload(upload, folder, TAKE_SUFFIXES)
        try:
            audio = read_audio(path)
            heard = transcribe(audio, name=name)
        except ContinuoError as error:
            raise ReadError(name, str(error).split(": ", 1)[-1]) from None
    png = pianoroll_png(heard.score, 0, f"{name}: {heard.describe()}")
    return Take(name, hashlib.blake2b(data, digest_size=12).hexdigest(), audio, heard, png)


def take_seed(take: Take, text: str) -> Any:
    """The seed score: ``text`` (the transcription, perhaps corrected) with the take's tempo and
    time signature."""
    import symusic

    from continuo.codecs.melody import melody_from_text

    score = melody_from_text(text, steps_per_quarter=take.transcription.steps_per_quarter)
    beats, unit = take.transcription.time_signature
    score.tempos.append(symusic.Tempo(0, float(take.transcription.tempo)))
    score.time_signatures.append(symusic.TimeSignature(0, beats, unit))
    return score


def take_then_continuation(take: Take, continuation: Any) -> bytes:
    """WAV bytes: the take, then the continuation's new notes played from the take's own notes
    (the sampler of the ``melody`` extension method)."""
    import soundfile

    from continuo.audio.melody import new_notes, take_then_notes

    notes = new_notes(take.transcription, continuation.score, continuation.seed_end)
    sr = take.audio.sample_rate
    end = max([take.audio.duration, *(b for _, b, _ in notes)]) + 0.5
    out, _ = take_then_notes(take.audio, take.transcription, notes, round(end * sr))
    buffer = io.BytesIO()
    soundfile.write(buffer, out, sr, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def take_section() -> Take | None:
    """Draw the recorder, the upload and the transcription; the current take (or None)."""
    recorded = st.audio_input("Record a take", key="melody-recorder")
    uploaded = st.file_uploader(
        "…or upload one",
        type=[suffix.lstrip(".") for suffix in TAKE_SUFFIXES],
        key="melody-take-upload",
        help="one voice or instrument: singing, humming, whistling, a flute, a trumpet",
    )
    source = recorded if recorded is not None else uploaded
    take: Take | None = st.session_state.get(TAKE_KEY)
    if source is not None:
        digest = hashlib.blake2b(source.getvalue(), digest_size=12).hexdigest()
        failed = st.session_state.get(FAILED_KEY)
        if (take is None or take.digest != digest) and failed != digest:
            with st.spinner("Listening…"):
                take = run_job(transcribe_upload, source)
            st.session_state[TAKE_KEY] = take
            if take is None:
                st.session_state[FAILED_KEY] = digest  # said once; a new take tries again
            else:
                st.session_state[TAKE_TEXT_KEY] = take.transcription.seed_text()
    if take is None:
        st.caption("Sing, hum, whistle or play a tune of a few seconds, one note at a time.")
        return None
    st.markdown(f"Heard in **{plain(take.name)}**: {take.transcription.describe()}")
    st.image(take.png, width="stretch")
    st.text_input(
        "Seed melody (from the take; correct any note)",
        key=TAKE_TEXT_KEY,
        help="one token a 16th note: MIDI pitch or name, _ holds, r rests",
    )
    return take
