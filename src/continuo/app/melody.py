"""The Melody page: continue a seed melody with a melody model.

The seed is melody text (typed, or clicked on the on-screen keyboard), a sung or played take
(recorded in the browser or uploaded, transcribed, and shown as editable text: see
:mod:`continuo.app.takes`), an uploaded MIDI, kern, ABC or MusicXML file, or nothing. Text is parsed here first, so that only valid melody syntax
(which has no ``.`` and so can never name a file) reaches the generator.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from continuo.app.common import SYMBOLIC_SUFFIXES, run_job, show_score_results
from continuo.app.compose import choose_model, generate_results, settings_controls
from continuo.app.keyboard import keyboard
from continuo.app.models import MELODY
from continuo.app.takes import TAKE_TEXT_KEY, take_section, take_seed, take_then_continuation
from continuo.errors import SeedError

__all__ = ["DEFAULT_SEED", "check_text_seed", "render"]

DEFAULT_SEED = "67 _ 67 _ 65 64 _ r 62 _ 64 _ 65 _ _ _"
TEXT_KEY = "melody-seed-text"
#: A copy of the seed text that outlives the text box: Streamlit forgets a widget's value after
#: any run that does not draw it (another seed source, another page).
KEPT_TEXT_KEY = "melody-seed-text-kept"
RESULTS_KEY = "melody-results"
SOURCES = ("Text or keyboard", "Sing or play", "File", "Nothing")


def check_text_seed(text: str) -> str:
    """``text`` if it is melody syntax with at least one token, else :class:`SeedError`."""
    from continuo.codecs.melody import parse_melody_text

    text = " ".join(str(text).split())
    if not text:
        raise SeedError("the seed is empty: type one, click notes on the keyboard, or pick Nothing")
    if "." in text:
        raise SeedError(f"seed {text[:40]!r}: '.' is not part of the melody syntax")
    parse_melody_text(text)
    return text


def _generate(info, source: str, settings, upload, take) -> list:
    if source == SOURCES[1]:
        if take is None:
            raise SeedError("record or upload a take first")
        text = check_text_seed(st.session_state.get(TAKE_TEXT_KEY, ""))
        return generate_results(
            info,
            take_seed(take, text),
            settings,
            "melody",
            take_audio=lambda continuation: take_then_continuation(take, continuation),
        )
    if source == SOURCES[0]:
        seed = check_text_seed(st.session_state.get(TEXT_KEY, ""))
    elif source == SOURCES[2]:
        if upload is None:
            raise SeedError("choose a seed file first (MIDI, kern, ABC or MusicXML)")
        seed = upload
    else:
        seed = None
    return generate_results(info, seed, settings, "melody")


def render() -> None:
    """Draw the page."""
    st.title(":material/music_note: Melody")
    st.caption(
        "Continue a tune in the style of a model. Notes are MIDI numbers or names "
        "(`67` or `G4`), `_` holds a 16th longer, `r` rests."
    )
    info = choose_model(MELODY, "melody-model")
    if info is None:
        st.warning(
            "No melody model is available: the bundled `folk` model is missing and no "
            "`--models` folder holds one. Train one with `continuo train`, then start the app "
            "with `continuo app --models RUNS_DIR`."
        )
        return
    source = st.radio("Seed", SOURCES, horizontal=True, key="melody-seed-source")
    upload = take = None
    last_bars = None
    if source == SOURCES[1]:
        take = take_section()
    elif source == SOURCES[0]:
        if TEXT_KEY not in st.session_state:
            st.session_state[TEXT_KEY] = st.session_state.get(KEPT_TEXT_KEY, DEFAULT_SEED)
        st.text_input("Seed melody", key=TEXT_KEY, placeholder="67 _ 67 _ 65 64 _ r")
        with st.expander("On-screen keyboard", expanded=True):
            keyboard(TEXT_KEY)
        st.session_state[KEPT_TEXT_KEY] = st.session_state[TEXT_KEY]
    elif source == SOURCES[2]:
        upload = st.file_uploader(
            "Seed file",
            type=sorted({suffix.lstrip(".") for suffix in SYMBOLIC_SUFFIXES}),
            key="melody-upload",
            help="MIDI, kern, ABC or MusicXML; one melody",
        )
        bars = st.number_input("Use its last bars (0: all of it)", 0, 64, 4, key="melody-last")
        last_bars = int(bars) or None
    st.subheader("Settings", divider="gray")
    settings = settings_controls("melody")
    if last_bars is not None:
        settings = replace(settings, last_bars=last_bars)
    if st.button("Generate", type="primary", key="melody-generate", icon=":material/auto_awesome:"):
        with st.spinner("Generating…"):
            results = run_job(_generate, info, source, settings, upload, take)
        if results is not None:
            st.session_state[RESULTS_KEY] = results
    results = st.session_state.get(RESULTS_KEY)
    if results:
        st.subheader("Results", divider="gray")
        show_score_results(results, "melody")
