"""The symbolic pages' shared half: model choice, sampling settings, and generating results.

:func:`generate_results` runs a :class:`~continuo.generation.Generator` (loaded once per process)
on a seed -- melody text, an uploaded score, or nothing -- and renders every variation to the
bytes the page shows: piano roll PNG, WAV, MIDI and MusicXML, rendered in memory (an uploaded
seed is saved in a job folder that is removed before it returns).
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from continuo.app import models_dir
from continuo.app.common import (
    SYMBOLIC_SUFFIXES,
    ScoreResult,
    UploadError,
    job_folder,
    save_upload,
)
from continuo.app.models import ModelInfo, discover_models, load_generator
from continuo.errors import ContinuoError, SeedError
from continuo.score import Score

__all__ = ["Settings", "choose_model", "generate_results", "pianoroll_png", "settings_controls"]

MAX_VARIATIONS = 4
MAX_RNG_SEED = 2**31 - 1


@dataclass(frozen=True)
class Settings:
    """What to generate: ``bars`` of continuation, sampling, ``variations`` and the RNG seed
    (None: a fresh one each time, drawn by :func:`generate_results` and shown with the results);
    ``last_bars`` of a seed file (None: all of it)."""

    bars: int
    temperature: float
    top_p: float | None
    variations: int
    rng_seed: int | None = None
    last_bars: int | None = None


def choose_model(kind: str, key: str) -> ModelInfo | None:
    """A select box of the models of ``kind``; None (and nothing drawn) when there are none."""
    available = [info for info in discover_models(models_dir()) if info.kind == kind]
    if not available:
        return None
    by_label = {info.label: info for info in available}
    label = st.selectbox("Model", list(by_label), key=key)
    info = by_label.get(str(label), available[0])
    st.caption(info.description)
    return info


def settings_controls(key: str, *, default_bars: int = 8, max_bars: int = 32) -> Settings:
    """Length, temperature, top-p, number of variations and RNG seed, in two rows."""
    first = st.columns(3)
    bars = first[0].slider(
        "Length (bars)", 1, max_bars, default_bars, key=f"{key}-bars", help="of continuation"
    )
    temperature = first[1].slider(
        "Temperature",
        0.1,
        2.0,
        1.0,
        0.05,
        key=f"{key}-temperature",
        help="below 1: safer choices; above 1: more adventurous",
    )
    top_p = first[2].slider(
        "Top-p",
        0.5,
        1.0,
        0.95,
        0.01,
        key=f"{key}-top-p",
        help="sample only from the most likely tokens holding this much probability (1: all)",
    )
    second = st.columns(3)
    variations = second[0].number_input(
        "Variations", 1, MAX_VARIATIONS, 2, 1, key=f"{key}-variations"
    )
    rng_seed = second[1].number_input(
        "Random seed",
        0,
        MAX_RNG_SEED,
        None,
        1,
        key=f"{key}-rng-seed",
        placeholder="new each time",
        help="empty: new music each time, with its seed shown beside the result; type that seed "
        "here (with the same settings) to get the same music again",
    )
    return Settings(
        bars=int(bars),
        temperature=float(temperature),
        top_p=None if float(top_p) >= 1.0 else float(top_p),
        variations=int(variations),
        rng_seed=None if rng_seed is None else int(rng_seed),
    )


def _seed_score(upload: Any, folder: Path, last_bars: int | None, suffixes: dict[str, str]) -> Any:
    """The uploaded seed as a score; errors name the user's file, not the saved copy."""
    from continuo.generation.seeds import seed_from_file

    path = save_upload(upload, folder, suffixes)
    try:
        return seed_from_file(path, last_bars=last_bars)
    except ContinuoError as error:
        raise UploadError(str(error).replace(str(path), str(upload.name))) from None


def _seed_note_count(score: Any, seed_end: int) -> int:
    return sum(1 for track in score.tracks for note in track.notes if note.time < seed_end)


def pianoroll_png(score: Any, seed_end: int, title: str) -> bytes:
    """The piano roll of ``score`` (seed and continuation in their colours) sized for the page:
    10 inches wide at 100 dpi, 3.2 to 4.8 inches high."""
    from continuo.io.pianoroll_plot import pianoroll_figure

    figure = pianoroll_figure(score, seed_end_tick=seed_end or None, title=title)
    _, height = figure.get_size_inches()
    figure.set_size_inches(10.0, min(max(height, 3.2), 4.8))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def fresh_rng_seed() -> int:
    """A random seed for one Generate, in the range the seed box takes."""
    return secrets.randbelow(MAX_RNG_SEED + 1)


def _result(
    continuation: Any, name: str, rng_seed: int, take_audio: Callable[[Any], bytes] | None = None
) -> ScoreResult:
    """One continuation as the bytes the page shows (:meth:`Continuation.render
    <continuo.generation.Continuation.render>`, with a piano roll sized for the page)."""
    score = continuation.score
    files = continuation.render(name, formats=("midi", "musicxml", "wav"))
    return ScoreResult(
        name=name,
        png=pianoroll_png(score, continuation.seed_end, name),
        wav=files["wav"],
        midi=files["midi"],
        musicxml=files["musicxml"],
        notes=int(score.note_num()),
        seconds=float(score.to("second").end()),
        seed_notes=_seed_note_count(score, continuation.seed_end),
        rng_seed=rng_seed,
        take_wav=None if take_audio is None else take_audio(continuation),
    )


def generate_results(
    info: ModelInfo,
    seed: str | Any | None,
    settings: Settings,
    stem: str,
    suffixes: dict[str, str] = SYMBOLIC_SUFFIXES,
    take_audio: Callable[[Any], bytes] | None = None,
) -> list[ScoreResult]:
    """Continue ``seed`` (checked melody text, a score, an uploaded file, or None) with
    ``info``'s model; one :class:`ScoreResult` per variation. An uploaded file must have one of
    ``suffixes``. ``take_audio(continuation)``: the audio of a sung seed and its continuation.
    Shows a progress bar while it works."""
    progress = st.progress(0.0, text="Loading the model…")
    try:
        generator = load_generator(info.path)
        with job_folder() as folder:
            upload_name = None
            if seed is not None and not isinstance(seed, (str, Score)):
                progress.progress(0.1, text="Reading the seed file…")
                upload_name = str(seed.name)
                seed = _seed_score(seed, folder, settings.last_bars, suffixes)
            progress.progress(0.15, text="Writing music…")
            rng_seed = settings.rng_seed if settings.rng_seed is not None else fresh_rng_seed()
            try:
                continuations = generator.generate_continuation(
                    seed,
                    bars=settings.bars,
                    num_outputs=settings.variations,
                    temperature=settings.temperature,
                    top_p=settings.top_p,
                    rng_seed=rng_seed,
                )
            except SeedError as error:  # a seed the model cannot take: name the user's file
                if upload_name is None:
                    raise
                raise SeedError(str(error).replace("the seed score", upload_name, 1)) from None
            results = []
            for index, continuation in enumerate(continuations, 1):
                progress.progress(
                    0.3 + 0.7 * (index - 1) / len(continuations),
                    text=f"Rendering variation {index} of {len(continuations)}…",
                )
                results.append(_result(continuation, f"{stem}-{index}", rng_seed, take_audio))
        return results
    finally:
        progress.empty()
