"""The Piano page: compose with a polyphonic model (``events`` or ``pianoroll`` codec), from
nothing or continuing an uploaded MIDI file."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from continuo.app.common import run_job, show_score_results
from continuo.app.compose import choose_model, generate_results, settings_controls
from continuo.app.models import POLYPHONIC
from continuo.errors import SeedError

__all__ = ["MIDI_SUFFIXES", "render"]

#: The seed files this page takes.
MIDI_SUFFIXES = {".mid": "MIDI", ".midi": "MIDI"}
RESULTS_KEY = "piano-results"
SOURCES = ("Nothing", "MIDI file")


def _generate(info, source: str, settings, upload) -> list:
    if source == SOURCES[1] and upload is None:
        raise SeedError("choose a MIDI file to continue first, or pick Nothing")
    seed = upload if source == SOURCES[1] else None
    return generate_results(info, seed, settings, "piano", MIDI_SUFFIXES)


def render() -> None:
    """Draw the page."""
    st.title(":material/piano: Piano")
    st.caption(
        "Write new music with a polyphonic model: from nothing, or continuing the last bars of "
        "a MIDI file."
    )
    info = choose_model(POLYPHONIC, "piano-model")
    if info is None:
        st.info(
            "**No polyphonic model is available.** This page needs a model trained on piano or "
            "other polyphonic music (the bundled `piano` model is missing from this install). "
            "Make one and start the app with it:\n\n"
            "```\n"
            "continuo prepare MIDI_FOLDER --like piano --out datasets/piano\n"
            "continuo train datasets/piano --minutes 10 --out runs/piano\n"
            "continuo app --models runs\n"
            "```",
            icon=":material/info:",
        )
        return
    source = st.radio("Seed", SOURCES, horizontal=True, key="piano-seed-source")
    upload = None
    if source == SOURCES[1]:
        upload = st.file_uploader(
            "MIDI file", type=["mid", "midi"], key="piano-upload", help="the piece to continue"
        )
        bars = st.number_input("Use its last bars (0: all of it)", 0, 64, 4, key="piano-last")
    st.subheader("Settings", divider="gray")
    settings = settings_controls("piano", default_bars=4, max_bars=16)
    if source == SOURCES[1] and int(bars):
        settings = replace(settings, last_bars=int(bars))
    if st.button("Generate", type="primary", key="piano-generate", icon=":material/auto_awesome:"):
        with st.spinner("Composing…"):
            results = run_job(_generate, info, source, settings, upload)
        if results is not None:
            st.session_state[RESULTS_KEY] = results
    results = st.session_state.get(RESULTS_KEY)
    if results:
        st.subheader("Results", divider="gray")
        show_score_results(results, "piano")
