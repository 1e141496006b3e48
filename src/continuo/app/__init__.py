"""The web app: continue a melody, compose a piano piece, extend a recording, in the browser.

``continuo app`` starts it (see :mod:`continuo.cli.app`); Streamlit runs :data:`ENTRY_SCRIPT`,
which lays out three pages, one module each: :mod:`continuo.app.melody`,
:mod:`continuo.app.piano` and :mod:`continuo.app.audio`. Shared pieces live in
:mod:`continuo.app.common` (per-job folders, uploads, errors, score results),
:mod:`continuo.app.models` (which models there are; loaded once per process),
:mod:`continuo.app.keyboard` (the on-screen keyboard) and :mod:`continuo.app.plots`.

This module imports neither Streamlit nor torch: the command line reads its settings cheaply.
The app is configured through the environment (the command sets it for the server process):

- :data:`MODELS_ENV` -- a folder whose run folders appear as models beside the bundled ones;
- :data:`MAX_UPLOAD_ENV` -- the largest upload in megabytes (default :data:`DEFAULT_MAX_UPLOAD_MB`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = [
    "DEFAULT_MAX_UPLOAD_MB",
    "ENTRY_SCRIPT",
    "MAX_UPLOAD_ENV",
    "MODELS_ENV",
    "max_upload_mb",
    "models_dir",
]

#: The script Streamlit runs. It sits alone in its folder, because Streamlit puts the script's
#: folder first on ``sys.path`` and the app's module names must not shadow anything there.
ENTRY_SCRIPT = Path(__file__).resolve().parent / "entry" / "continuo_app.py"

MODELS_ENV = "CONTINUO_APP_MODELS"
MAX_UPLOAD_ENV = "CONTINUO_APP_MAX_UPLOAD_MB"
DEFAULT_MAX_UPLOAD_MB = 20.0


def models_dir() -> Path | None:
    """The folder named by :data:`MODELS_ENV`, or None when it is unset or empty."""
    value = os.environ.get(MODELS_ENV, "").strip()
    return Path(value) if value else None


def max_upload_mb() -> float:
    """The upload limit in megabytes from :data:`MAX_UPLOAD_ENV` (a positive number), else the
    default."""
    try:
        value = float(os.environ.get(MAX_UPLOAD_ENV, DEFAULT_MAX_UPLOAD_MB))
    except ValueError:
        return DEFAULT_MAX_UPLOAD_MB
    return value if math.isfinite(value) and value > 0 else DEFAULT_MAX_UPLOAD_MB
