"""The Audio page: extend an uploaded recording to a chosen duration.

``structure`` (always there) replays the recording's own beats along seamless jumps; ``melody``
(always there: the bundled ``folk`` model, or any melody model of the models folder) plays new
notes in the recording's own sound; ``neural`` (offered when the models folder holds an audio
model from ``continuo train-audio``) continues it with that model. The page says when each is
the right one (:data:`continuo.audio.extender.ADVICE`). The result keeps the upload's format (WAV, FLAC, OGG, MP3; WAV where MP3 cannot
store the sample rate) and is shown as a waveform with its splice points marked.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from continuo.app import models as kinds
from continuo.app import models_dir
from continuo.app.common import job_folder, plain, run_job, save_upload
from continuo.app.compose import fresh_rng_seed
from continuo.app.models import ModelInfo, discover_models, load_audio_model, load_generator
from continuo.audio.extender import ADVICE
from continuo.errors import ConfigError, ContinuoError

__all__ = ["AUDIO_SUFFIXES", "MAX_TARGET_S", "AudioResult", "extend_upload", "render"]

#: The recordings this page takes.
AUDIO_SUFFIXES = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3"}
#: The longest result the page makes, in seconds.
MAX_TARGET_S = 600.0
_MIME = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}
RESULT_KEY = "audio-result"
STRUCTURE, NEURAL, MELODY = "structure", "neural", "melody"


@dataclass(frozen=True)
class AudioResult:
    """An extended recording, as the bytes the page shows and offers for download."""

    file_name: str
    data: bytes
    mime: str
    png: bytes
    duration: float
    input_duration: float
    method: str
    ending: str
    splices: list[dict[str, Any]]


def _safe_stem(name: str) -> str:
    """A download name from the user's file name: letters, digits, ``-`` and ``_`` only."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(name).stem).strip("-")[:40]
    return stem or "recording"


def extend_upload(
    upload: Any,
    duration: float,
    method: str,
    model: ModelInfo | None = None,
    temperature: float = 0.3,
) -> AudioResult:
    """Extend the uploaded recording to ``duration`` seconds with ``method``; a progress bar
    shows the stages. Errors name the user's file, never the saved copy."""
    from continuo.app.plots import waveform_png
    from continuo.audio.extender import Extender
    from continuo.audio.extension import check_duration
    from continuo.io.audio import check_writable

    name = str(upload.name)
    if not 0 < duration <= MAX_TARGET_S:
        raise ConfigError(f"the target duration must be between 1 and {MAX_TARGET_S:g} seconds")
    check_duration(duration)
    if method in (NEURAL, MELODY) and model is None:
        raise ConfigError(f"the {method} method needs a model")
    progress = st.progress(0.0, text="Reading the recording…")
    try:
        with job_folder() as folder:
            path = save_upload(upload, folder, AUDIO_SUFFIXES)
            try:
                audio = Extender.read(path, name)
            except ContinuoError as error:
                raise ConfigError(str(error).replace(str(path), name)) from None
            suffix = path.suffix
            try:
                check_writable(folder / f"out{suffix}", audio.sample_rate)
            except ConfigError:
                suffix = ".wav"
            if method == NEURAL:
                progress.progress(0.1, text="Loading the model…")
                extender = Extender.load(
                    method, load_audio_model(model.path), temperature=temperature
                )
                progress.progress(0.2, text="Continuing the recording…")
            elif method == MELODY:
                progress.progress(0.1, text="Listening to the notes…")
                continuer = load_generator(model.path).note_continuer(
                    temperature=temperature, top_p=0.95, rng_seed=fresh_rng_seed()
                )
                extender = Extender.load(method, continuer)
            else:
                extender = Extender.load(method)
                progress.progress(0.15, text="Finding beats and seamless jumps…")
            result = extender.extend(audio, duration, name=name, progress=False)
            progress.progress(0.8, text="Writing the result…")
            out = extender.write(result, folder / f"extended{suffix}", like=audio)
            progress.progress(0.9, text="Drawing the waveform…")
            generated = (
                result.splices[0].output_time
                if method in (NEURAL, MELODY) and result.splices
                else None
            )
            png = waveform_png(
                result.samples,
                result.sample_rate,
                [splice.output_time for splice in result.splices],
                generated_from=generated,
            )
            return AudioResult(
                file_name=f"{_safe_stem(name)}-extended{suffix}",
                data=out.read_bytes(),
                mime=_MIME[suffix],
                png=png,
                duration=result.duration,
                input_duration=result.input_duration,
                method=result.method,
                ending=result.ending,
                splices=[splice.to_json() for splice in result.splices],
            )
    finally:
        progress.empty()


def _describe_upload(upload: Any) -> str | None:
    """``12.3 s · 44,100 Hz · stereo`` for a readable upload, else None (Extend says why)."""
    import soundfile

    try:
        info = soundfile.info(io.BytesIO(upload.getvalue()))
    except Exception:
        return None
    channels = {1: "mono", 2: "stereo"}.get(info.channels, f"{info.channels} channels")
    return f"{info.duration:.1f} s · {info.samplerate:,} Hz · {channels}"


def _show(result: AudioResult) -> None:
    from continuo.audio.extender import ending_label

    st.subheader("Result", divider="gray")
    st.markdown(
        f"**{result.duration:.1f} s** from {result.input_duration:.1f} s by *{result.method}* · "
        f"{len(result.splices)} splice point{'s' if len(result.splices) != 1 else ''} · ends "
        f"with {ending_label(result.ending)}"
    )
    st.image(result.png, width="stretch")
    st.audio(result.data, format=result.mime)
    st.download_button(
        plain(result.file_name),
        icon=":material/download:",
        data=result.data,
        file_name=result.file_name,
        mime=result.mime,
        key="audio-download",
        on_click="ignore",
    )
    if result.splices:
        with st.expander("Splice points"):
            rows = ["| at (s) | jumps from (s) | to (s) |", "|---:|---:|---:|"]
            for splice in result.splices[:100]:
                to = "generated" if splice["source_to"] is None else f"{splice['source_to']:.2f}"
                rows.append(f"| {splice['output_time']:.2f} | {splice['source_from']:.2f} | {to} |")
            st.markdown("\n".join(rows))


def render() -> None:
    """Draw the page."""
    st.title(":material/graphic_eq: Audio")
    st.caption(
        "Make a recording longer (or shorter): *structure* replays its own beats along seamless "
        "jumps; *melody* plays new notes in the recording's own sound; *neural* continues it "
        "with a trained audio model."
    )
    upload = st.file_uploader(
        "Recording", type=[suffix.lstrip(".") for suffix in AUDIO_SUFFIXES], key="audio-upload"
    )
    if upload is not None:
        described = _describe_upload(upload)
        if described:
            st.caption(f"{plain(upload.name)}: {described}")
    found = discover_models(models_dir())
    audio_models = [info for info in found if info.kind == kinds.AUDIO]
    melody_models = [info for info in found if info.kind == kinds.MELODY]
    methods = [STRUCTURE, *([MELODY] if melody_models else []), *([NEURAL] if audio_models else [])]
    left, right = st.columns(2)
    duration = left.number_input(
        "Target duration (seconds)", 1.0, MAX_TARGET_S, 60.0, 1.0, key="audio-duration"
    )
    method = right.radio("Method", methods, horizontal=True, key="audio-method")
    st.caption(f"*{method}*: for {ADVICE[method]}.")
    model, temperature = None, 0.3
    if method == MELODY:
        by_label = {info.label: info for info in melody_models}
        model = by_label[st.selectbox("Melody model", list(by_label), key="audio-melody-model")]
        temperature = st.slider("Temperature", 0.1, 1.5, 1.0, 0.05, key="audio-melody-temp")
    if not audio_models and method != MELODY:
        st.caption(
            "The *neural* method needs an audio model: `continuo train-audio`, then "
            "`continuo app --models RUNS_DIR`."
        )
    elif method == NEURAL:
        by_label = {info.label: info for info in audio_models}
        model = by_label[st.selectbox("Audio model", list(by_label), key="audio-model")]
        st.caption(model.description)
        temperature = st.slider("Temperature", 0.0, 1.0, 0.3, 0.05, key="audio-temperature")
    if st.button("Extend", type="primary", key="audio-extend", icon=":material/fast_forward:"):
        if upload is None:
            st.error("Choose a recording to extend first.", icon=":material/error:")
        else:
            with st.spinner("Extending…"):
                result = run_job(extend_upload, upload, float(duration), method, model, temperature)
            if result is not None:
                st.session_state[RESULT_KEY] = result
    result = st.session_state.get(RESULT_KEY)
    if result is not None:
        _show(result)
