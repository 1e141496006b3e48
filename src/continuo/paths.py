"""Where continuo keeps files of its own: the cache (parsed pieces, encodings, fixed SoundFonts)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_cache_dir"]


def default_cache_dir() -> Path:
    """``$CONTINUO_CACHE``, else ``$XDG_CACHE_HOME/continuo``, else ``~/.cache/continuo``."""
    if "CONTINUO_CACHE" in os.environ:
        return Path(os.environ["CONTINUO_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "continuo"
