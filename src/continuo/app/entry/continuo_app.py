"""The script ``streamlit run`` executes for ``continuo app``: page setup and navigation.

It sits alone in its folder because Streamlit puts the script's folder first on ``sys.path``.
The pages are modules of :mod:`continuo.app`; each draws itself with ``render()``.
"""

from __future__ import annotations

import streamlit as st

from continuo import __version__
from continuo.app import audio, max_upload_mb, melody, models_dir, piano
from continuo.app.models import AUDIO, MELODY, POLYPHONIC, discover_models

st.set_page_config(page_title="continuo", page_icon=":material/music_note:", layout="centered")

# less empty space above each page's title than Streamlit's default
st.html("<style>[data-testid='stMainBlockContainer'] { padding-top: 3rem; }</style>")

page = st.navigation(
    [
        st.Page(melody.render, title="Melody", icon=":material/music_note:", default=True),
        st.Page(piano.render, title="Piano", icon=":material/piano:", url_path="piano"),
        st.Page(audio.render, title="Audio", icon=":material/graphic_eq:", url_path="audio"),
    ],
    position="top",
)

page.run()

found = discover_models(models_dir())
counts = {kind: sum(info.kind == kind for info in found) for kind in (MELODY, POLYPHONIC, AUDIO)}
st.divider()
st.caption(
    f"continuo {__version__} · models: {counts[MELODY]} melody, {counts[POLYPHONIC]} polyphonic, "
    f"{counts[AUDIO]} audio · uploads up to {max_upload_mb():g} MB · your results stay in this "
    "browser session"
)
