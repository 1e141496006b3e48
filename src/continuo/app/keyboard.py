"""An on-screen keyboard that writes melody seed text.

One octave and its top C as clickable keys, black keys above the white ones as on a piano. A
click appends the note name (``"F#4"``) and, for longer notes, ``_`` holds, to the text in
``st.session_state[text_key]`` -- the same text box the user can type into, so the keyboard
only ever writes the melody syntax. Extra buttons add a rest, hold the last note one more step,
undo the last note and clear the seed.
"""

from __future__ import annotations

import streamlit as st

__all__ = ["NOTE_LENGTHS", "append_note", "keyboard", "undo_last"]

#: Note lengths offered, in 16th-note grid steps.
NOTE_LENGTHS: dict[str, int] = {"16th": 1, "8th": 2, "quarter": 4, "half": 8}
_WHITE = ["C", "D", "E", "F", "G", "A", "B"]
#: The black key between white key i and i + 1 (None: no black key there).
_BLACK = ["C#", "D#", None, "F#", "G#", "A#", None]

_CSS = """
<style>
[class*="st-key-kbw-"] button {
  background: #fdfdfb; color: #444; border: 1px solid #b9b9b4; border-radius: 0 0 6px 6px;
  min-height: 4.6rem; align-items: flex-end; padding-bottom: 0.35rem; font-size: 0.8rem;
  box-shadow: inset 0 -4px 0 #e4e4de;
}
[class*="st-key-kbw-"] button:hover { background: #f1f5ff; border-color: #6c8cd5; color: #1d3f8f; }
[class*="st-key-kbb-"] button {
  background: #24262d; color: #f2f2f2; border: 1px solid #111; border-radius: 0 0 5px 5px;
  min-height: 3rem; font-size: 0.72rem; box-shadow: inset 0 -3px 0 #3c3f48;
}
[class*="st-key-kbb-"] button:hover { background: #3b4a73; color: #fff; border-color: #111; }
[class*="st-key-kb-keys"] [data-testid="stHorizontalBlock"] { gap: 0.2rem; }
</style>
"""


def append_note(text_key: str, token: str, steps: int) -> None:
    """Append ``token`` (a note name, ``r`` or ``_``) and ``steps - 1`` holds to the seed text."""
    current = str(st.session_state.get(text_key, "") or "").split()
    st.session_state[text_key] = " ".join([*current, token, *["_"] * (steps - 1)])


def undo_last(text_key: str) -> None:
    """Remove the last note or rest (and the holds after it) from the seed text."""
    tokens = str(st.session_state.get(text_key, "") or "").split()
    while tokens and tokens[-1] == "_":
        tokens.pop()
    if tokens:
        tokens.pop()
    st.session_state[text_key] = " ".join(tokens)


def _clear(text_key: str) -> None:
    st.session_state[text_key] = ""


def keyboard(text_key: str) -> None:
    """Draw the keyboard; its buttons edit ``st.session_state[text_key]``."""
    st.html(_CSS)
    octave_col, length_col = st.columns([1, 1])
    octave = octave_col.segmented_control(
        "Octave", [2, 3, 4, 5], default=4, required=True, key="kb-octave"
    )
    length = length_col.segmented_control(
        "Note length", list(NOTE_LENGTHS), default="8th", required=True, key="kb-length"
    )
    steps = NOTE_LENGTHS.get(str(length), 2)
    octave = int(octave or 4)
    with st.container(key="kb-keys"):
        # black keys sit between white keys: a half-width spacer, then one slot per gap
        black_row = st.columns([1] + [2] * 7 + [1])
        for index, name in enumerate(_BLACK):
            if name is not None:
                black_row[index + 1].button(
                    f"{name}{octave}",
                    key=f"kbb-{name}",
                    on_click=append_note,
                    args=(text_key, f"{name}{octave}", steps),
                    width="stretch",
                )
        white_row = st.columns(8)
        for index, name in enumerate([*_WHITE, "C"]):
            note = f"{name}{octave + (index == 7)}"
            white_row[index].button(
                note,
                key=f"kbw-{index}",
                on_click=append_note,
                args=(text_key, note, steps),
                width="stretch",
            )
    rest, hold, undo, clear = st.columns(4)
    rest.button(
        "rest",
        icon=":material/pause:",
        key="kb-rest",
        on_click=append_note,
        args=(text_key, "r", steps),
    )
    hold.button(
        "hold",
        icon=":material/trending_flat:",
        key="kb-hold",
        on_click=append_note,
        args=(text_key, "_", 1),
        help="one step more",
    )
    undo.button(
        "undo", icon=":material/backspace:", key="kb-undo", on_click=undo_last, args=(text_key,)
    )
    clear.button(
        "clear", icon=":material/delete:", key="kb-clear", on_click=_clear, args=(text_key,)
    )
