"""What the pages share: per-job folders, uploads, errors, and symbolic results.

- **Workspace.** Every job (a generation, an extension) works in its own private temporary
  folder named after the session (``continuo-app-<session>-*``), removed with everything in it
  as soon as the job ends, however it ends: results are kept as bytes in the session's state,
  never as files.
- **Uploads** are checked for size (:func:`continuo.app.max_upload_mb`) and type (the suffix
  must be one the page accepts; the readers then check the content) and saved under generated
  names: a user's file name is only ever shown, never used as a path.
- **Errors.** :func:`run_job` turns a :class:`~continuo.errors.ContinuoError` into one
  ``st.error`` line (the jobs name the user's file, never the saved copy) and anything else
  into a one-line message, with the traceback in the server log only.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

from continuo.app import max_upload_mb
from continuo.errors import ContinuoError

__all__ = [
    "SYMBOLIC_SUFFIXES",
    "ScoreResult",
    "UploadError",
    "job_folder",
    "plain",
    "run_job",
    "save_upload",
    "session_tag",
    "show_score_results",
]

T = TypeVar("T")
log = logging.getLogger("continuo.app")

#: Seed files the symbolic pages accept: lower-case suffix -> what it is.
SYMBOLIC_SUFFIXES: dict[str, str] = {
    ".mid": "MIDI",
    ".midi": "MIDI",
    ".krn": "kern",
    ".abc": "ABC",
    ".musicxml": "MusicXML",
    ".xml": "MusicXML",
    ".mxl": "MusicXML",
}
_SESSION_TAG_KEY = "_continuo_session_tag"
_MARKDOWN = re.compile(r"([\\`*_\[\]<>$~|])")


class UploadError(ContinuoError):
    """An upload that is too large, of a type the page does not take, or empty."""


# -- workspace ---------------------------------------------------------------------------------
def session_tag() -> str:
    """A random tag for this browser session (kept in its state), used in folder names."""
    tag = st.session_state.get(_SESSION_TAG_KEY)
    if not isinstance(tag, str):
        tag = secrets.token_hex(4)
        st.session_state[_SESSION_TAG_KEY] = tag
    return tag


@contextlib.contextmanager
def job_folder() -> Iterator[Path]:
    """A fresh private folder for one job of this session (``continuo-app-<session>-*`` in the
    system's temporary folder), removed with everything in it when the block ends, however it
    ends: files live only while the job that needs them runs."""
    folder = Path(tempfile.mkdtemp(prefix=f"continuo-app-{session_tag()}-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- uploads -----------------------------------------------------------------------------------
def save_upload(upload: Any, folder: Path, suffixes: dict[str, str]) -> Path:
    """Write an uploaded file into ``folder`` under a generated name; the path written.

    ``suffixes`` maps the lower-case suffixes the page accepts to what they are. Raises
    :class:`UploadError` for an empty or too-large file or a suffix not in ``suffixes``.
    """
    name = str(getattr(upload, "name", "") or "upload")
    limit = max_upload_mb()
    size = int(getattr(upload, "size", 0) or 0)
    if size > limit * 1024 * 1024:
        raise UploadError(f"{name}: {size / 1024 / 1024:.1f} MB is over the {limit:g} MB limit")
    suffix = Path(name).suffix.lower()
    if suffix not in suffixes:
        kinds = ", ".join(sorted(set(suffixes.values()), key=str.lower))
        accepted = " ".join(sorted(suffixes))
        raise UploadError(f"{name}: not a file this page takes ({kinds}: {accepted})")
    data = upload.getvalue()
    if len(data) > limit * 1024 * 1024:
        raise UploadError(
            f"{name}: {len(data) / 1024 / 1024:.1f} MB is over the {limit:g} MB limit"
        )
    if not data:
        raise UploadError(f"{name}: the file is empty")
    # a generated name; the suffix is one of the page's own (checked above)
    path = folder / f"upload-{secrets.token_hex(8)}{suffix}"
    path.write_bytes(data)
    return path


# -- errors ------------------------------------------------------------------------------------
def plain(text: str) -> str:
    """``text`` with the Markdown that Streamlit would format escaped, so that a file name or a
    seed shows as typed (``_a_`` stays ``_a_``, a leading ``#`` is no heading)."""
    escaped = _MARKDOWN.sub(r"\\\1", str(text))
    return "\\" + escaped if escaped[:1] in ("#", "+", "-", "=", ">") else escaped


def _one_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


def run_job(job: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """``job(*args, **kwargs)``, or None after showing its error in the page as one line: the
    message of a :class:`~continuo.errors.ContinuoError`, or for anything else (a bug) only its
    type, with the traceback in the server log."""
    try:
        return job(*args, **kwargs)
    except ContinuoError as error:
        st.error(plain(_one_line(str(error))), icon=":material/error:")
    except Exception as error:  # a bug, not the user's doing: keep the details in the log
        log.exception("continuo app: %s failed", getattr(job, "__name__", "job"))
        st.error(
            f"Something went wrong ({type(error).__name__}); the details are in the server log.",
            icon=":material/bug_report:",
        )
    return None


# -- symbolic results --------------------------------------------------------------------------
@dataclass(frozen=True)
class ScoreResult:
    """One generated piece, as the bytes the page shows and offers for download."""

    name: str
    png: bytes
    wav: bytes
    midi: bytes
    musicxml: bytes
    notes: int
    seconds: float
    seed_notes: int
    rng_seed: int | None = None
    """The random seed it was made with (the same for every variation of one Generate)."""
    take_wav: bytes | None = None
    """For a sung or played seed: the take, then the continuation in the take's own sound."""


def show_score_results(results: list[ScoreResult], key: str) -> None:
    """Each result: a heading, its piano roll, a player and three download buttons."""
    for index, result in enumerate(results, 1):
        with st.container(border=True, key=f"{key}-result-{index}"):
            new = result.notes - result.seed_notes
            seed = (
                "" if result.rng_seed is None else f" &nbsp;·&nbsp; random seed {result.rng_seed}"
            )
            st.markdown(
                f"**Variation {index}** &nbsp;·&nbsp; {result.seed_notes} seed notes + {new} new "
                f"&nbsp;·&nbsp; {result.seconds:.1f} s{seed}"
            )
            st.image(result.png, width="stretch")
            if result.take_wav is not None:
                st.caption("Your take, then its continuation in your own sound")
                st.audio(result.take_wav, format="audio/wav")
                st.caption("The whole tune, played by the SoundFont")
            st.audio(result.wav, format="audio/wav")
            columns = st.columns(3)
            downloads = (
                ("MIDI", result.midi, "mid", "audio/midi"),
                ("MusicXML", result.musicxml, "musicxml", "application/vnd.recordare.musicxml+xml"),
                ("WAV", result.wav, "wav", "audio/wav"),
            )
            for column, (label, data, suffix, mime) in zip(columns, downloads, strict=True):
                column.download_button(
                    label,
                    icon=":material/download:",
                    data=data,
                    file_name=f"{result.name}.{suffix}",
                    mime=mime,
                    key=f"{key}-download-{index}-{suffix}",
                    on_click="ignore",
                    width="stretch",
                )
